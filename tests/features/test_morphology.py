"""Morphological features against the IBSI-1 reference values and reference implementations."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import ellipeinc, ellipkinc, eval_legendre

from radsig.exceptions import FeatureWarning
from radsig.features import morphology
from radsig.features._autocorrelation import moran_geary
from radsig.features._mesh import convex_hull, ellipsoid_area, mvee_semi_axes, oriented_min_box
from radsig.preprocess.roi import PreparedRoi

# --- IBSI phantoms (small helpers, repeated in test_local_intensity.py on purpose) ---------

def _phantom_roi(folder, resegment=None) -> PreparedRoi:
    """Read a phantom as IBSI asks: cast to float, round; optional range re-segmentation."""
    import SimpleITK as sitk

    image = sitk.ReadImage(str(folder / "image.nii.gz"), sitk.sitkFloat32)
    mask = sitk.ReadImage(str(folder / "mask.nii.gz"), sitk.sitkFloat32)
    arr = np.round(sitk.GetArrayFromImage(image)).astype(np.float64)
    morph = np.round(sitk.GetArrayFromImage(mask)) > 0
    intensity = morph if resegment is None else morph & (arr >= resegment[0]) & (arr <= resegment[1])
    return PreparedRoi(image=arr, morph_mask=morph, int_mask=intensity,
                       spacing=tuple(float(s) for s in image.GetSpacing()[::-1]))


def _ibsi_rows(shared, config: str, tags) -> pd.DataFrame:
    ref = pd.read_csv(shared / "ibsi" / "reference_values.csv")
    return ref[(ref["config"] == config) & ref["tag"].isin(tags)]


def _ibsi_pass(value: float, reference: float, tolerance: float) -> bool:
    """README rule: round to the reference's significant digits (at least 3), then compare."""
    mantissa = f"{float(reference):e}".split("e")[0].replace("-", "").replace(".", "")
    digits = max(3, len(mantissa.rstrip("0")))
    rounded = float(f"{value:.{digits}g}")
    return abs(rounded - float(reference)) <= tolerance + 1e-9 * max(1.0, abs(float(reference)))


def _failures(result: dict, rows: pd.DataFrame) -> list[str]:
    return [f"{r.tag}: {result[r.tag]:.6g} vs {r.value} ± {r.tolerance}"
            for r in rows.itertuples() if not _ibsi_pass(result[r.tag], r.value, r.tolerance)]


@pytest.fixture(scope="module")
def dig_result(shared):
    return morphology.compute(_phantom_roi(shared / "ibsi" / "digital_phantom"))


@pytest.fixture(scope="module")
def config_a_result(shared):
    roi = _phantom_roi(shared / "ibsi" / "ct_phantom_pat1", resegment=(-500.0, 400.0))
    return morphology.compute(roi)


def test_keys_are_the_ibsi_tags(shared, dig_result):
    ref = pd.read_csv(shared / "ibsi" / "reference_values.csv")
    expected = set(ref.loc[ref["tag"].str.startswith("morph_"), "tag"])
    expected |= {"morph_vol_dens_ombb", "morph_area_dens_ombb", "morph_vol_dens_mvee",
                 "morph_area_dens_mvee"}
    assert set(dig_result) == expected


def test_digital_phantom_matches_ibsi(shared, dig_result):
    rows = _ibsi_rows(shared, "dig_phantom", dig_result)
    assert len(rows) == 25
    assert _failures(dig_result, rows) == []


def test_config_a_matches_ibsi(shared, config_a_result):
    rows = _ibsi_rows(shared, "A", config_a_result)
    assert len(rows) == 25
    assert _failures(config_a_result, rows) == []


def test_unreferenced_densities_are_plausible(dig_result, config_a_result):
    for res in (dig_result, config_a_result):
        # OMBB is never larger than the axis-aligned box; the MVEE encloses the hull.
        assert res["morph_vol_dens_aabb"] - 1e-9 <= res["morph_vol_dens_ombb"] <= 1.0
        assert 0.0 < res["morph_vol_dens_mvee"] < res["morph_vol_dens_conv_hull"]
    # The manual gives 0.869 (moderate consensus) for the phantom's OMBB volume density.
    assert round(dig_result["morph_vol_dens_ombb"], 3) == pytest.approx(0.869, abs=0.005)


# --- reference implementations and properties ----------------------------------------------

def _ball(shape, radius_mm, spacing):
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing, strict=True)]
    zz, yy, xx = np.meshgrid(*axes, indexing="ij")
    return zz**2 + yy**2 + xx**2 <= radius_mm**2


def test_sphere_mesh_volume_and_area_are_close_to_analytic():
    spacing = (0.5, 0.5, 0.5)
    mask = _ball((45, 45, 45), 10.0, spacing)
    roi = PreparedRoi(image=np.ones(mask.shape), morph_mask=mask, int_mask=mask, spacing=spacing)
    res = morphology.compute(roi)
    assert res["morph_volume"] == pytest.approx(4 / 3 * np.pi * 1000, rel=0.01)
    # Marching cubes on a binary mask overestimates a smooth surface (staircase), here by ~8 %.
    assert res["morph_area_mesh"] == pytest.approx(4 * np.pi * 100, rel=0.1)
    assert res["morph_diam"] == pytest.approx(20.0, rel=0.03)
    assert res["morph_pca_elongation"] == pytest.approx(1.0, abs=1e-6)


def _exact_ellipsoid_area(a, b, c):
    """Legendre's closed form with incomplete elliptic integrals (a > b > c)."""
    phi = np.arccos(c / a)
    k2 = a**2 * (b**2 - c**2) / (b**2 * (a**2 - c**2))
    return 2 * np.pi * c**2 + 2 * np.pi * a * b / np.sin(phi) * (
        ellipeinc(phi, k2) * np.sin(phi) ** 2 + ellipkinc(phi, k2) * np.cos(phi) ** 2)


def _ibsi_series_direct(a, b, c, terms=20):
    """The manual's series written term by term with SciPy's Legendre polynomials."""
    alpha, beta = np.sqrt(1 - b**2 / a**2), np.sqrt(1 - c**2 / a**2)
    nu = np.arange(terms + 1)
    p = eval_legendre(nu, (alpha**2 + beta**2) / (2 * alpha * beta))
    return 4 * np.pi * a * b * np.sum((alpha * beta) ** nu / (1 - 4 * nu**2) * p)


@pytest.mark.parametrize("axes", [(3.0, 2.0, 1.0), (10.0, 8.5, 7.0), (5.0, 4.9, 1.5)])
def test_ellipsoid_area_is_the_ibsi_series(axes):
    assert ellipsoid_area(*axes) == pytest.approx(_ibsi_series_direct(*axes), rel=1e-10)


def test_ellipsoid_area_is_exact_for_near_spheres():
    assert ellipsoid_area(2.0, 2.0, 2.0) == pytest.approx(16 * np.pi)
    assert ellipsoid_area(5.0, 4.9, 4.8) == pytest.approx(_exact_ellipsoid_area(5.0, 4.9, 4.8),
                                                          rel=2e-4)


def test_mvee_recovers_an_ellipsoid():
    rng = np.random.default_rng(0)
    directions = rng.normal(size=(400, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    rot, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    points = (directions * [6.0, 3.0, 1.5]) @ rot.T + [4.0, -2.0, 1.0]
    assert mvee_semi_axes(points, tol=1e-6) == pytest.approx([6.0, 3.0, 1.5], rel=1e-3)


def test_ombb_recovers_a_rotated_box():
    corners = np.array(np.meshgrid([0, 4.0], [0, 2.0], [0, 1.0], indexing="ij")).reshape(3, -1).T
    rng = np.random.default_rng(3)
    inner = rng.uniform([0, 0, 0], [4, 2, 1], size=(200, 3))
    rot, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    hull = convex_hull(np.vstack([corners, inner]) @ rot.T)
    volume, area = oriented_min_box(hull)
    assert volume == pytest.approx(8.0, rel=1e-6)
    assert area == pytest.approx(2 * (8 + 4 + 2), rel=1e-6)


def _brute_moran_geary(values, mask, spacing):
    pts = np.argwhere(mask) * np.asarray(spacing)
    x = values[mask]
    d = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    w = 1.0 / d
    y = x - x.mean()
    n = len(x)
    moran = n / w.sum() * (w * np.outer(y, y)).sum() / (y**2).sum()
    geary = (n - 1) / (2 * w.sum()) * (w * (x[:, None] - x[None]) ** 2).sum() / (y**2).sum()
    return moran, geary


def test_moran_geary_fft_equals_all_pairs_sum():
    rng = np.random.default_rng(7)
    values = rng.normal(size=(6, 9, 11)).cumsum(axis=2)
    mask = rng.random(values.shape) < 0.6
    spacing = (3.0, 0.8, 1.1)
    expected = _brute_moran_geary(values, mask, spacing)
    assert moran_geary(values, mask, spacing) == pytest.approx(expected, rel=1e-9)


def test_empty_mask_gives_nan_and_warning():
    empty = np.zeros((4, 4, 4), dtype=bool)
    roi = PreparedRoi(image=np.zeros((4, 4, 4)), morph_mask=empty, int_mask=empty,
                      spacing=(1.0, 1.0, 1.0))
    with pytest.warns(FeatureWarning, match="morphological mask is empty"):
        res = morphology.compute(roi)
    assert all(np.isnan(v) for v in res.values())


def test_single_voxel_roi_does_not_crash():
    mask = np.zeros((3, 3, 3), dtype=bool)
    mask[1, 1, 1] = True
    roi = PreparedRoi(image=np.ones((3, 3, 3)), morph_mask=mask, int_mask=mask,
                      spacing=(1.0, 1.0, 1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = morphology.compute(roi)
    assert res["morph_vol_approx"] == 1.0 and res["morph_volume"] > 0
    assert np.isnan(res["morph_moran_i"])


# --- CT phantom configurations B-E through the engine's preprocessing ------------------------

@pytest.mark.parametrize("config", ["B", "C", "D", "E"])
def test_configs_b_to_e_match_ibsi_through_extract_case(shared, config):
    """Morphology and local intensity of the resampled phantom, via the engine's preprocessing."""
    from pathlib import Path

    import yaml

    from radsig import features
    from radsig.config import load_settings

    params = Path(__file__).resolve().parents[2] / "params" / "ibsi" / f"config_{config.lower()}.yaml"

    config_dict = yaml.safe_load(params.read_text())
    config_dict["families"] = ["morphology", "local_intensity"]
    folder = shared / "ibsi" / "ct_phantom_pat1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeatureWarning)
        long = features.extract_case(folder / "image.nii.gz", folder / "mask.nii.gz",
                                     load_settings(config_dict))
    result = features.to_wide(long)
    rows = _ibsi_rows(shared, config, [t for t in result if t.startswith(("morph_", "loc_"))])
    assert len(rows) == (26 if config == "C" else 27)
    assert _failures(result, rows) == []
    if config == "E":  # the manual's one OMBB value for the CT phantom (moderate consensus)
        assert _ibsi_pass(result["morph_area_dens_ombb"], 0.69, 0.002)


def test_features_do_not_depend_on_axis_order():
    """Swapping array axes (with their spacings) describes the same object."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(5)
    noise = gaussian_filter(rng.normal(size=(14, 18, 16)), 2.0)
    mask = noise > np.quantile(noise, 0.7)
    image = np.round(rng.normal(50, 20, size=mask.shape))
    spacing = (2.0, 0.7, 1.1)
    res = morphology.compute(PreparedRoi(image=image, morph_mask=mask, int_mask=mask,
                                         spacing=spacing))
    order = (2, 0, 1)
    swapped = PreparedRoi(image=image.transpose(order), morph_mask=mask.transpose(order),
                          int_mask=mask.transpose(order),
                          spacing=tuple(spacing[i] for i in order))
    res_swapped = morphology.compute(swapped)
    for key in res:
        rel = 1e-3 if "ombb" in key or "mvee" in key else 1e-7
        assert res_swapped[key] == pytest.approx(res[key], rel=rel), key


def test_empty_intensity_mask_keeps_shape_features():
    mask = _ball((9, 9, 9), 3.0, (1.0, 1.0, 1.0))
    roi = PreparedRoi(image=np.ones(mask.shape), morph_mask=mask,
                      int_mask=np.zeros_like(mask), spacing=(1.0, 1.0, 1.0))
    with pytest.warns(FeatureWarning, match="intensity mask is empty"):
        res = morphology.compute(roi)
    assert res["morph_volume"] > 0 and np.isnan(res["morph_moran_i"])
