"""Grey level co-occurrence matrices (GLCM), built with one ``np.bincount`` per direction.

Used by IBSI mode (:mod:`radsig.features.glcm`) and PyRadiomics mode alike.
"""

from __future__ import annotations

import numpy as np

from radsig.features._texture import (
    as_levels,
    chebyshev_offsets,
    check_levels,
    pad_zero,
    shifted,
)

__all__ = ["glcm_matrices", "chebyshev_offsets"]


def glcm_matrices(levels: np.ndarray, n_levels: int, offsets=None, *,
                  per_slice: bool = False, symmetric: bool = True) -> np.ndarray:
    """Co-occurrence counts of grey-level pairs, one matrix per offset (direction).

    Parameters
    ----------
    levels : ndarray of int, shape (z, y, x) (a 2D array is one slice)
        Grey levels ``1..n_levels`` inside the ROI, 0 outside. Only pairs whose two voxels are
        both in the ROI count.
    n_levels : int
        ``N_g``; the matrices are ``N_g × N_g`` (row/column ``i-1`` is grey level ``i``).
    offsets : array-like of int, shape (n_dirs, 3), optional
        Offsets ``(dz, dy, dx)``; a voxel at ``p`` pairs with the voxel at ``p + offset``.
        Default: the 13 volume directions at Chebyshev distance 1 (IBSI 3D). Use
        ``chebyshev_offsets(d, in_slice=True)`` for the 4 in-slice directions, or any set
        (e.g. PyRadiomics' angle order) — the output follows the given order.
    per_slice : bool
        Also split the counts by the slice (z index) of the first voxel of each pair.
    symmetric : bool
        Add the transpose (count each pair in both orders), as IBSI and PyRadiomics do.

    Returns
    -------
    ndarray of int64
        Shape ``(n_dirs, N_g, N_g)``, or ``(n_z, n_dirs, N_g, N_g)`` with ``per_slice``.
        Entry ``[d, i-1, j-1]`` counts pairs (level i at p, level j at p + offset_d).
        Summing over axes gives the merged matrices (e.g. ``.sum(axis=1)`` merges directions
        per slice); counts are not normalised.
    """
    lv = as_levels(levels)
    check_levels(lv, n_levels)
    offs = chebyshev_offsets(1) if offsets is None else np.asarray(offsets, np.int64).reshape(-1, 3)
    ng = int(n_levels)
    nz = lv.shape[0]
    if not per_slice:
        counts = _glcm_c(lv, ng, offs)
        if counts is not None:
            mats = counts.transpose(2, 0, 1)
            return mats + mats.swapaxes(-1, -2) if symmetric else np.ascontiguousarray(mats)
    elif len(offs) and not offs[:, 0].any():  # 2D / 2.5D: the same C kernel, slice by slice
        from radsig.features.glszm_matrix import _per_slice_c

        mats = _per_slice_c(lambda sl: _glcm_c(sl, ng, offs), lv, (ng, ng, len(offs)))
        if mats is not None:
            mats = mats.transpose(0, 3, 1, 2)
            return mats + mats.swapaxes(-1, -2) if symmetric else np.ascontiguousarray(mats)
    padded, pad = pad_zero(lv, offs)
    zidx = np.arange(nz, dtype=np.int64)[:, None, None] * (ng * ng)
    n_out = (nz if per_slice else 1) * ng * ng
    out = np.empty((len(offs), n_out), dtype=np.int64)
    roi = lv > 0
    for d, off in enumerate(offs):
        nb = shifted(padded, pad, off, lv.shape)
        valid = roi & (nb > 0)
        key = (lv - 1) * ng + (nb - 1)
        if per_slice:
            key = key + zidx
        out[d] = np.bincount(key[valid], minlength=n_out)
    mats = out.reshape(len(offs), nz if per_slice else 1, ng, ng)
    if symmetric:
        mats = mats + mats.swapaxes(-1, -2)
    if per_slice:
        return np.ascontiguousarray(mats.swapaxes(0, 1))
    return mats[:, 0]


def _glcm_c(lv: np.ndarray, ng: int, offs: np.ndarray) -> np.ndarray | None:
    """Pair counts (N_g, N_g, n_dirs), [i-1, j-1, d] = (i at p, j at p + offset_d), by
    PyRadiomics mode's C kernel (shared by both modes; the same pairs, so the same counts), or
    None without it."""
    from radsig.features.glszm_matrix import _ckernels, _kernel_box

    kernels = _ckernels()
    if kernels is None or not lv.any() or not len(offs):
        return None
    box, steps, idx = _kernel_box(lv, int(np.abs(offs).max()), offs)
    out = np.zeros((ng, ng, len(offs)))
    kernels.glcm(box.reshape(-1), idx, steps, ng, out)
    return out.astype(np.int64)
