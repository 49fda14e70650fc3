"""Aligned-grid resampling and crop-before-resample."""

from __future__ import annotations

import numpy as np
import pytest

from radsig.config import load_settings
from radsig.preprocess import prepare_arrays
from radsig.preprocess.resample import aligned_grid, resample, roi_window, sub_grid


def test_aligned_grid_keeps_centre_and_rounds_size_up():
    grid = aligned_grid((60, 201, 204), (3.0, 0.977, 0.977), (2.0, 2.0, 2.0))
    assert grid.shape == (90, 99, 100)  # IBSI diagnostic values of configs C-E
    for ax, n in enumerate((60, 201, 204)):
        centre_new = grid.original_index(ax, (grid.shape[ax] - 1) / 2)
        assert centre_new == pytest.approx((n - 1) / 2)


def test_identity_spacing_returns_the_image():
    rng = np.random.default_rng(0)
    arr = rng.normal(size=(5, 6, 7))
    for method in ("nearest", "linear", "bspline"):
        grid = aligned_grid(arr.shape, (1.0, 1.0, 1.0), (1.0, 1.0, 1.0))
        np.testing.assert_allclose(resample(arr, grid, method), arr, atol=1e-9)


def test_linear_resampling_of_a_linear_ramp_is_exact():
    z, y, x = np.indices((8, 9, 10)).astype(float)
    arr = 2 * z + 3 * y - x
    grid = aligned_grid(arr.shape, (1.0, 1.0, 1.0), (0.7, 1.3, 0.9))
    out = resample(arr, grid, "linear")
    zz, yy, xx = np.meshgrid(*[grid.original_index(a, np.arange(grid.shape[a]))
                               for a in range(3)], indexing="ij")
    inside = (zz <= 7) & (yy <= 8) & (xx <= 9) & (zz >= 0) & (yy >= 0) & (xx >= 0)
    np.testing.assert_allclose(out[inside], (2 * zz + 3 * yy - xx)[inside], atol=1e-9)


@pytest.mark.parametrize("method", ["linear", "bspline"])
def test_cropped_resampling_equals_whole_image_resampling(method):
    rng = np.random.default_rng(1)
    arr = rng.normal(size=(30, 40, 40)).cumsum(axis=2)
    grid = aligned_grid(arr.shape, (3.0, 0.8, 0.8), (2.0, 2.0, 2.0))
    whole = resample(arr, grid, method)
    lo, hi = roi_window(grid, np.array([10, 15, 15]), np.array([18, 25, 22]), 10.0,
                        (3.0, 0.8, 0.8))
    part = resample(arr, sub_grid(grid, lo, hi), method)
    np.testing.assert_allclose(part, whole[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]], atol=1e-4)


def test_pipeline_crops_with_margin_and_keeps_world_position():
    arr = np.zeros((20, 30, 30))
    mask = np.zeros(arr.shape, bool)
    mask[8:12, 10:15, 12:16] = True
    arr[mask] = 100.0
    settings = load_settings({"discretisation": {"method": "fbn", "bin_number": 8}})
    roi = prepare_arrays(arr, mask, (2.0, 1.0, 1.0), settings, origin=(-5.0, 3.0, 7.0))
    assert roi.int_mask.sum() == mask.sum()
    # 10 mm margin: 5 slices of 2 mm, 10 voxels of 1 mm (clipped at the image edge)
    assert roi.image.shape == (14, 25, 24)
    assert roi.origin == pytest.approx((-5.0 + 3 * 2.0, 3.0 + 0.0, 7.0 + 2.0))


def test_in_plane_resampling_keeps_slices():
    rng = np.random.default_rng(2)
    arr = rng.normal(size=(6, 20, 20))
    mask = np.zeros(arr.shape, bool)
    mask[1:5, 5:15, 5:15] = True
    settings = load_settings({"interpolation": {"spacing": [2.0, 2.0]}})
    roi = prepare_arrays(arr, mask, (3.0, 1.0, 1.0), settings)
    assert roi.spacing == (3.0, 2.0, 2.0)
    assert roi.image.shape[0] == 6


def test_whole_scan_is_never_resampled(monkeypatch):
    from radsig.preprocess import pipeline

    seen = []
    real = pipeline.resample

    def spy(array, grid, method):
        seen.append(grid.shape)
        return real(array, grid, method)

    monkeypatch.setattr(pipeline, "resample", spy)
    arr = np.random.default_rng(6).normal(size=(40, 120, 120))
    mask = np.zeros(arr.shape, bool)
    mask[18:22, 50:60, 55:62] = True
    settings = load_settings({"interpolation": {"spacing": [1.0, 1.0, 1.0]}})
    prepare_arrays(arr, mask, (2.0, 0.8, 0.8), settings)
    full = aligned_grid(arr.shape, (2.0, 0.8, 0.8), (1.0, 1.0, 1.0)).shape
    assert seen and all(np.prod(s) < np.prod(full) / 5 for s in seen)


def test_roi_origin_follows_a_rotated_direction(image_factory):
    import SimpleITK as sitk

    from radsig.preprocess import prepare_roi

    image, mask = image_factory(shape=(30, 40, 40), spacing=(2.0, 1.0, 1.0))
    direction = (0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    for img in (image, mask):
        img.SetDirection(direction)
        img.SetOrigin((5.0, -3.0, 7.0))
    roi = prepare_roi(image, mask, load_settings({}))
    # ROI bounding box starts at (11, 16, 16); 10 mm margin = 5 slices of 2 mm, 10 voxels of 1 mm
    lo = np.argwhere(sitk.GetArrayFromImage(mask) > 0).min(axis=0) - np.array([5, 10, 10])
    assert lo.tolist() == [6, 6, 6]
    expected = image.TransformIndexToPhysicalPoint([int(v) for v in lo[::-1]])
    assert roi.origin == pytest.approx(expected[::-1])


@pytest.mark.parametrize("method, order", [("nearest", 0), ("linear", 1)])
def test_separable_resampling_equals_scipy_map_coordinates(method, order):
    """The per-axis NumPy passes give map_coordinates(mode='nearest') on random grids, ties of
    nearest-neighbour (x.5 indices) and points beyond the edge included."""
    from scipy import ndimage

    rng = np.random.default_rng(3)
    cases = [((10, 10, 10), (1, 1, 1), (2, 2, 2)),          # indices 0.5, 2.5, ...: ties
             ((9, 12, 8), (1, 1, 1), (0.5, 0.5, 0.5)),      # -0.25: beyond the edge
             ((7, 10, 12), (2.5, 0.8, 0.8), (1, 1, 1))]
    cases += [(tuple(rng.integers(2, 25, 3)), tuple(rng.uniform(0.5, 3, 3)),
               tuple(rng.uniform(0.5, 3, 3))) for _ in range(10)]
    for shape, spacing, new in cases:
        image = rng.normal(size=shape) * 100.0
        grid = aligned_grid(shape, spacing, new)
        coords = [grid.original_index(ax, np.arange(grid.shape[ax])) for ax in range(3)]
        ref = ndimage.map_coordinates(image, np.meshgrid(*coords, indexing="ij"), order=order,
                                      mode="nearest")
        np.testing.assert_allclose(resample(image, grid, method), ref, rtol=0, atol=1e-10)
