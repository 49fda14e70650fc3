"""Neighbourhood grey tone difference matrices (NGTDM) from neighbourhood sums by convolution.

The neighbourhood sum and the count of ROI neighbours of every voxel are two
``scipy.ndimage.correlate`` calls with a kernel of ones at the neighbour offsets.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from radsig.features._texture import as_levels, check_levels, neighbourhood_offsets

__all__ = ["neighbour_kernel", "ngtdm_matrices", "neighbourhood_offsets"]


def neighbour_kernel(offsets) -> np.ndarray:
    """Odd-sized 3D float kernel with 1 at every offset ``(dz, dy, dx)`` (centre excluded)."""
    offs = np.asarray(offsets, dtype=np.int64).reshape(-1, 3)
    r = int(np.abs(offs).max()) if len(offs) else 0
    k = np.zeros((2 * r + 1,) * 3)
    k[tuple((offs + r).T)] = 1.0
    k[r, r, r] = 0.0
    return k


def ngtdm_matrices(levels: np.ndarray, n_levels: int, offsets=None, *,
                   per_slice: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-level voxel counts ``n_i`` and grey-tone difference sums ``s_i``.

    For each ROI voxel with at least one ROI neighbour, the neighbourhood mean ``A`` is the
    mean grey level of its ROI neighbours (voxels outside the ROI are ignored) and it adds
    ``|i - A|`` to ``s_i`` of its level ``i``. Voxels without an ROI neighbour are left out
    (IBSI; ``N_v,c = sum(n_i)``, ``p_i = n_i / N_v,c``).

    Parameters
    ----------
    levels : ndarray of int, shape (z, y, x)
        Grey levels ``1..n_levels`` in the ROI, 0 outside.
    n_levels : int
        ``N_g``.
    offsets : array-like of int, shape (n, 3), optional
        Neighbour offsets (both signs); default the 26 volume neighbours at Chebyshev
        distance 1. ``neighbourhood_offsets(d, in_slice=True)`` gives the in-slice ones.
    per_slice : bool
        Split by slice (use with in-slice offsets for IBSI 2D / 2.5D).

    Returns
    -------
    n, s : ndarray, shape (N_g,) or (n_z, N_g) with ``per_slice``
        ``n`` (int64) counts voxels of level ``i`` at index ``i-1``; ``s`` (float64) sums
        their absolute differences. Merging slices sums both (then recompute ``p_i``).
    """
    lv = as_levels(levels)
    check_levels(lv, n_levels)
    offs = neighbourhood_offsets(1) if offsets is None else offsets
    kernel = neighbour_kernel(offs)
    roi = lv > 0
    total = ndimage.correlate(lv.astype(np.float64), kernel, mode="constant", cval=0.0)
    count = ndimage.correlate(roi.astype(np.float64), kernel, mode="constant", cval=0.0)
    valid = roi & (count > 0.5)
    g = lv[valid]
    diff = np.abs(g - total[valid] / count[valid])
    ng, nz = int(n_levels), lv.shape[0]
    key = g - 1
    size = ng
    if per_slice:
        z = np.nonzero(valid)[0]
        key = key + z * ng
        size = nz * ng
    n = np.bincount(key, minlength=size).astype(np.int64)
    s = np.bincount(key, weights=diff, minlength=size)
    if per_slice:
        return n.reshape(nz, ng), s.reshape(nz, ng)
    return n, s
