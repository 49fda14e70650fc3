"""Local intensity features against the IBSI-1 reference values and a direct computation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radsig.exceptions import FeatureWarning
from radsig.features import local_intensity
from radsig.features.local_intensity import PEAK_RADIUS_MM, local_means
from radsig.preprocess.roi import PreparedRoi

# --- IBSI phantoms (small helpers, repeated from test_morphology.py on purpose) ------------

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


def _ibsi_pass(value: float, reference: float, tolerance: float) -> bool:
    """README rule: round to the reference's significant digits (at least 3), then compare."""
    mantissa = f"{float(reference):e}".split("e")[0].replace("-", "").replace(".", "")
    digits = max(3, len(mantissa.rstrip("0")))
    rounded = float(f"{value:.{digits}g}")
    return abs(rounded - float(reference)) <= tolerance + 1e-9 * max(1.0, abs(float(reference)))


@pytest.mark.parametrize("config, folder, resegment", [
    ("dig_phantom", "digital_phantom", None),
    ("A", "ct_phantom_pat1", (-500.0, 400.0)),
])
def test_matches_ibsi(shared, config, folder, resegment):
    result = local_intensity.compute(_phantom_roi(shared / "ibsi" / folder, resegment))
    ref = pd.read_csv(shared / "ibsi" / "reference_values.csv")
    rows = ref[(ref["config"] == config) & ref["tag"].str.startswith("loc_")]
    assert set(rows["tag"]) == set(result) == {"loc_peak_loc", "loc_peak_glob"}
    failures = [f"{r.tag}: {result[r.tag]:.6g} vs {r.value} ± {r.tolerance}"
                for r in rows.itertuples() if not _ibsi_pass(result[r.tag], r.value, r.tolerance)]
    assert failures == []


def test_ties_take_the_highest_local_mean(shared):
    """The phantom's maximum (6) occurs in 7 voxels; IBSI takes the highest of their peaks."""
    roi = _phantom_roi(shared / "ibsi" / "digital_phantom")
    means = local_means(roi.image, roi.int_mask, roi.spacing)
    at_max = roi.image[roi.int_mask] == roi.image[roi.int_mask].max()
    assert at_max.sum() == 7
    assert local_intensity.compute(roi)["loc_peak_loc"] == pytest.approx(means[at_max].max())


def test_radius_is_a_one_cm3_sphere():
    assert 4 / 3 * np.pi * (PEAK_RADIUS_MM / 10) ** 3 == pytest.approx(1.0)


def test_fft_local_means_equal_a_direct_average():
    rng = np.random.default_rng(11)
    image = rng.normal(size=(7, 12, 10))
    mask = np.zeros(image.shape, dtype=bool)
    mask[1:6, 2:10, 0:9] = rng.random((5, 8, 9)) < 0.5
    spacing = (2.5, 0.9, 1.2)
    got = local_means(image, mask, spacing)
    grid = np.stack(np.meshgrid(*[np.arange(n) * s for n, s in zip(image.shape, spacing, strict=True)],
                                indexing="ij"), axis=-1)
    expected = [image[((grid - grid[tuple(c)]) ** 2).sum(-1) <= PEAK_RADIUS_MM**2].mean()
                for c in np.argwhere(mask)]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_empty_mask_gives_nan_and_warning():
    empty = np.zeros((3, 3, 3), dtype=bool)
    roi = PreparedRoi(image=np.zeros((3, 3, 3)), morph_mask=empty, int_mask=empty,
                      spacing=(1.0, 1.0, 1.0))
    with pytest.warns(FeatureWarning, match="intensity mask is empty"):
        result = local_intensity.compute(roi)
    assert np.isnan(result["loc_peak_loc"]) and np.isnan(result["loc_peak_glob"])


def test_neighbours_outside_the_roi_count():
    """A one-voxel ROI of value 0 amid 10s: the sphere mean sees the surrounding voxels."""
    image = np.full((9, 9, 9), 10.0)
    image[4, 4, 4] = 0.0
    mask = np.zeros(image.shape, dtype=bool)
    mask[4, 4, 4] = True
    roi = PreparedRoi(image=image, morph_mask=mask, int_mask=mask, spacing=(2.0, 2.0, 2.0))
    n_sphere = 123  # lattice points with |d| <= 3.1 voxels
    expected = 10.0 * (n_sphere - 1) / n_sphere
    result = local_intensity.compute(roi)
    assert result == pytest.approx({"loc_peak_loc": expected, "loc_peak_glob": expected})


@pytest.mark.parametrize(("shape", "spacing"), [((17, 30, 23), (2.0, 0.8, 0.8)),
                                                ((9, 9, 9), (1.0, 1.0, 1.0)),
                                                ((40, 12, 33), (3.0, 1.1, 0.7))])
def test_fft_convolution_equals_scipy_fftconvolve(shape, spacing):
    """The scipy.fft convolution (kept to avoid importing scipy.signal in every worker) is
    SciPy's ``fftconvolve(mode="same")``, also when the kernel is larger than the image."""
    from scipy.signal import fftconvolve

    from radsig.features.local_intensity import _convolve_same, ball_kernel

    rng = np.random.default_rng(3)
    image = rng.normal(40.0, 100.0, size=shape)
    kernel = ball_kernel(spacing).astype(np.float64)
    sums, counts = _convolve_same((image, np.ones_like(image)), kernel)
    np.testing.assert_allclose(sums, fftconvolve(image, kernel, mode="same"), rtol=0, atol=1e-9)
    np.testing.assert_allclose(counts, fftconvolve(np.ones_like(image), kernel, mode="same"),
                               rtol=0, atol=1e-9)
