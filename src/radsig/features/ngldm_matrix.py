"""Neighbouring grey level dependence matrices (NGLDM; PyRadiomics' GLDM).

The dependence of every voxel is accumulated offset by offset with shifted whole-array
comparisons (one vectorised pass per neighbour offset, no loop over voxels).
"""

from __future__ import annotations

import numpy as np

from radsig.features._texture import (
    as_levels,
    check_levels,
    count_matrix,
    neighbourhood_offsets,
    pad_zero,
    shifted,
)

__all__ = ["dependence_counts", "ngldm_matrices", "neighbourhood_offsets"]


def dependence_counts(levels: np.ndarray, offsets=None, *, alpha: float = 0) -> np.ndarray:
    """Number of dependent neighbours of every voxel.

    A neighbour at ``p + offset`` is dependent when it lies in the ROI and
    ``|level(p + offset) - level(p)| <= alpha``.

    Returns ndarray of int64, same shape as ``levels`` (3D); 0 outside the ROI.
    """
    lv = as_levels(levels)
    offs = neighbourhood_offsets(1) if offsets is None else np.asarray(offsets, np.int64).reshape(-1, 3)
    padded, pad = pad_zero(lv, offs)
    roi = lv > 0
    dep = np.zeros(lv.shape, dtype=np.int64)
    for off in offs:
        nb = shifted(padded, pad, off, lv.shape)
        dep += (nb > 0) & (np.abs(nb - lv) <= alpha)
    dep[~roi] = 0
    return dep


def ngldm_matrices(levels: np.ndarray, n_levels: int, offsets=None, *, alpha: float = 0,
                   per_slice: bool = False, max_dependence: int | None = None) -> np.ndarray:
    """Dependence counts ``s(i, j)``.

    Parameters
    ----------
    levels : ndarray of int, shape (z, y, x)
        Grey levels ``1..n_levels`` in the ROI, 0 outside.
    n_levels : int
        ``N_g``.
    offsets : array-like of int, shape (n, 3), optional
        Neighbour offsets (both signs); default the 26 volume neighbours at Chebyshev
        distance 1; ``neighbourhood_offsets(d, in_slice=True)`` for in-slice ones.
    alpha : float
        Coarseness parameter α (IBSI default 0; PyRadiomics ``gldm_a``).
    per_slice : bool
        Split by slice.
    max_dependence : int, optional
        Number of columns ``N_d``; default ``len(offsets) + 1`` (all possible dependences).

    Returns
    -------
    ndarray of int64
        Shape ``(N_g, N_d)`` or ``(n_z, N_g, N_d)``; entry ``[i-1, j-1]`` counts ROI voxels
        of level i with dependence ``j`` = 1 + number of dependent neighbours (IBSI and
        PyRadiomics both count the centre voxel, so ``j >= 1``). Every ROI voxel is counted.
    """
    lv = as_levels(levels)
    check_levels(lv, n_levels)
    offs = neighbourhood_offsets(1) if offsets is None else np.asarray(offsets, np.int64).reshape(-1, 3)
    nd = len(offs) + 1 if max_dependence is None else int(max_dependence)
    ng = int(n_levels)
    if not per_slice:
        counts = _ngldm_c(lv, ng, offs, alpha)
        if counts is not None:
            return _columns(counts, ng, nd)
    elif (half := _half_offsets(offs, alpha)) is not None:
        from radsig.features.glszm_matrix import _per_slice_c

        counts = _per_slice_c(lambda sl: _ngldm_c(sl, ng, offs, alpha), lv,
                              (ng, 2 * len(half) + 1))
        return _columns(counts, ng, nd)
    dep = dependence_counts(lv, offs, alpha=alpha)
    roi = lv > 0
    j = dep[roi]
    if j.size and j.max() + 1 > nd:
        raise ValueError(f"max_dependence={nd} is smaller than the largest dependence "
                         f"({int(j.max()) + 1})")
    z = np.nonzero(roi)[0] if per_slice else None
    return count_matrix(lv[roi] - 1, j, int(n_levels), nd, z, lv.shape[0])


def _columns(counts: np.ndarray, ng: int, nd: int) -> np.ndarray:
    """The kernel's counts ``(..., N_g, width)`` with *nd* columns (an error when a dependence
    of any slice does not fit)."""
    used = np.flatnonzero(counts.reshape(-1, counts.shape[-1]).any(axis=0))
    if used.size and used[-1] + 1 > nd:
        raise ValueError(f"max_dependence={nd} is smaller than the largest dependence "
                         f"({int(used[-1]) + 1})")
    out = np.zeros(counts.shape[:-1] + (nd,), dtype=np.int64)
    width = min(nd, counts.shape[-1])
    out[..., :width] = counts[..., :width]
    return out


def _half_offsets(offs: np.ndarray, alpha: float) -> np.ndarray | None:
    """The C kernel's half steps of *offs* (:func:`radsig.features.glszm_matrix._half_steps`),
    or None where it cannot count with them: a negative alpha, an offset listed twice, or the
    centre among them (the NumPy path counts each listed offset)."""
    from radsig.features.glszm_matrix import _half_steps

    as_set = {tuple(int(v) for v in o) for o in offs}
    if alpha < 0 or len(as_set) != len(offs) or (0, 0, 0) in as_set:
        return None
    return _half_steps(offs)


def _ngldm_c(lv: np.ndarray, ng: int, offs: np.ndarray, alpha: float) -> np.ndarray | None:
    """Dependence counts (N_g, len(offs) + 1) by PyRadiomics mode's C GLDM kernel (shared by
    both modes: the same neighbours and test, so the same counts), or None without it or when
    *offs* is not symmetric."""
    from radsig.features.glszm_matrix import _ckernels, _kernel_box

    half = _half_offsets(offs, alpha)
    if half is None or not lv.any():
        return None
    box, steps, idx = _kernel_box(lv, int(np.abs(half).max()), half)
    width = 2 * len(half) + 1
    out = np.zeros((ng, width))
    # integer levels: |a - b| <= alpha  <=>  |a - b| <= floor(alpha)
    _ckernels().gldm(box.reshape(-1), idx, steps, int(np.floor(alpha)), width, out)
    return out.astype(np.int64)
