"""Discretisation and texture matrices with PyRadiomics' conventions, vectorised with NumPy.

Arrays are (z, y, x); ``q`` holds grey levels ``1..Ng`` inside the ROI and 0 outside. Directions
follow PyRadiomics' angle generation: every offset of Chebyshev length ``d`` (for each requested
distance) whose first non-zero component is positive, in descending lexicographic order, limited
to the ROI's extent, and, with force2D, lying in the plane normal to ``force2Ddimension``.

Each matrix is a few ``np.bincount`` calls over the voxel pairs or lines of the ROI's shared
neighbour structure (:mod:`radsig.features.pyradiomics._neighbourhood`), and GLSZM zones come
from a vectorised union-find (:func:`connected_roots`), so no Python loop runs over voxels. These
are written here (rather than taken from the IBSI builders) because the PyRadiomics direction
order, its per-angle layout and its ``Nr = max(shape)`` run axis are needed to reproduce
PyRadiomics' matrices exactly.

Where the optional C extension ``_ckernels`` was built (``setup.py``), GLCM, GLRLM, GLSZM, GLDM
and NGTDM are counted by it instead: one loop over the ROI voxels per matrix, with the GIL
released, giving the same matrices bit for bit (the tests compare both paths). Setting
``RADSIG_NO_CKERNELS=1`` before the import uses the NumPy path only.
"""

from __future__ import annotations

import os

import numpy as np

from radsig.features.pyradiomics._neighbourhood import Context, _count, _dir_key

_C = None
if not os.environ.get("RADSIG_NO_CKERNELS"):
    try:
        from radsig.features.pyradiomics import _ckernels as _C
    except ImportError:  # not compiled here: the NumPy path below is used
        _C = None

__all__ = ["bin_edges", "discretize", "angles", "glcm", "glrlm", "glszm", "gldm", "ngtdm"]


def bin_edges(values: np.ndarray, bin_width: float = 25, bin_count: int | None = None):
    """PyRadiomics' bin edges: multiples of the bin width from 0, or ``binCount`` equal bins."""
    if bin_count is not None:
        edges = np.histogram(values, bin_count)[1]
        edges[-1] += 1  # the maximum falls in the last bin under np.digitize
        return edges
    lo, hi = values.min(), values.max()
    low = lo - (lo % bin_width)
    if not (hi - low) / bin_width < 65536:  # a bin width typed in the wrong unit: no 1e11 bins
        from radsig.exceptions import ConfigError

        raise ConfigError(f"binWidth {bin_width:g} gives {(hi - low) / bin_width:.3g} bins over the "
                          f"intensities {lo:g} to {hi:g} (at most 65536); use a larger binWidth")
    edges = np.arange(low, hi + 2 * bin_width, bin_width)
    if len(edges) == 1:  # flat region: one bin around the single value
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    return edges


def discretize(image: np.ndarray, mask: np.ndarray, bin_width=25, bin_count=None, *,
               values: np.ndarray | None = None, levels_out: list | None = None):
    """Grey levels (int64, 0 outside *mask*) and the edges used.

    *values*: ``image[mask]`` if the caller has it; *levels_out*: a list that receives the ROI's
    grey levels (``q[mask]``) without a second pass over the box.
    """
    if values is None:
        values = image[mask]
    edges = bin_edges(values, bin_width, bin_count)
    q = np.zeros(image.shape, dtype=np.int64)
    g = np.digitize(values, edges)
    q[mask] = g
    if levels_out is not None:
        levels_out.append(g.astype(np.int64, copy=False))
    return q, edges


def angles(shape, distances=(1,), force2d: bool = False, force2d_dim: int = 0) -> np.ndarray:
    """PyRadiomics' directions (n, 3) in (z, y, x) for an ROI of *shape* (one per ± pair)."""
    key = (tuple(int(v) for v in shape), tuple(sorted(set(int(v) for v in distances))),
           bool(force2d), int(force2d_dim) if force2d else 0)
    out = _ANGLES.get(key)
    if out is None:
        out = _ANGLES.setdefault(key, _angles(*key))
        out.flags.writeable = False  # shared between callers
    return out


_ANGLES: dict[tuple, np.ndarray] = {}


def _angles(shape, distances, force2d, force2d_dim) -> np.ndarray:
    shape = np.asarray(shape)
    out = []
    for d in distances:
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


def _context(q, pad):
    return q if isinstance(q, Context) else Context(q, pad)


def _pad_of(dirs) -> int:
    return int(np.abs(dirs).max()) if len(dirs) else 1


def _kernel_args(ctx: Context, dirs) -> tuple:
    """(padded levels, ROI positions, flat steps) for the C kernels; the padding must cover
    every offset (the kernels check positions, not wrap-around between rows)."""
    if len(dirs) and _pad_of(dirs) > ctx.nb.pad:
        raise ValueError(f"offsets up to {_pad_of(dirs)} exceed the padding {ctx.nb.pad}")
    steps = np.ascontiguousarray(np.asarray(dirs, dtype=np.int64).reshape(-1, 3) @ ctx.nb.strides)
    return ctx.box().reshape(-1), ctx.nb.idx, steps


def glcm(q, ng: int, dirs: np.ndarray) -> np.ndarray:
    """Co-occurrence counts (Ng, Ng, n_dirs), not symmetrised: [i, j, a] = (i at v, j at v+a)."""
    ctx = _context(q, _pad_of(dirs))
    nd = len(dirs)
    if nd == 0:
        return np.zeros((ng, ng, 0))
    if _C is not None:
        out = np.zeros((ng, ng, nd))
        _C.glcm(*_kernel_args(ctx, dirs), ng, out)
        return out
    _, _, bounds, _, gs, gd = ctx.pair_levels(dirs)
    out = np.empty((ng, ng, nd))
    for a in range(nd):  # one direction at a time: temporaries stay ROI-sized
        lo, hi = bounds[a], bounds[a + 1]
        key = gs[lo:hi].astype(np.intp)
        key -= 1
        key *= ng
        key += gd[lo:hi]
        key -= 1
        out[:, :, a] = np.bincount(key, minlength=ng * ng).reshape(ng, ng)
    return out


def glrlm(q, ng: int, dirs: np.ndarray) -> np.ndarray:
    """Run-length counts (Ng, Nr, n_dirs) with Nr = max(ROI shape), as PyRadiomics sizes it.

    Each direction's ROI voxels are listed line by line (:meth:`~radsig.features.pyradiomics._neighbourhood.Neighbourhood.runs`, shared by
    all images of a case); a run breaks where the next voxel is not the line's next voxel or
    its grey level differs. PyRadiomics drops a direction whose lines hold <= 1 ROI voxel.
    """
    ctx = _context(q, 1)
    nr, nd = ctx.nr, len(dirs)
    if nd == 0:
        return np.zeros((ng, nr, 0))
    if _C is not None:
        out = np.zeros((ng, nr, nd))
        _C.glrlm(*_kernel_args(ctx, dirs), ng, nr, out)
        out[:, :, ~ctx.nb.line_has_two(dirs)] = 0
        return out
    order, link, bounds, has_two = ctx.nb.runs(dirs)
    out = np.zeros((ng, nr, nd))
    for a in range(nd):  # one direction at a time: temporaries stay ROI-sized
        if not has_two[a]:
            continue
        lo, hi = bounds[a], bounds[a + 1]
        gs = ctx.gs[order[lo:hi]]
        brk = ~link[lo:hi]
        brk[1:] |= gs[1:] != gs[:-1]
        starts = np.flatnonzero(brk)
        lengths = np.diff(starts, append=gs.size)
        key = gs[starts].astype(np.intp)
        key -= 1
        key *= nr
        key += lengths
        key -= 1
        out[:, :, a] = np.bincount(key, minlength=ng * nr).reshape(ng, nr)
    return out


def _zone_labels_itk(work: np.ndarray) -> np.ndarray:
    """Zone labels of all grey levels in one pass (SimpleITK scalar connected components).

    Reference for the tests; :func:`glszm` labels zones with :func:`connected_roots`.
    """
    import SimpleITK as sitk

    f = sitk.ScalarConnectedComponentImageFilter()
    f.SetDistanceThreshold(0.0)
    f.SetFullyConnected(True)
    return sitk.GetArrayFromImage(f.Execute(sitk.GetImageFromArray(work)))


def connected_roots(n: int, a: np.ndarray, b: np.ndarray, ordered: bool = False) -> np.ndarray:
    """Connected components of the graph on ``0..n-1`` with edges ``(a[k], b[k])``: for each node,
    the smallest node of its component.

    Vectorised union-find (hook and compress): every round hooks the larger root of each edge
    whose ends lie in different trees under the smaller root, then compresses all paths; trees
    at least halve in number per round, so a few rounds over the edge arrays suffice. Written
    with NumPy because SimpleITK's connected components work on whole (padded) boxes (~20 ms per
    image here) and ``scipy.sparse.csgraph`` costs far more to import than this takes.
    ``ordered`` promises ``a < b`` for every edge (saves two temporaries on large ROIs).
    """
    parent = np.arange(n, dtype=np.int32 if n < 2 ** 31 else np.int64)
    a = np.asarray(a)
    b = np.asarray(b)
    if a.size:  # first round: every node is its own root
        if ordered:
            parent[b] = a
        else:
            parent[np.maximum(a, b)] = np.minimum(a, b)
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
    chunk = 1 << 20
    while a.size:
        if a.size > chunk:  # which edges still join two trees, found in bounded memory
            diff = np.concatenate([parent[a[k:k + chunk]] != parent[b[k:k + chunk]]
                                   for k in range(0, a.size, chunk)])
            a, b = a[diff], b[diff]
            ra, rb = parent[a], parent[b]
        else:
            ra, rb = parent[a], parent[b]
            diff = ra != rb
            if not diff.all():
                a, b, ra, rb = a[diff], b[diff], ra[diff], rb[diff]
        if not a.size:
            break
        lo = np.minimum(ra, rb)
        hi = np.maximum(ra, rb)
        parent[hi] = lo  # any of the candidates wins; each is a smaller root: no cycle
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
    # Roots are the smallest node of their tree: hooks always point to smaller numbers, and a
    # tree's smallest node was never hooked.
    return parent


def glszm(q, ng: int, force2d=False, force2d_dim=0, compact: bool = False):
    """Size-zone counts (Ng, Ns) with Ns = number of ROI voxels; 26- (or in-plane 8-) connected.

    With ``compact``, returns ``(counts, sizes)``: only the zone sizes that occur, as columns
    (what the features use; avoids an Ng × Ns array for large ROIs). Zones are the connected
    components of the graph whose edges are the neighbouring ROI voxel pairs (the 13 offsets of
    Chebyshev distance 1, or the 4 in-plane ones with force2D) with equal grey levels; the pairs
    are shared with GLCM, GLDM and NGTDM.
    """
    ctx = _context(q, 1)
    dirs = angles(ctx.shape, [1], force2d, force2d_dim)
    n = ctx.nb.n
    if _C is not None:
        level = np.empty(n, dtype=np.int32)
        sizes = np.empty(n, dtype=np.int64)
        nz = _C.zones(*_kernel_args(ctx, dirs), level, sizes)
        level, sizes = level[:nz].astype(np.int64), sizes[:nz]
    else:
        if len(dirs):
            # ordered: PyRadiomics' directions are positive flat steps, so dst > src
            roots = connected_roots(n, *ctx.equal_pairs(dirs), ordered=True)
        else:
            roots = np.arange(n)
        sizes = np.bincount(roots, minlength=n)
        zones = np.flatnonzero(sizes)
        level = ctx.g[zones]
        sizes = sizes[zones]
    if compact:
        present = np.flatnonzero(np.bincount(sizes))  # the zone sizes that occur, ascending
        col = np.zeros(int(present[-1]) + 1, dtype=np.int64)
        col[present] = np.arange(len(present))
        col = col[sizes]
        out = np.bincount((level - 1) * len(present) + col, minlength=ng * len(present))
        return out.reshape(ng, len(present)).astype(float), present.astype(float)
    out = np.bincount((level - 1) * n + sizes - 1, minlength=ng * n)
    return out.reshape(ng, n).astype(float)


def gldm(q, ng: int, dirs: np.ndarray, alpha: int = 0) -> np.ndarray:
    """Dependence counts (Ng, n_neighbours + 1): dependents within ``alpha`` grey levels, + 1.

    The neighbours are ``v ± d`` for d in *dirs*: a dependent pair counts for both its voxels.
    """
    ctx = _context(q, _pad_of(dirs))
    g, n = ctx.g, ctx.nb.n
    width = 2 * len(dirs) + 1
    if _C is not None:
        out = np.zeros((ng, width))
        _C.gldm(*_kernel_args(ctx, dirs), int(alpha), width, out)
        return out
    if len(dirs):
        if alpha == 0:
            a, b = ctx.equal_pairs(dirs)
        else:
            src, dst, _, _, gs, gd = ctx.pair_levels(dirs)
            ok = np.abs(gs.astype(np.int64) - gd) <= alpha
            a, b = src[ok], dst[ok]
        dep = _count(a, n) + _count(b, n)
    else:
        dep = np.zeros(n, dtype=np.int64)
    return np.bincount((g - 1) * width + dep, minlength=ng * width).reshape(ng, width).astype(float)


def ngtdm(q, ng: int, dirs: np.ndarray) -> np.ndarray:
    """(Ng, 3): [n_i, s_i, i] over voxels that have at least one ROI neighbour (``v ± d``)."""
    ctx = _context(q, _pad_of(dirs))
    g, n = ctx.g, ctx.nb.n
    out = np.zeros((ng, 3))
    out[:, 2] = np.arange(1, ng + 1)
    if not len(dirs):
        return out
    if _C is not None:
        _C.ngtdm(*_kernel_args(ctx, dirs), out)
        return out
    if _dir_key(dirs) == _dir_key(angles(ctx.shape, [1])):
        # all 26 neighbours: the 3×3×3 box sum of the zero-padded levels minus the centre
        # (integer sums, so exactly the per-pair sums)
        b = ctx.box()
        b = b[:-2] + b[1:-1] + b[2:]
        b = b[:, :-2] + b[:, 1:-1] + b[:, 2:]
        b = b[:, :, :-2] + b[:, :, 1:-1] + b[:, :, 2:]
        b = np.pad(b, 1).ravel()
        total = (b[ctx.nb.idx] - g).astype(float)
    else:
        src, dst, _, _, gs, gd = ctx.pair_levels(dirs)
        total = (np.bincount(src, weights=gd.astype(float), minlength=n)
                 + np.bincount(dst, weights=gs.astype(float), minlength=n))
    count = ctx.nb.neighbour_count(dirs)
    ok = count > 0
    diff = np.abs(g[ok] - total[ok] / count[ok])
    out[:, 0] = np.bincount(g[ok] - 1, minlength=ng)
    out[:, 1] = np.bincount(g[ok] - 1, weights=diff, minlength=ng)
    return out
