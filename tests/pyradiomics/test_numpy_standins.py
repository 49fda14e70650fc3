"""NumPy stand-ins for library calls (B-spline resampling, mask bounding box, order statistics)
equal the calls they replace."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk

from radsig.features.pyradiomics._preprocess import bspline_resample


def _itk(image, size, origin, spacing, pixel_id):
    f = sitk.ResampleImageFilter()
    f.SetOutputSpacing([float(v) for v in spacing])
    f.SetSize([int(v) for v in size])
    f.SetOutputOrigin([float(v) for v in origin])
    f.SetOutputDirection(image.GetDirection())
    f.SetInterpolator(sitk.sitkBSpline)
    f.SetOutputPixelType(pixel_id)
    return sitk.GetArrayFromImage(f.Execute(image))


def _case(rng, dtype, direction=None):
    shape = tuple(int(v) for v in rng.integers(12, 40, 3))
    arr = rng.normal(0, 300, shape)
    if np.dtype(dtype).kind == "u":
        arr = np.abs(arr)
    image = sitk.GetImageFromArray(arr.astype(dtype))
    spacing = rng.uniform(0.5, 3, 3)
    image.SetSpacing(tuple(spacing))
    image.SetOrigin(tuple(rng.uniform(-50, 50, 3)))
    if direction is not None:
        image.SetDirection(direction)
    out_spacing = rng.uniform(0.5, 2, 3)
    origin = image.TransformContinuousIndexToPhysicalPoint(tuple(rng.uniform(1, 3, 3)))
    size = ((np.array(shape[::-1]) - 7) * spacing / out_spacing).astype(int)
    return image, size, origin, out_spacing


@pytest.mark.parametrize("dtype", [np.int16, np.uint8, np.int32, np.float32, np.float64])
def test_bspline_resample_equals_simpleitk(dtype):
    rng = np.random.default_rng(np.dtype(dtype).itemsize)
    flip = (-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0)  # LPS-style flipped axes
    for k in range(8):
        image, size, origin, spacing = _case(rng, dtype, flip if k % 2 else None)
        got = bspline_resample(image, size, origin, spacing, image.GetDirection())
        assert got is not None
        want = _itk(image, size, origin, spacing, image.GetPixelID())
        assert got.GetSize() == tuple(int(v) for v in size)
        np.testing.assert_allclose(got.GetOrigin(), origin, rtol=0, atol=1e-12)
        arr = sitk.GetArrayFromImage(got)
        assert arr.dtype == want.dtype
        if np.dtype(dtype) == np.float64:  # rounding-level differences only
            np.testing.assert_allclose(arr, want, rtol=1e-11, atol=1e-9 * np.abs(want).max())
        else:  # integer types: truncated like ITK; float32: rounded like ITK
            np.testing.assert_array_equal(arr, want)


def test_bspline_resample_declines_what_it_does_not_cover():
    rng = np.random.default_rng(5)
    image, size, origin, spacing = _case(rng, np.int16)
    other = (0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    assert bspline_resample(image, size, origin, spacing, other) is None  # rotated grid
    near_edge = image.TransformContinuousIndexToPhysicalPoint((0.2, 2.0, 2.0))
    assert bspline_resample(image, size, near_edge, spacing, image.GetDirection()) is None
    vec = sitk.Compose([image, image])
    assert bspline_resample(vec, size, origin, spacing, image.GetDirection()) is None


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.uint32, np.int64, bool])
def test_label_bbox_equals_the_plain_search(dtype):
    from radsig.features.pyradiomics._preprocess import _bbox_of, _label_bbox

    rng = np.random.default_rng(1)
    for shape in [(7, 9, 11), (5, 3, 1), (1, 4, 6), (12, 8, 8)]:
        for _ in range(4):
            arr = np.zeros(shape, dtype=dtype)
            k = rng.integers(1, 6)
            idx = tuple(rng.integers(0, s, k) for s in shape)
            arr[idx] = rng.integers(1, 3, k).astype(dtype) if dtype is not bool else True
            if np.dtype(dtype).kind == "i":
                arr[tuple(rng.integers(0, s, 1) for s in shape)] = -1  # other labels, negative
            for label in (1, 2):
                roi = arr == label
                want = _bbox_of(roi) if roi.any() else None
                got = _label_bbox(arr, label)
                if want is None:
                    assert got is None
                else:
                    np.testing.assert_array_equal(got, want)


def test_order_statistics_equal_numpy_percentile_and_median():
    from radsig.features.pyradiomics._firstorder_shape import order_statistics

    rng = np.random.default_rng(0)
    for n in [*range(1, 30), 1000, 1001, 4099]:
        for _ in range(5):
            x = rng.normal(0, 100, n)
            if n % 3 == 0:
                x = np.round(x)  # ties
            pct, med, lo, hi = order_statistics(x, [10, 25, 75, 90])
            np.testing.assert_array_equal(pct, np.percentile(x, [10, 25, 75, 90]))
            assert med == np.median(x) and lo == x.min() and hi == x.max()
