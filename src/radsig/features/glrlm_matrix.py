"""Grey level run length matrices (GLRLM), runs found by array differences along each direction.

For each direction the ROI voxels are put in line order (a stable sort by the line's first
grid voxel keeps the C order, which is the order along the line); a run ends wherever the
line, the step or the grey level changes (``np.diff``). No Python loop over voxels.
"""

from __future__ import annotations

import numpy as np

from radsig.features._texture import as_levels, chebyshev_offsets, check_levels

__all__ = ["glrlm_matrices", "runs_along", "chebyshev_offsets"]


def _roi_voxels(lv: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates (3, n), flat C-order index (n,) and grey level (n,) of the ROI voxels."""
    coords = np.nonzero(lv > 0)
    flat = np.ravel_multi_index(coords, lv.shape).astype(np.int64)
    return np.stack(coords).astype(np.int64), flat, lv.ravel()[flat]


def _runs(pos, flat, g, shape, a) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    strides = np.array([shape[1] * shape[2], shape[2], 1], dtype=np.int64)
    if a @ strides < 0:
        a = -a  # same runs; walking with a positive flat stride keeps C order = line order
    # Step number k along the line: how many steps back until the grid edge is crossed.
    k = None
    for i in np.flatnonzero(a):
        p = pos[i] if a[i] > 0 else shape[i] - 1 - pos[i]
        ki = p // abs(int(a[i]))
        k = ki if k is None else np.minimum(k, ki)
    line = flat - k * int(a @ strides)  # flat index of the line's first grid voxel
    # Stable sort by line: within a line, C order is already the order of k.
    order = np.argsort(line, kind="stable")
    line, k, gs = line[order], k[order], g[order]
    brk = np.ones(gs.size, dtype=bool)
    brk[1:] = (np.diff(line) != 0) | (np.diff(k) != 1) | (np.diff(gs) != 0)
    starts = np.flatnonzero(brk)
    lengths = np.diff(np.append(starts, gs.size)).astype(np.int64)
    return gs[starts], lengths, pos[0][order][starts]


def runs_along(levels: np.ndarray, direction) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All runs of equal grey level along one direction.

    Parameters
    ----------
    levels : ndarray of int, shape (z, y, x)
        Grey levels ``>= 1`` in the ROI, 0 outside (0 breaks runs and is never a run).
    direction : array-like of int, shape (3,)
        Step ``(dz, dy, dx)`` between consecutive voxels of a line (any non-zero integer
        vector; ``d`` and ``-d`` give the same runs; IBSI uses Chebyshev-1 steps).

    Returns
    -------
    level, length, z : ndarray of int64, shape (n_runs,)
        Grey level, run length (voxels) and slice index of the run's first voxel in C order.
    """
    lv = as_levels(levels)
    a = np.asarray(direction, dtype=np.int64).reshape(3)
    if not a.any():
        raise ValueError("direction must be a non-zero offset")
    pos, flat, g = _roi_voxels(lv)
    return _runs(pos, flat, g, lv.shape, a)


def glrlm_matrices(levels: np.ndarray, n_levels: int, directions=None, *,
                   per_slice: bool = False, max_run: int | None = None) -> np.ndarray:
    """Run-length counts, one matrix per direction.

    Parameters
    ----------
    levels : ndarray of int, shape (z, y, x) (a 2D array is one slice)
        Grey levels ``1..n_levels`` in the ROI, 0 outside.
    n_levels : int
        ``N_g`` (rows).
    directions : array-like of int, shape (n_dirs, 3), optional
        Run directions ``(dz, dy, dx)``; default the 13 volume directions at Chebyshev
        distance 1. ``chebyshev_offsets(1, in_slice=True)`` gives the 4 in-slice ones.
    per_slice : bool
        Split counts by the slice of each run's first voxel.
    max_run : int, optional
        Number of run-length columns ``N_r``; default the longest run found (at least 1).

    Returns
    -------
    ndarray of int64
        Shape ``(n_dirs, N_g, N_r)`` or ``(n_z, n_dirs, N_g, N_r)``; entry ``[d, i-1, j-1]``
        counts runs of grey level i and length j along direction d.
    """
    lv = as_levels(levels)
    check_levels(lv, n_levels)
    dirs = chebyshev_offsets(1) if directions is None else np.asarray(directions, np.int64).reshape(-1, 3)
    if not dirs.any(axis=1).all():
        raise ValueError("directions must be non-zero offsets")
    counts = None
    if np.abs(dirs).max() <= 1 and not per_slice:
        counts = _glrlm_c(lv, int(n_levels), dirs)  # (N_g, runs, dirs)
    elif np.abs(dirs).max() <= 1 and not dirs[:, 0].any():  # 2D / 2.5D: slice by slice
        from radsig.features.glszm_matrix import _per_slice_c

        counts = _per_slice_c(lambda sl: _glrlm_c(sl, int(n_levels), dirs), lv,
                              (int(n_levels), max(lv.shape[1:]), len(dirs)))
    if counts is not None:
        filled = np.flatnonzero(counts.any(axis=tuple(a for a in range(counts.ndim)
                                                      if a != counts.ndim - 2)))
        longest = int(filled[-1]) + 1 if filled.size else 1  # run lengths that occur
        nr = longest if max_run is None else int(max_run)
        if longest > nr:
            raise ValueError(f"max_run={nr} is shorter than the longest run ({longest})")
        mats = np.moveaxis(counts, -1, -3)[..., :longest]  # (..., dirs, N_g, runs)
        out = np.zeros(mats.shape[:-1] + (nr,), dtype=np.int64)
        out[..., :longest] = mats
        return out
    voxels = _roi_voxels(lv)
    runs = [_runs(*voxels, lv.shape, d) for d in dirs]
    longest = max([1] + [int(r[1].max()) for r in runs if r[1].size])
    nr = longest if max_run is None else int(max_run)
    if longest > nr:
        raise ValueError(f"max_run={nr} is shorter than the longest run ({longest})")
    ng, nz = int(n_levels), lv.shape[0]
    n_out = (nz if per_slice else 1) * ng * nr
    out = np.empty((len(dirs), n_out), dtype=np.int64)
    for d, (g, length, z) in enumerate(runs):
        key = (g - 1) * nr + (length - 1)
        if per_slice:
            key = key + z * (ng * nr)
        out[d] = np.bincount(key, minlength=n_out)
    mats = out.reshape(len(dirs), nz if per_slice else 1, ng, nr)
    if per_slice:
        return np.ascontiguousarray(mats.swapaxes(0, 1))
    return mats[:, 0]


def _glrlm_c(lv: np.ndarray, n_levels: int, dirs: np.ndarray) -> np.ndarray | None:
    """Run counts (N_g, longest possible run, n_dirs) by PyRadiomics mode's C kernel (shared by
    both modes; the same runs, so the same counts as :func:`_runs`), or None without it."""
    from radsig.features.glszm_matrix import _ckernels, _kernel_box

    kernels = _ckernels()
    if kernels is None or not lv.any():
        return None
    box, steps, idx = _kernel_box(lv, 1, dirs)
    steps = np.abs(steps)  # the kernel walks lines with positive flat steps (d ~ -d)
    nr = max(lv.shape)  # no Chebyshev-1 line in the box is longer
    out = np.zeros((n_levels, nr, len(dirs)))
    kernels.glrlm(box.reshape(-1), idx, steps, n_levels, nr, out)
    return out.astype(np.int64)
