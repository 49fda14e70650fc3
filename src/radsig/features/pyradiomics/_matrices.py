"""Discretisation and texture matrices with PyRadiomics' conventions, vectorised with NumPy.

Arrays are (z, y, x); ``q`` holds grey levels ``1..Ng`` inside the ROI and 0 outside. Directions
follow PyRadiomics' angle generation: every offset of Chebyshev length ``d`` (for each requested
distance) whose first non-zero component is positive, in descending lexicographic order, limited
to the ROI's extent, and, with force2D, lying in the plane normal to ``force2Ddimension``. Each
matrix is built with ``np.bincount`` over flat indices of a zero-padded copy, so no Python loop
runs over voxels. These are written here (rather than taken from the IBSI builders) because the
PyRadiomics direction order, its per-angle layout and its ``Nr = max(shape)`` run axis are needed
to reproduce PyRadiomics' matrices exactly.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["bin_edges", "discretize", "angles", "glcm", "glrlm", "glszm", "gldm", "ngtdm"]


def bin_edges(values: np.ndarray, bin_width: float = 25, bin_count: int | None = None):
    """PyRadiomics' bin edges: multiples of the bin width from 0, or ``binCount`` equal bins."""
    if bin_count is not None:
        edges = np.histogram(values, bin_count)[1]
        edges[-1] += 1  # the maximum falls in the last bin under np.digitize
        return edges
    lo, hi = values.min(), values.max()
    low = lo - (lo % bin_width)
    edges = np.arange(low, hi + 2 * bin_width, bin_width)
    if len(edges) == 1:  # flat region: one bin around the single value
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    return edges


def discretize(image: np.ndarray, mask: np.ndarray, bin_width=25, bin_count=None):
    """Grey levels (int64, 0 outside *mask*) and the edges used."""
    values = image[mask]
    edges = bin_edges(values, bin_width, bin_count)
    q = np.zeros(image.shape, dtype=np.int64)
    q[mask] = np.digitize(values, edges)
    return q, edges


def angles(shape, distances=(1,), force2d: bool = False, force2d_dim: int = 0) -> np.ndarray:
    """PyRadiomics' directions (n, 3) in (z, y, x) for an ROI of *shape* (one per ± pair)."""
    shape = np.asarray(shape)
    out = []
    for d in sorted(set(int(v) for v in distances)):
        rng = [np.arange(min(d, s - 1), -min(d, s - 1) - 1, -1) for s in shape]
        grid = np.stack(np.meshgrid(*rng, indexing="ij"), -1).reshape(-1, 3)
        grid = grid[np.abs(grid).max(1) == d]
        first = grid[np.arange(len(grid)), (grid != 0).argmax(1)]
        grid = grid[first > 0]
        if force2d:
            grid = grid[grid[:, force2d_dim] == 0]
        out.extend(map(tuple, grid))
    seen, uniq = set(), []
    for a in out:
        if a not in seen:
            seen.add(a)
            uniq.append(a)
    return np.array(uniq, dtype=np.int64).reshape(-1, 3)


def _padded(q: np.ndarray, pad: int):
    p = np.pad(q, pad)
    strides = np.array([p.shape[1] * p.shape[2], p.shape[2], 1], dtype=np.int64)
    flat = p.ravel()
    inside = np.flatnonzero(flat)
    return flat, inside, strides


def glcm(q: np.ndarray, ng: int, dirs: np.ndarray) -> np.ndarray:
    """Co-occurrence counts (Ng, Ng, n_dirs), not symmetrised: [i, j, a] = (i at v, j at v+a)."""
    pad = int(np.abs(dirs).max()) if len(dirs) else 1
    flat, idx, strides = _padded(q, pad)
    src = flat[idx] - 1
    out = np.empty((ng, ng, len(dirs)))
    for a, off in enumerate(dirs):
        nb = flat[idx + int(off @ strides)]
        ok = nb > 0
        out[:, :, a] = np.bincount(src[ok] * ng + nb[ok] - 1, minlength=ng * ng).reshape(ng, ng)
    return out


def glrlm(q: np.ndarray, ng: int, dirs: np.ndarray) -> np.ndarray:
    """Run-length counts (Ng, Nr, n_dirs) with Nr = max(q.shape), as PyRadiomics sizes it."""
    nr = int(max(q.shape))
    flat, idx, strides = _padded(q, 1)
    coords = np.stack(np.unravel_index(idx, tuple(s + 2 for s in q.shape)), 1)
    out = np.zeros((ng, nr, len(dirs)))
    for a, off in enumerate(dirs):
        step = int(off @ strides)
        g = flat[idx]
        starts = flat[idx - step] != g
        ends = flat[idx + step] != g
        axis = int(np.flatnonzero(off)[0])
        t = coords[:, axis] * off[axis]  # position along the direction
        base = coords - t[:, None] * off[None, :]
        key = np.ravel_multi_index((base + nr + 2).T, (3 * nr + 6,) * 3)
        s_ord = np.lexsort((t[starts], key[starts]))
        e_ord = np.lexsort((t[ends], key[ends]))
        length = t[ends][e_ord] - t[starts][s_ord] + 1
        lev = g[starts][s_ord] - 1
        out[:, :, a] = np.bincount(lev * nr + length - 1, minlength=ng * nr).reshape(ng, nr)
    return out


def _structure(force2d: bool, force2d_dim: int) -> np.ndarray:
    st = np.ones((3, 3, 3), dtype=bool)
    if force2d:
        sl = [slice(None)] * 3
        sl[force2d_dim] = [0, 2]
        st[tuple(sl)] = False
    return st


def glszm(q: np.ndarray, ng: int, force2d=False, force2d_dim=0) -> np.ndarray:
    """Size-zone counts (Ng, Ns) with Ns = number of ROI voxels; 26- (or in-plane 8-) connected."""
    ns = int(np.count_nonzero(q))
    st = _structure(force2d, force2d_dim)
    out = np.zeros((ng, ns))
    objects = ndimage.find_objects(q)
    for lev, box in enumerate(objects, start=1):
        if box is None:
            continue
        labels, n = ndimage.label(q[box] == lev, structure=st)
        if n == 0:
            continue
        sizes = np.bincount(labels.ravel())[1:]
        out[lev - 1] = np.bincount(sizes - 1, minlength=ns)[:ns]
    return out


def _neighbour_dirs(dirs: np.ndarray) -> np.ndarray:
    return np.concatenate([dirs, -dirs]) if len(dirs) else dirs


def gldm(q: np.ndarray, ng: int, dirs: np.ndarray, alpha: int = 0) -> np.ndarray:
    """Dependence counts (Ng, n_neighbours + 1): dependents within ``alpha`` grey levels, + 1."""
    both = _neighbour_dirs(dirs)
    pad = int(np.abs(both).max()) if len(both) else 1
    flat, idx, strides = _padded(q, pad)
    g = flat[idx]
    dep = np.zeros(len(idx), dtype=np.int64)
    for off in both:
        nb = flat[idx + int(off @ strides)]
        dep += (nb > 0) & (np.abs(nb - g) <= alpha)
    width = len(both) + 1
    return np.bincount((g - 1) * width + dep, minlength=ng * width).reshape(ng, width).astype(float)


def ngtdm(q: np.ndarray, ng: int, dirs: np.ndarray) -> np.ndarray:
    """(Ng, 3): [n_i, s_i, i] over voxels that have at least one ROI neighbour."""
    both = _neighbour_dirs(dirs)
    pad = int(np.abs(both).max()) if len(both) else 1
    flat, idx, strides = _padded(q, pad)
    g = flat[idx]
    total = np.zeros(len(idx))
    count = np.zeros(len(idx))
    for off in both:
        nb = flat[idx + int(off @ strides)]
        total += nb
        count += nb > 0
    ok = count > 0
    diff = np.abs(g[ok] - total[ok] / count[ok])
    out = np.zeros((ng, 3))
    out[:, 0] = np.bincount(g[ok] - 1, minlength=ng)
    out[:, 1] = np.bincount(g[ok] - 1, weights=diff, minlength=ng)
    out[:, 2] = np.arange(1, ng + 1)
    return out
