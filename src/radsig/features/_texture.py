"""Shared helpers of the texture matrix builders: neighbour offsets, shifting, cropping.

All arrays are indexed ``(z, y, x)``; grey levels are ``1..n_levels`` inside the ROI and 0
outside it (the convention of :class:`radsig.preprocess.roi.PreparedRoi`). Slices lie along z,
so "in-slice" (2D) offsets have ``dz == 0``.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from radsig.exceptions import FeatureWarning


def chebyshev_offsets(distances=1, *, in_slice: bool = False, half: bool = True) -> np.ndarray:
    """Integer neighbour offsets ``(dz, dy, dx)`` whose Chebyshev norm is in ``distances``.

    Parameters
    ----------
    distances : int or sequence of int
        Chebyshev distance(s) δ. IBSI uses δ = 1; PyRadiomics' ``distances`` setting is a list.
    in_slice : bool
        Only offsets with ``dz == 0`` (2D, in-slice directions).
    half : bool
        Keep one of each ``±o`` pair: the one whose first non-zero component is positive
        (the 4 in-slice / 13 volume directions of IBSI for δ = 1). ``False`` gives the full
        neighbourhood (8 / 26 for δ = 1).

    Returns
    -------
    ndarray of int64, shape (n_offsets, 3)
        Offsets in lexicographic ``(dz, dy, dx)`` order. For δ = 1, PyRadiomics' 13 angles
        are this list reversed (checked against its baseline matrices in
        ``tests/features/test_texture_matrices.py``).
    """
    dset = {int(d) for d in np.atleast_1d(distances)}
    if not dset or min(dset) < 1:
        raise ValueError(f"distances must be positive integers, got {sorted(dset)}")
    m = max(dset)
    rng = range(-m, m + 1)
    out = []
    for o in itertools.product([0] if in_slice else rng, rng, rng):
        if max(abs(c) for c in o) not in dset:
            continue
        if half and next(c for c in o if c != 0) < 0:
            continue
        out.append(o)
    return np.asarray(out, dtype=np.int64).reshape(-1, 3)


def neighbourhood_offsets(distance: int = 1, *, in_slice: bool = False) -> np.ndarray:
    """All offsets with ``0 < Chebyshev norm <= distance`` (the NGTDM/NGLDM neighbourhood).

    Returns ndarray of int64, shape (n, 3): 8 (2D) or 26 (3D) offsets for ``distance=1``.
    """
    return chebyshev_offsets(range(1, int(distance) + 1), in_slice=in_slice, half=False)


def pad_zero(arr: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, int]:
    """Zero-pad ``arr`` on every side by the largest offset component; returns (padded, pad)."""
    pad = int(np.abs(offsets).max()) if len(offsets) else 0
    return np.pad(arr, pad, mode="constant", constant_values=0), pad


def shifted(padded: np.ndarray, pad: int, offset, shape) -> np.ndarray:
    """View of ``padded`` such that ``view[p] == original[p + offset]`` (0 beyond the edge)."""
    return padded[tuple(slice(pad + o, pad + o + n) for o, n in zip(offset, shape, strict=False))]


def crop_to_roi(levels: np.ndarray, *others: np.ndarray):
    """Crop ``levels`` (and same-shaped ``others``) to the bounding box of ``levels > 0``.

    Returns a tuple ``(levels_cropped, *others_cropped)``; an empty ROI gives empty arrays.
    """
    nz = np.nonzero(levels > 0)
    if nz[0].size == 0:
        sl = tuple(slice(0, 0) for _ in range(levels.ndim))
    else:
        sl = tuple(slice(int(i.min()), int(i.max()) + 1) for i in nz)
    return (levels[sl], *(o[sl] for o in others))


def as_levels(levels: np.ndarray) -> np.ndarray:
    """Return ``levels`` as a 3D int64 array (a 2D array becomes one slice)."""
    arr = np.asarray(levels)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"levels must be a 2D or 3D array, got shape {arr.shape}")
    return arr.astype(np.int64, copy=False)


def check_levels(levels: np.ndarray, n_levels: int) -> None:
    """Raise ValueError when a grey level lies outside ``0..n_levels``."""
    if levels.size and (levels.min() < 0 or levels.max() > n_levels):
        raise ValueError(
            f"grey levels must lie in 0..n_levels={n_levels}, "
            f"found {int(levels.min())}..{int(levels.max())}")


def nan_result(family: str, names, reason: str) -> dict[str, float]:
    """All-NaN feature dict plus a FeatureWarning saying why ``family`` was not computed."""
    warnings.warn(f"{family} features not computed: {reason}", FeatureWarning, stacklevel=3)
    return {n: float("nan") for n in names}


def safe_div(a, b):
    """Element-wise ``a / b`` with NaN where ``b == 0`` (no warnings)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out


def count_matrix(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int,
                 slices: np.ndarray | None = None, n_slices: int = 1) -> np.ndarray:
    """Counts of (row, col) index pairs (0-based) as a dense matrix via one ``np.bincount``.

    Returns shape ``(n_rows, n_cols)``, or ``(n_slices, n_rows, n_cols)`` when ``slices``
    (0-based slice index of each item) is given.
    """
    key = np.asarray(rows, np.int64) * n_cols + np.asarray(cols, np.int64)
    if slices is None:
        return np.bincount(key, minlength=n_rows * n_cols).reshape(n_rows, n_cols)
    key = key + np.asarray(slices, np.int64) * (n_rows * n_cols)
    size = n_slices * n_rows * n_cols
    return np.bincount(key, minlength=size).reshape(n_slices, n_rows, n_cols)


def roi_cached(roi, key: tuple, build):
    """Value of ``build()`` cached in ``roi.extra`` for the current ``roi.levels`` array.

    Lets families share work on one PreparedRoi (GLSZM and GLDZM use the same zones). The
    entry is tied to the identity of ``roi.levels``, so replacing that array invalidates it.
    """
    extra = getattr(roi, "extra", None)
    if not isinstance(extra, dict):
        return build()
    cache = extra.setdefault("_texture_cache", {})
    hit = cache.get(key)
    if hit is not None and hit[0] is roi.levels and hit[1] is roi.morph_mask:
        return hit[2]
    value = build()
    cache[key] = (roi.levels, roi.morph_mask, value)
    return value
