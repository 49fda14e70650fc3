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


class Context:
    """One discretised ROI, zero-padded and flattened once, with neighbour look-ups cached.

    GLCM, GLRLM, GLDM and NGTDM of the same image share it: the ROI's flat indices are found
    once and each neighbour offset is gathered once however many matrices use it.
    """

    def __init__(self, q: np.ndarray, pad: int = 1) -> None:
        p = np.pad(q.astype(np.int32, copy=False), max(int(pad), 1))
        self.shape = p.shape
        self.strides = np.array([p.shape[1] * p.shape[2], p.shape[2], 1], dtype=np.int64)
        self.flat = p.ravel()
        self.idx = np.flatnonzero(self.flat)
        self.g = self.flat[self.idx]
        self.nr = int(max(q.shape))
        self._cache: dict[tuple, np.ndarray] = {}

    def neighbours(self, off) -> np.ndarray:
        """Grey levels at ``v + off`` for every ROI voxel ``v`` (0 outside the ROI)."""
        key = tuple(int(v) for v in off)
        if key not in self._cache:
            self._cache[key] = self.flat[self.idx + int(np.dot(key, self.strides))]
        return self._cache[key]


def _context(q, pad):
    return q if isinstance(q, Context) else Context(q, pad)


def glcm(q, ng: int, dirs: np.ndarray) -> np.ndarray:
    """Co-occurrence counts (Ng, Ng, n_dirs), not symmetrised: [i, j, a] = (i at v, j at v+a)."""
    ctx = _context(q, int(np.abs(dirs).max()) if len(dirs) else 1)
    src = ctx.g - 1
    out = np.empty((ng, ng, len(dirs)))
    for a, off in enumerate(dirs):
        nb = ctx.neighbours(off)
        ok = nb > 0
        out[:, :, a] = np.bincount(src[ok] * ng + nb[ok] - 1, minlength=ng * ng).reshape(ng, ng)
    return out


def glrlm(q, ng: int, dirs: np.ndarray) -> np.ndarray:
    """Run-length counts (Ng, Nr, n_dirs) with Nr = max(ROI shape), as PyRadiomics sizes it.

    In the zero-padded volume flattened in C order, a direction is a constant flat step ``s``
    (positive for every direction used), so the strided view ``flat.reshape(-1, s).T`` lays each
    line of the volume along a row, separated by padding zeros: runs are then plain runs of equal
    non-zero values in that row-major sequence.
    """
    ctx = _context(q, 1)
    nr = int(max(q.shape)) if not isinstance(q, Context) else ctx.nr
    flat = ctx.flat
    out = np.zeros((ng, nr, len(dirs)))
    for a, off in enumerate(dirs):
        step = int(off @ ctx.strides)
        n = -(-flat.size // step) * step
        seq = np.zeros(n, dtype=flat.dtype)
        seq[:flat.size] = flat
        seq = seq.reshape(-1, step).T.ravel()
        change = np.flatnonzero(np.diff(seq)) + 1
        starts = np.r_[0, change]
        lengths = np.diff(np.r_[starts, seq.size])
        values = seq[starts]
        keep = values > 0
        out[:, :, a] = np.bincount((values[keep] - 1) * nr + lengths[keep] - 1,
                                   minlength=ng * nr).reshape(ng, nr)
        if not _line_has_two(ctx, off):
            out[:, :, a] = 0  # PyRadiomics drops a direction whose lines hold <= 1 ROI voxel
    return out


def _line_has_two(ctx: Context, off) -> bool:
    """Whether some line along *off* crosses at least two ROI voxels (not necessarily adjacent)."""
    if (ctx.neighbours(off) > 0).any():
        return True
    coords = np.stack(np.unravel_index(ctx.idx, ctx.shape), 1)
    off = np.asarray(off)
    axis = int(np.flatnonzero(off)[0])
    base = coords - (coords[:, axis] * off[axis])[:, None] * off[None, :]
    key = np.ravel_multi_index((base - base.min(0)).T, tuple(base.max(0) - base.min(0) + 1))
    return np.unique(key).size < key.size


def _zone_labels_itk(work: np.ndarray) -> np.ndarray:
    """Zone labels of all grey levels in one pass (SimpleITK scalar connected components)."""
    import SimpleITK as sitk

    f = sitk.ScalarConnectedComponentImageFilter()
    f.SetDistanceThreshold(0.0)
    f.SetFullyConnected(True)
    return sitk.GetArrayFromImage(f.Execute(sitk.GetImageFromArray(work)))


def glszm(q: np.ndarray, ng: int, force2d=False, force2d_dim=0, compact: bool = False):
    """Size-zone counts (Ng, Ns) with Ns = number of ROI voxels; 26- (or in-plane 8-) connected.

    With ``compact``, returns ``(counts, sizes)``: only the zone sizes that occur, as columns
    (what the features use; avoids an Ng × Ns array for large ROIs). Zones are labelled by
    SimpleITK's scalar connected components in one pass for all grey levels (neighbours joined
    when their grey levels are equal; faster than labelling level by level, whose boxes usually
    span the whole ROI). With force2D, zero planes are interleaved along the fixed axis so that
    zones cannot cross slices.
    """
    ns = int(np.count_nonzero(q))
    work = q.astype(np.int32)
    if force2d:
        shape = list(work.shape)
        shape[force2d_dim] = 2 * shape[force2d_dim] - 1
        spread = np.zeros(shape, dtype=np.int32)
        sl = [slice(None)] * 3
        sl[force2d_dim] = slice(None, None, 2)
        spread[tuple(sl)] = work
        work = spread
    labels = _zone_labels_itk(work)
    inside = work > 0
    lab = labels[inside].astype(np.int64)
    sizes = np.bincount(lab)
    level = np.zeros(sizes.size, dtype=np.int64)
    level[lab] = work[inside]
    zones = np.flatnonzero((sizes > 0) & (level > 0))
    if compact:
        present, col = np.unique(sizes[zones], return_inverse=True)
        out = np.bincount((level[zones] - 1) * len(present) + col, minlength=ng * len(present))
        return out.reshape(ng, len(present)).astype(float), present.astype(float)
    out = np.bincount((level[zones] - 1) * ns + sizes[zones] - 1, minlength=ng * ns)
    return out.reshape(ng, ns).astype(float)


def _neighbour_dirs(dirs: np.ndarray) -> np.ndarray:
    return np.concatenate([dirs, -dirs]) if len(dirs) else dirs


def gldm(q, ng: int, dirs: np.ndarray, alpha: int = 0) -> np.ndarray:
    """Dependence counts (Ng, n_neighbours + 1): dependents within ``alpha`` grey levels, + 1."""
    both = _neighbour_dirs(dirs)
    ctx = _context(q, int(np.abs(both).max()) if len(both) else 1)
    g = ctx.g
    dep = np.zeros(len(g), dtype=np.int64)
    for off in both:
        nb = ctx.neighbours(off)
        dep += (nb > 0) & (np.abs(nb - g) <= alpha)
    width = len(both) + 1
    return np.bincount((g - 1) * width + dep, minlength=ng * width).reshape(ng, width).astype(float)


def ngtdm(q, ng: int, dirs: np.ndarray) -> np.ndarray:
    """(Ng, 3): [n_i, s_i, i] over voxels that have at least one ROI neighbour."""
    both = _neighbour_dirs(dirs)
    ctx = _context(q, int(np.abs(both).max()) if len(both) else 1)
    g = ctx.g
    total = np.zeros(len(g))
    count = np.zeros(len(g))
    for off in both:
        nb = ctx.neighbours(off)
        total += nb
        count += nb > 0
    ok = count > 0
    diff = np.abs(g[ok] - total[ok] / count[ok])
    out = np.zeros((ng, 3))
    out[:, 0] = np.bincount(g[ok] - 1, minlength=ng)
    out[:, 1] = np.bincount(g[ok] - 1, weights=diff, minlength=ng)
    out[:, 2] = np.arange(1, ng + 1)
    return out
