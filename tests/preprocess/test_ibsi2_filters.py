"""IBSI-2 phase 1: every consensus response map reproduced within 1 % of its range.

Each test's settings file ``params/ibsi2/phase1/<test>.yaml`` runs on its phantom (on the
phantom's own grid) and is compared voxel by voxel with the consensus map in
``tests/data/ibsi2/phase1/reference_maps`` (the IBSI-2 rule). Further tests check the shortcuts
the filters take (kernels turned instead of the image, Gabor angles modulo π) against the
plain computation, and the settings' validation.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from radsig.features import ibsi2_compliance as c
from radsig.preprocess import ibsi2_filters as f
from radsig.preprocess import ibsi2_fourier as fo

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def phase1_results(shared):
    """The 33 consensus-map results, computed once for the module (about 2 s CPU)."""
    return {r.test: r for r in c.phase1(shared, REPO / "params", tests=list(c.PHASE1))}


@pytest.mark.parametrize("test", list(c.PHASE1))
def test_consensus_map_within_one_percent(phase1_results, test):
    result = phase1_results[test]
    assert result.shape_ok, f"{test}: response map not on the phantom's grid"
    assert result.deviation_pct <= c.PHASE1_RULE, \
        f"{test}: max deviation {result.deviation_pct:.4f} % of the reference range"


def test_all_33_consensus_maps_are_checked(shared):
    maps = sorted(p.name.removesuffix(".nii.gz")
                  for p in (shared / "ibsi2/phase1/reference_maps").glob("*.nii.gz"))
    assert len(maps) == 33
    assert sorted(c.PHASE1) == maps


@pytest.mark.parametrize("test", ["9b2", "10a", "10b2"])
def test_tests_without_consensus_produce_a_map(shared, test):
    result, = c.phase1(shared, REPO / "params", tests=[test])
    assert result.deviation_pct is None and result.passed is None
    assert result.shape_ok  # finite and not all zero
    assert set(c.NO_CONSENSUS) == {"9b2", "10a", "10b2"}


def test_every_phase1_test_has_a_settings_file():
    names = {p.stem for p in (REPO / "params/ibsi2/phase1").glob("*.yaml")}
    assert names == set(c.PHASE1) | set(c.NO_CONSENSUS)
    assert len(names) == 36


# --- the shortcuts against the plain computation ---------------------------------------------

def test_rotations_are_the_24_proper_rotations_of_the_cube():
    probe = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    turned = {tuple(np.asarray(turn(probe)).ravel()) + np.asarray(turn(probe)).shape
              for turn, _ in f.rotations("3D")}
    assert len(turned) == 24
    for turn, back in f.rotations("3D"):
        assert np.array_equal(back(turn(probe)), probe)
    assert len(f.rotations("2D")) == 4


@pytest.mark.parametrize("boundary", list(f.MODES))
@pytest.mark.parametrize("dimensions", ["2D", "3D"])
def test_turned_kernels_equal_turned_images(boundary, dimensions):
    """Pooling by turning the kernels (even and odd lengths, two wavelet levels) equals
    turning the image, filtering and turning back, on a non-cubic image."""
    rng = np.random.default_rng(3)
    image = rng.normal(size=(9, 10, 11))
    n = 2 if dimensions == "2D" else 3
    lo, hi = f.wavelet_bank("db2")
    stages = [[f._dilate(lo, 1)] * n, [f._dilate(k, 2) for k in ([lo, hi, hi][:n])]]
    axes = f.AXES[dimensions]
    mode = f.MODES[boundary]

    def plain(img):
        out = img
        for stage in stages:
            out = f._separable(out, stage, axes, mode)
        return out

    for pooling in ("mean", "max"):
        expected = f.rotation_pooled(plain, image, dimensions, pooling)
        got = f.separable_pooled(image, stages, dimensions, mode, pooling)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_gabor_angles_modulo_pi_equal_the_full_turn():
    rng = np.random.default_rng(5)
    image = rng.normal(size=(3, 20, 22))
    spacing = (2.0, 1.0, 1.5)
    full = [k * math.pi / 4 for k in range(8)]
    pooled = f.gabor_filter(image, spacing, 3.0, 4.0, 0.7, full, "mirror", "2D")
    each = [f.gabor_filter(image, spacing, 3.0, 4.0, 0.7, [t], "mirror", "2D") for t in full]
    np.testing.assert_allclose(pooled, np.mean(each, axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(each[1], each[5], rtol=1e-5, atol=1e-6)  # θ and θ + π
    top = f.gabor_filter(image, spacing, 3.0, 4.0, 0.7, full, "mirror", "2D", pooling="max")
    np.testing.assert_allclose(top, np.max(each, axis=0), rtol=1e-5, atol=1e-6)


def test_mirror_boundary_repeats_the_edge_voxel():
    line = np.array([[[1.0, 2.0, 4.0]]])
    out = f.mean_filter(line, 3, "mirror", "2D")
    assert out[0, 0, 0] == pytest.approx((1 + 1 + 2) / 3)
    assert out[0, 0, 2] == pytest.approx((2 + 4 + 4) / 3)
    assert f.mean_filter(line, 3, "periodic", "2D")[0, 0, 0] == pytest.approx((4 + 1 + 2) / 3)
    assert f.mean_filter(line, 3, "nearest", "2D")[0, 0, 0] == pytest.approx((1 + 1 + 2) / 3)
    assert f.mean_filter(line, 3, "constant", "2D")[0, 0, 0] == pytest.approx((1 + 2) / 9)


def test_2d_filters_stay_in_the_axial_plane(shared):
    """Orientation phantom (value = i + j + k): the 2-D mean of a linear ramp keeps it in
    the interior, and a slice's result does not depend on the other slices."""
    import SimpleITK as sitk

    img = sitk.GetArrayFromImage(sitk.ReadImage(
        str(shared / "ibsi2/phase1/phantoms/orientation/image.nii.gz"))).astype(float)
    out = f.mean_filter(img, 5, "constant", "2D")
    np.testing.assert_allclose(out[:, 2:-2, 2:-2], img[:, 2:-2, 2:-2])
    single = f.log_filter(img[10:11], (2, 2, 2), 3.0, "mirror", "2D")
    np.testing.assert_allclose(f.log_filter(img, (2, 2, 2), 3.0, "mirror", "2D")[10:11], single)


def test_laws_kernels_are_unit_norm_and_read_x_y_z():
    for k in f.LAWS.values():
        assert np.linalg.norm(k) == pytest.approx(1.0)
    impulse = np.zeros((9, 9, 9))
    impulse[4, 4, 4] = 1.0
    out = f.laws_filter(impulse, "E5L5S5", "constant", "3D")
    # convolving an impulse gives the kernel itself: E5 along x (last array axis)
    expected = np.einsum("i,j,k->ijk", f.LAWS["S5"], f.LAWS["L5"], f.LAWS["E5"])
    np.testing.assert_allclose(out[2:7, 2:7, 2:7], expected, atol=1e-15)


def test_docs_list_the_measured_phase1_deviations(phase1_results):
    """docs/ibsi2.md (bench/ibsi2.py) is current: each map's deviation and result."""
    text = (REPO / "docs/ibsi2.md").read_text()
    rows = c.doc_rows(text, set(c.PHASE1) | set(c.NO_CONSENSUS))
    for test in c.NO_CONSENSUS:
        assert rows[(test,)][3] == "–" and rows[(test,)][4].startswith("no consensus map")
    for test, result in phase1_results.items():
        cells = rows[(test,)]
        assert abs(float(cells[3]) - result.deviation_pct) <= 5e-4, (test, cells[3])
        assert cells[4] == ("PASS" if result.passed else "FAIL"), test
    assert "**33 of 33 consensus maps pass.**" in text


# --- Riesz transforms steered by the structure tensor ----------------------------------------

def test_aligned_first_order_riesz_of_a_plane_wave_is_the_riesz_magnitude():
    """A plane wave's first-order Riesz vector is parallel to its wave vector everywhere, so
    the structure tensor's first axis follows it and the steered response is ±‖R f‖."""
    n = 16
    z, y, x = np.meshgrid(*[np.arange(n)] * 3, indexing="ij")
    image = np.cos(2 * np.pi * (2 * x + 3 * y + 1 * z) / n)
    axes = (0, 1, 2)
    comps = fo._fourier_bank(image, [lambda s, a=a: fo._monomial_transfer(s, axes, a)
                                    for a in ((1, 0, 0), (0, 1, 0), (0, 0, 1))],
                            axes, "periodic", None)
    magnitude = np.sqrt(sum(r ** 2 for r in comps))
    aligned = fo.riesz_aligned(image, None, (1, 0, 0), axes, (1, 1, 1), 2.0, "periodic")
    np.testing.assert_allclose(np.abs(aligned), magnitude, atol=1e-8)
    assert magnitude.max() > 0.5


def test_aligned_riesz_turns_with_the_image():
    """Steering makes the response rotation covariant: turning the image by a right angle
    turns the aligned second-order response with it (odd size: symmetric frequency grid)."""
    rng = np.random.default_rng(8)
    image = ndimage_smooth(rng.normal(size=(15, 15, 15)))
    spec = dict(level=1, boundary="periodic", dimensions="3D", riesz_order=(0, 2, 0),
                align_sigma_mm=2.0)
    ref = fo.simoncelli_filter(image, **spec)
    turned = np.rot90(image, 1, axes=(1, 2))
    got = fo.simoncelli_filter(np.ascontiguousarray(turned), **spec)
    np.testing.assert_allclose(got, np.rot90(ref, 1, axes=(1, 2)), atol=1e-8 * np.abs(ref).max())
    plain = fo.simoncelli_filter(image, 1, "periodic", "3D", riesz_order=(0, 2, 0))
    plain_turned = fo.simoncelli_filter(np.ascontiguousarray(turned), 1, "periodic", "3D",
                                       riesz_order=(0, 2, 0))
    assert not np.allclose(plain_turned, np.rot90(plain, 1, axes=(1, 2)))  # unsteered: not


def ndimage_smooth(a):
    from scipy import ndimage

    return ndimage.gaussian_filter(a, 1.0, mode="wrap")
