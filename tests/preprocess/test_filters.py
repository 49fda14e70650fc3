"""Image filters: LoG against the closed form, wavelet against PyWavelets and by reconstruction,
simple filters by their defining properties, and crop-with-margin equivalence.

About ``baseline/wavelet.npy``: upstream's ``tests/test_wavelet.py`` compares the masked voxels of
the *input* image (not of the decompositions) of two synthetic cases (``test_wavelet_64x64x64``,
``test_wavelet_37x37x37``) that are downloaded at test time and not shipped in tests/data; its
values are uint8 intensities, so it cannot check a wavelet decomposition and is not used here.
"""

from __future__ import annotations

import numpy as np
import pytest
import pywt

from radsig.preprocess.filters import apply_filters, filter_margin, log_name


def _blob(shape=(41, 45, 43), spacing=(1.5, 1.0, 1.2), s=4.0):
    z, y, x = (np.arange(n) - (n - 1) / 2 for n in shape)
    zz, yy, xx = np.meshgrid(z * spacing[0], y * spacing[1], x * spacing[2], indexing="ij")
    return np.exp(-(zz ** 2 + yy ** 2 + xx ** 2) / (2 * s ** 2)), spacing


@pytest.mark.parametrize("sigma", [1.0, 2.0, 3.0])
def test_log_matches_closed_form_at_blob_centre(sigma):
    img, spacing = _blob()
    s = 4.0
    out = apply_filters(img, spacing, {"LoG": {"sigma": [sigma]}})[log_name(sigma)]
    t = s ** 2 + sigma ** 2
    expected = -3 * sigma ** 2 / t * (s ** 2 / t) ** 1.5  # sigma² · ∇²(G_sigma * blob) at 0
    centre = tuple(n // 2 for n in img.shape)
    assert out[centre] == pytest.approx(expected, rel=0.02)


def test_log_name_and_skip_too_small():
    assert log_name(2.0) == "log-sigma-2-0-mm-3D"
    assert log_name(1.5) == "log-sigma-1-5-mm-3D"
    img = np.zeros((3, 10, 10))
    with pytest.warns(Warning):
        out = apply_filters(img, (1, 1, 1), {"LoG": {"sigma": [1.0]}})
    assert out == {}


def test_log_on_cropped_region_equals_whole_image():
    rng = np.random.default_rng(0)
    img = rng.normal(0, 50, (40, 60, 60))
    spacing = (2.0, 0.8, 0.8)
    roi = (slice(15, 25), slice(25, 35), slice(25, 35))
    types = {"LoG": {"sigma": [1.0, 3.0]}}
    full = apply_filters(img, spacing, types)
    m = filter_margin(types, spacing)
    crop = tuple(slice(max(r.start - k, 0), r.stop + k) for r, k in zip(roi, m, strict=True))
    part = apply_filters(img[crop], spacing, types)
    inner = tuple(slice(r.start - c.start, r.stop - c.start) for r, c in zip(roi, crop, strict=True))
    for name in full:
        ref = full[name][roi]
        assert np.max(np.abs(part[name][inner] - ref)) < 1e-4 * np.abs(ref).max()


def test_wavelet_names_and_values_match_pywavelets():
    rng = np.random.default_rng(1)
    img = rng.normal(size=(8, 10, 12))
    out = apply_filters(img, (1, 1, 1), {"Wavelet": {}})
    assert sorted(out) == sorted(f"wavelet-{a}{b}{c}" for a in "LH" for b in "LH" for c in "LH")
    ref = pywt.swtn(img, "coif1", level=1, axes=(2, 1, 0))[0]
    for key, arr in ref.items():  # key letters follow axes x, y, z
        name = "wavelet-" + key.replace("a", "L").replace("d", "H")
        np.testing.assert_allclose(out[name], arr, rtol=0, atol=1e-12)


def test_wavelet_reconstructs_input():
    rng = np.random.default_rng(2)
    img = rng.normal(size=(8, 8, 10))
    out = apply_filters(img, (1, 1, 1), {"Wavelet": {"wavelet": "db2"}})
    coeffs = {k: out["wavelet-" + k.replace("a", "L").replace("d", "H")]
              for k in (a + b + c for a in "ad" for b in "ad" for c in "ad")}
    back = pywt.iswtn([coeffs], "db2", axes=(2, 1, 0))
    np.testing.assert_allclose(back, img, atol=1e-10)


def test_wavelet_odd_shape_wraps_one_voxel_and_levels_are_named():
    rng = np.random.default_rng(3)
    img = rng.normal(size=(7, 9, 10))
    out = apply_filters(img, (1, 1, 1), {"Wavelet": {"level": 2}})
    assert "wavelet2-HHH" in out and "wavelet2-LLL" in out and "wavelet-LLL" not in out
    padded = np.pad(img, ((0, 1), (0, 1), (0, 0)), mode="wrap")
    ref = pywt.swtn(padded, "coif1", level=1, axes=(2, 1, 0))[0]["dad"][:7, :9, :]  # H in x, L in y, H in z
    np.testing.assert_allclose(out["wavelet-HLH"], ref, atol=1e-12)
    assert out["wavelet2-HHL"].shape == img.shape


def test_wavelet_on_cropped_region_equals_whole_image():
    rng = np.random.default_rng(4)
    img = rng.normal(size=(40, 40, 40))
    roi = (slice(16, 24),) * 3
    types = {"Wavelet": {}}
    full = apply_filters(img, (1, 1, 1), types)
    k = int(filter_margin(types, (1, 1, 1)).max())
    part = apply_filters(img[16 - k:24 + k, 16 - k:24 + k, 16 - k:24 + k], (1, 1, 1), types)
    for name in full:
        np.testing.assert_allclose(part[name][k:k + 8, k:k + 8, k:k + 8], full[name][roi],
                                   atol=1e-10)


def test_simple_filters_keep_range_and_sign():
    rng = np.random.default_rng(5)
    img = rng.normal(0, 300, (6, 7, 8)).round()
    peak = np.abs(img).max()
    out = apply_filters(img, (1, 1, 1), {"Square": {}, "SquareRoot": {}, "Logarithm": {},
                                         "Exponential": {}})
    assert np.abs(out["square"]).max() == pytest.approx(peak)
    assert (out["square"] >= 0).all()
    np.testing.assert_allclose(out["square"], img ** 2 / peak)
    for name in ("squareroot", "logarithm"):
        assert np.abs(out[name]).max() == pytest.approx(peak)
        assert (np.sign(out[name]) == np.sign(img)).all()
    order = np.argsort(img.ravel())
    assert (np.diff(out["logarithm"].ravel()[order]) >= 0).all()  # monotone
    np.testing.assert_allclose(out["exponential"], np.exp(np.log(peak) / peak * img))
    assert out["exponential"].max() <= peak + 1e-9


def test_gradient_of_a_ramp_is_its_slope():
    z, y, x = np.meshgrid(np.arange(10), np.arange(12), np.arange(14), indexing="ij")
    spacing = (2.0, 1.0, 0.5)
    img = 3.0 * x * spacing[2] + 4.0 * y * spacing[1]  # slope 3 per mm in x, 4 in y
    out = apply_filters(img, spacing, {"Gradient": {}})["gradient"]
    assert np.allclose(out[2:-2, 2:-2, 2:-2], 5.0, atol=1e-4)
    plain = apply_filters(img, spacing, {"Gradient": {"gradientUseSpacing": False}})["gradient"]
    assert np.allclose(plain[2:-2, 2:-2, 2:-2], np.hypot(3 * 0.5, 4 * 1.0), atol=1e-4)


def test_lbp2d_of_a_constant_image_is_uniform_code():
    img = np.full((3, 8, 8), 7.0)
    out = apply_filters(img, (1, 1, 1), {"LBP2D": {"lbp2DSamples": 8}})["lbp-2D"]
    assert np.all(out[:, 1:-1, 1:-1] == 8)  # neighbours >= centre: uniform code P (interior)


def test_lbp3d_levels_and_kurtosis_images():
    rng = np.random.default_rng(6)
    img = rng.normal(size=(9, 9, 9))
    mask = np.zeros(img.shape, dtype=bool)
    mask[3:6, 3:6, 3:6] = True
    out = apply_filters(img, (1, 1, 1), {"LBP3D": {"lbp3DLevels": 2}}, mask=mask)
    assert sorted(out) == ["lbp-3D-k", "lbp-3D-m1", "lbp-3D-m2"]
    # degree 0 energy: |sum of binary pattern| * Y00² * sqrt(Nv) ≥ 0, and 0 outside the ROI
    assert (out["lbp-3D-m1"][mask] >= 0).all() and (out["lbp-3D-m1"][~mask] == 0).all()


def test_original_is_passed_through():
    img = np.arange(24.0).reshape(2, 3, 4)
    out = apply_filters(img, (1, 1, 1), {"Original": {}})
    assert out["original"] is img


@pytest.mark.parametrize("types", [
    {"Original": {}, "Wavelet": {}, "LoG": {"sigma": [1.0, 2.5]}},
    {"Wavelet": {"level": 2, "wavelet": "db2"}},
    {"Wavelet": {"force2D": True, "force2Ddimension": 1}},
    {"Square": {}, "Gradient": {}, "Exponential": {}},
])
def test_filter_tasks_equal_iterated_filters_in_any_order(types):
    """Deferred tasks (run in threads by PyRadiomics mode) give the same names, order and arrays,
    even computed in reverse order and with one SimpleITK thread per filter."""
    from radsig.preprocess.filters import filter_tasks, iter_filters

    img, spacing = _blob((17, 18, 19))
    ref = [(name, arr) for name, arr, _ in iter_filters(img, spacing, types)]
    tasks = list(filter_tasks(img, spacing, types, threads=1))
    assert [t[0] for t in tasks] == [name for name, _ in ref]
    got = {name: fn() for name, fn, _ in reversed(tasks)}
    for name, arr in ref:
        np.testing.assert_allclose(got[name], arr, rtol=1e-12, atol=1e-12, err_msg=name)
