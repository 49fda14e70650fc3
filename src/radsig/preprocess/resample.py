"""Cropping and resampling on a grid whose centre is aligned with the original grid.

IBSI rules: the new grid size is the fractional size rounded up, the grid centres coincide,
intensities beyond the image edge take the nearest edge value, and the image is cropped
around the ROI *before* interpolation so the whole scan is never resampled.

The new grid is a regular grid, so nearest-neighbour and linear interpolation are separable:
one 1-D pass per axis (NumPy) gives what :func:`scipy.ndimage.map_coordinates` gives with
``mode="nearest"`` (up to rounding in the last bits), without importing SciPy (≈ 0.2 s of a
one-case extract) and with far fewer operations than interpolating every output voxel from
its 8 neighbours. The cubic B-spline (its prefilter) uses ``map_coordinates`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: spline order of each interpolation method
ORDERS = {"nearest": 0, "linear": 1, "bspline": 3}
#: extra original voxels read beyond the needed region so the interpolant there equals the
#: one of the whole image (the cubic B-spline prefilter reaches far; its weights decay as 0.27^k)
_SUPPORT = {0: 1, 1: 2, 3: 10}


def support(method: str) -> int:
    """Original voxels beyond a new grid's extent that :func:`resample` reads with *method*."""
    return _SUPPORT[ORDERS[method]]


@dataclass(frozen=True)
class Grid:
    """A regular grid relative to the original voxel grid (all per axis, (z, y, x)).

    ``start`` is the original continuous index of this grid's voxel 0 and ``step`` the ratio
    new spacing / old spacing, so voxel ``j`` sits at original index ``start + j * step``.
    """

    shape: tuple[int, ...]
    spacing: tuple[float, ...]
    start: tuple[float, ...]
    step: tuple[float, ...]
    full_shape: tuple[int, ...]

    def original_index(self, axis: int, j: np.ndarray) -> np.ndarray:
        """Original continuous index of new index *j* along *axis*."""
        return self.start[axis] + np.asarray(j, dtype=np.float64) * self.step[axis]


def aligned_grid(shape: tuple[int, ...], spacing: tuple[float, ...],
                 new_spacing: tuple[float, ...]) -> Grid:
    """The whole-image grid of *new_spacing* whose centre equals the original grid's centre."""
    shape_a = np.asarray(shape, dtype=np.float64)
    old = np.asarray(spacing, dtype=np.float64)
    new = np.asarray(new_spacing, dtype=np.float64)
    n_new = np.ceil(np.round(shape_a * old / new, 6)).astype(int)
    step = new / old
    start = (shape_a - 1.0) / 2.0 - (n_new - 1.0) / 2.0 * step
    return Grid(tuple(int(n) for n in n_new), tuple(new_spacing), tuple(start), tuple(step),
                tuple(int(n) for n in n_new))


def roi_window(grid: Grid, bbox_lo: np.ndarray, bbox_hi: np.ndarray,
               margin_mm, old_spacing: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """New-grid index bounds ``[lo, hi)`` covering the ROI bounding box plus *margin_mm*
    (one value, or one per axis (z, y, x))."""
    margin = np.broadcast_to(np.asarray(margin_mm, dtype=np.float64), (3,))
    lo, hi = [], []
    for ax in range(3):
        m = margin[ax] / old_spacing[ax]
        a = (bbox_lo[ax] - m - grid.start[ax]) / grid.step[ax]
        b = (bbox_hi[ax] + m - grid.start[ax]) / grid.step[ax]
        lo.append(max(0, int(np.floor(a))))
        hi.append(min(grid.full_shape[ax], int(np.ceil(b)) + 1))
    return np.asarray(lo), np.asarray(hi)


def sub_grid(grid: Grid, lo: np.ndarray, hi: np.ndarray) -> Grid:
    """The part ``[lo, hi)`` of *grid*."""
    start = tuple(grid.start[ax] + lo[ax] * grid.step[ax] for ax in range(3))
    shape = tuple(int(h - lo_) for lo_, h in zip(lo, hi, strict=False))
    return Grid(shape, grid.spacing, start, grid.step, grid.full_shape)


def resample(array: np.ndarray, grid: Grid, method: str) -> np.ndarray:
    """Interpolate *array* (on the original grid) at the voxels of *grid*.

    Only the block of *array* that the grid needs (plus interpolation support) is read,
    so calling this with a cropped grid never touches the rest of the scan.
    """
    order = ORDERS[method]
    reach = support(method)
    coords_1d, block = [], []
    for ax in range(3):
        idx = grid.original_index(ax, np.arange(grid.shape[ax]))
        a = max(0, int(np.floor(idx.min())) - reach)
        b = min(array.shape[ax], int(np.ceil(idx.max())) + reach + 1)
        block.append(slice(a, b))
        coords_1d.append(idx - a)
    sub = np.ascontiguousarray(array[tuple(block)], dtype=np.float64)
    if order <= 1:
        # axes that shrink first, so the later passes run on fewer voxels
        out = sub
        for ax in sorted(range(3), key=lambda a: len(coords_1d[a]) / sub.shape[a]):
            out = _interp_axis(out, coords_1d[ax], ax, order)
        return out
    from scipy import ndimage  # cubic B-spline only

    mesh = np.meshgrid(*coords_1d, indexing="ij")
    return ndimage.map_coordinates(sub, mesh, order=order, mode="nearest",
                                   prefilter=order > 1)


def _interp_axis(a: np.ndarray, x: np.ndarray, axis: int, order: int) -> np.ndarray:
    """*a* interpolated at the continuous indices *x* along *axis* (edge values beyond the ends).

    Order 0 takes the voxel ``floor(x + 0.5)`` (ties upward, as ``map_coordinates``); order 1
    weighs the two neighbours ``floor(x)`` and ``floor(x) + 1``.
    """
    n = a.shape[axis]
    shape = [1] * a.ndim
    shape[axis] = len(x)
    if order == 0:
        idx = np.clip(np.floor(x + 0.5).astype(np.int64), 0, n - 1)
        return np.take(a, idx, axis=axis)
    x = np.clip(x, 0.0, n - 1.0)
    i0 = np.minimum(np.floor(x).astype(np.int64), max(n - 2, 0))
    w = (x - i0).reshape(shape)
    i1 = np.minimum(i0 + 1, n - 1)
    lo = np.take(a, i0, axis=axis)
    hi = np.take(a, i1, axis=axis)
    return lo + w * (hi - lo)
