"""The C LoG (``_cfilters``) equals SimpleITK's LaplacianRecursiveGaussianImageFilter
bit for bit: shapes down to ITK's minimum of 4 voxels, anisotropic spacing, small and large sigma,
integer input. Skipped where the extension was not compiled (SimpleITK is then used)."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from radsig.preprocess import filters

pytestmark = pytest.mark.skipif(filters._CF is None, reason="the C LoG is not compiled here")


def _itk(arr, spacing_xyz, sigma):
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(spacing_xyz)
    return filters._log_itk(img, 1, sigma)


def _c(arr, spacing_xyz, sigma):
    data = np.ascontiguousarray(arr, dtype=np.float64)
    out = np.empty(arr.shape, dtype=np.float32)
    filters._CF.laplacian(data, *arr.shape, *spacing_xyz, sigma, out)
    return out


@pytest.mark.parametrize("shape, spacing, sigma", [
    ((30, 34, 28), (1.0, 1.0, 1.0), 1.0), ((30, 34, 28), (1.0, 1.0, 1.0), 5.0),
    ((21, 40, 37), (0.78, 0.78, 2.5), 2.0), ((4, 4, 4), (1.0, 1.0, 1.0), 3.0),
    ((5, 70, 6), (2.0, 0.5, 1.5), 0.5), ((130, 9, 11), (1.0, 3.0, 0.7), 4.0)])
def test_c_log_equals_simpleitk_bit_for_bit(shape, spacing, sigma):
    rng = np.random.default_rng(len(shape) + int(sigma * 10))
    arr = rng.normal(40.0, 120.0, shape)
    arr[shape[0] // 2:, :, : shape[2] // 3] += 900.0  # an edge, and values far from zero
    ref = _itk(arr, spacing, sigma)
    got = _c(arr, spacing, sigma)
    assert got.dtype == ref.dtype == np.float32
    np.testing.assert_array_equal(got, ref)
    assert np.abs(ref).max() > 0


def test_c_log_of_integer_image_equals_simpleitk():
    rng = np.random.default_rng(5)
    arr = rng.integers(-1024, 2000, (17, 19, 23)).astype(np.int16)
    np.testing.assert_array_equal(_c(arr, (0.9, 0.9, 3.0), 1.5), _itk(arr, (0.9, 0.9, 3.0), 1.5))


def test_apply_filters_log_is_the_same_with_and_without_c(monkeypatch):
    rng = np.random.default_rng(9)
    arr = rng.normal(0.0, 50.0, (16, 18, 20))
    kw = {"LoG": {"sigma": [1.0, 2.5]}}
    c = filters.apply_filters(arr, (2.0, 1.0, 1.0), kw)
    monkeypatch.setattr(filters, "_CF", None)
    itk = filters.apply_filters(arr, (2.0, 1.0, 1.0), kw)
    assert set(c) == set(itk) == {"log-sigma-1-0-mm-3D", "log-sigma-2-5-mm-3D"}
    for name in c:
        np.testing.assert_array_equal(c[name], itk[name])


def test_c_log_refuses_bad_arguments():
    arr = np.zeros((4, 4, 4))
    out = np.empty((4, 4, 4), dtype=np.float32)
    with pytest.raises(ValueError, match="4 voxels"):
        filters._CF.laplacian(np.zeros((3, 4, 4)), 3, 4, 4, 1.0, 1.0, 1.0, 1.0,
                              np.empty((3, 4, 4), np.float32))
    with pytest.raises(ValueError, match="float64"):
        filters._CF.laplacian(arr.astype(np.float32), 4, 4, 4, 1.0, 1.0, 1.0, 1.0, out)
    with pytest.raises(ValueError, match="> 0"):
        filters._CF.laplacian(arr, 4, 4, 4, 1.0, 1.0, 1.0, 0.0, out)


@pytest.mark.parametrize("shape", [(8, 10, 12), (2, 4, 6), (20, 34, 16), (2, 2, 2), (4, 4, 10)])
@pytest.mark.parametrize("name", ["coif1", "haar"])
def test_c_swt_equals_pywavelets_bit_for_bit(shape, name):
    """Lines shorter and longer than the filter (PyWavelets' four overhang cases), 2-D and 3-D
    axis sets, integer and float64 input."""
    import pywt

    rng = np.random.default_rng(sum(shape))
    for axes in ([2, 1, 0], [2, 1], [1, 0]):
        for dtype in (np.float64, np.int16):
            x = rng.normal(0, 100, shape).astype(dtype)
            ref = pywt.swtn(x, pywt.Wavelet(name), level=1, start_level=0, axes=axes)[0]
            got = filters._swtn_c(x, filters._SWT_FILTERS[name], axes)
            assert list(got) == list(ref)
            for key in ref:
                np.testing.assert_array_equal(got[key], ref[key])


@pytest.mark.parametrize("kw", [{}, {"level": 2}, {"start_level": 1, "wavelet": "haar"},
                                {"force2D": True, "force2Ddimension": 0}])
def test_apply_filters_wavelet_is_the_same_with_and_without_c(monkeypatch, kw):
    rng = np.random.default_rng(3)
    arr = rng.normal(0.0, 50.0, (13, 18, 21))  # odd axes: wrapped padding
    types = {"Wavelet": kw}
    c = filters.apply_filters(arr, (2.0, 1.0, 1.0), types)
    monkeypatch.setattr(filters, "_CF", None)
    ref = filters.apply_filters(arr, (2.0, 1.0, 1.0), types)
    assert list(c) == list(ref) and len(c) >= 4
    for name in c:
        np.testing.assert_array_equal(c[name], ref[name])
