"""Discretisation and texture matrices with PyRadiomics' conventions, vectorised with NumPy.

Arrays are (z, y, x); ``q`` holds grey levels ``1..Ng`` inside the ROI and 0 outside. Directions
follow PyRadiomics' angle generation: every offset of Chebyshev length ``d`` (for each requested
distance) whose first non-zero component is positive, in descending lexicographic order, limited
to the ROI's extent, and, with force2D, lying in the plane normal to ``force2Ddimension``.

The ROI's neighbour structure (:class:`Neighbourhood`: voxel pairs per offset, voxel order along
the lines of each direction) depends on the mask only, so one instance serves every derived image
of a case; a :class:`Context` adds one image's grey levels. Each matrix is then a few
``np.bincount`` calls over those pairs or lines, and GLSZM zones come from a vectorised
union-find (:func:`connected_roots`), so no Python loop runs over voxels. These are written here (rather than taken from the IBSI builders) because the
PyRadiomics direction order, its per-angle layout and its ``Nr = max(shape)`` run axis are needed
to reproduce PyRadiomics' matrices exactly.
"""

from __future__ import annotations

import threading

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


def _count(idx: np.ndarray, n: int, chunk: int = 1 << 20) -> np.ndarray:
    """``np.bincount(idx, minlength=n)`` in chunks: bincount converts its input to intp, so a
    long int32 array would otherwise be copied at twice its size."""
    if idx.size <= chunk:
        return np.bincount(idx, minlength=n)
    out = np.zeros(n, dtype=np.int64)
    for lo in range(0, idx.size, chunk):
        out += np.bincount(idx[lo:lo + chunk], minlength=n)
    return out


def _dir_key(dirs) -> tuple:
    """Hashable cache key of a sequence of offsets."""
    return tuple(tuple(int(v) for v in d) for d in dirs)


class Neighbourhood:
    """Image-independent neighbour structure of one ROI (boolean box mask), built once per case.

    Every derived image of a case shares the ROI, so which ROI voxel neighbours which, along each
    offset, is found once; per image only the grey levels of those voxel pairs are looked up.
    ROI voxels are numbered in C order (the order of ``image[mask]``). Written by hand (NumPy
    index arithmetic) because no SciPy/SimpleITK routine exposes these pair lists, and SciPy's
    graph module costs ~0.1–1 s to import.
    """

    def __init__(self, mask: np.ndarray, pad: int = 1) -> None:
        self.pad = max(int(pad), 1)
        p = np.pad(np.asarray(mask, dtype=bool), self.pad)
        self.shape = p.shape
        self.box_shape = tuple(mask.shape)
        self.strides = np.array([p.shape[1] * p.shape[2], p.shape[2], 1], dtype=np.int64)
        self.idx = np.flatnonzero(p)
        self.n = int(self.idx.size)
        self.index = np.full(p.size, -1, dtype=np.int32)  # ROI number of each padded voxel
        self.index[self.idx] = np.arange(self.n, dtype=np.int32)
        self.nr = int(max(mask.shape))
        self._lock = threading.RLock()  # a build may ask for another part
        self._sets: dict[tuple, tuple] = {}
        self._runs: dict[tuple, tuple] = {}

    def pairs(self, off) -> tuple[np.ndarray, np.ndarray]:
        """ROI numbers (src, dst) of every pair with ``dst = src + off``, both in the ROI (one
        offset; :meth:`pair_set` builds and keeps the lists the matrices use)."""
        key = tuple(int(v) for v in off)
        if max(abs(v) for v in key) > self.pad:
            raise ValueError(f"offset {key} exceeds the padding {self.pad}")
        nb = self.index[self.idx + int(np.dot(key, self.strides))]
        src = np.flatnonzero(nb >= 0).astype(np.int32)
        return src, nb[src]

    def pair_set(self, dirs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """All pairs of the offsets *dirs*, concatenated: (src, dst, bounds, counts); direction
        ``a``'s pairs are ``bounds[a]:bounds[a + 1]``, ``counts[a]`` of them."""
        return self._memo(self._sets, _dir_key(dirs), self._build_pairs)

    def _memo(self, store: dict, key, build):
        """``store[key]``, built once by ``build(key)`` even when two threads ask at once."""
        out = store.get(key)
        if out is None:
            with self._lock:
                out = store.get(key)
                if out is None:
                    out = store[key] = build(key)
        return out

    def _build_pairs(self, key):
        # counted first, then written into arrays of the final size (no concatenation copy)
        steps = [int(np.dot(d, self.strides)) for d in key]
        if any(max(abs(v) for v in d) > self.pad for d in key):
            raise ValueError(f"offsets {key} exceed the padding {self.pad}")
        counts = np.array([np.count_nonzero(self.index[self.idx + st] >= 0) for st in steps],
                          dtype=np.int64)
        bounds = np.r_[0, np.cumsum(counts)].astype(np.int64)
        src = np.empty(int(bounds[-1]), dtype=np.int32)
        dst = np.empty(int(bounds[-1]), dtype=np.int32)
        for a, st in enumerate(steps):
            nb = self.index[self.idx + st]
            hit = np.flatnonzero(nb >= 0)
            src[bounds[a]:bounds[a + 1]] = hit
            dst[bounds[a]:bounds[a + 1]] = nb[hit]
        return src, dst, bounds, counts

    def neighbour_count(self, dirs) -> np.ndarray:
        """Per ROI voxel, how many of ``v ± d`` (d in *dirs*) lie in the ROI."""
        return self._memo(self._sets, ("count",) + _dir_key(dirs), self._build_count)

    def _build_count(self, key):
        src, dst, _, _ = self.pair_set(key[1:])  # re-enters the memo's lock (an RLock)
        return _count(src, self.n) + _count(dst, self.n)

    def runs(self, dirs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Line order of the ROI voxels for each direction, concatenated.

        Returns ``(order, link, bounds, has_two)``: ``order`` lists the ROI numbers line by line
        along each direction in turn (direction ``a`` at ``bounds[a]:bounds[a + 1]``);
        ``link[k]`` says ``order[k]`` directly follows ``order[k - 1]`` on its line
        (``order[k - 1] + d``); ``has_two[a]``: some line along direction *a* crosses two ROI voxels.
        In the zero-padded volume flattened in C order a direction is a constant flat step ``s``
        (positive for PyRadiomics' directions), so the strided view ``reshape(-1, s).T`` lays
        each line along a row, lines separated by padding.
        """
        return self._memo(self._runs, _dir_key(dirs), self._build_runs)

    def _build_runs(self, key):
        # every ROI voxel appears once per direction: the output sizes are known up front
        size = self.index.size
        order = np.empty(len(key) * self.n, dtype=np.int32)
        link = np.zeros(len(key) * self.n, dtype=bool)
        has_two = []
        for a, off in enumerate(key):
            step = int(np.dot(off, self.strides))
            n = -(-size // step) * step
            seq = np.full(n, -1, dtype=np.int32)
            seq[:size] = self.index
            seq = seq.reshape(-1, step).T.ravel()
            pos = np.flatnonzero(seq >= 0)
            lo = a * self.n
            order[lo:lo + self.n] = seq[pos]
            del seq
            link[lo + 1:lo + self.n] = pos[1:] == pos[:-1] + 1
            has_two.append(bool(link[lo:lo + self.n].any()) or self._line_has_two(off))
        bounds = np.arange(len(key) + 1, dtype=np.int64) * self.n
        return order, link, bounds, np.array(has_two, dtype=bool)

    def _line_has_two(self, off) -> bool:
        """Whether some line along *off* crosses two ROI voxels (not necessarily adjacent)."""
        coords = np.stack(np.unravel_index(self.idx, self.shape), 1)
        off = np.asarray(off)
        axis = int(np.flatnonzero(off)[0])
        base = coords - (coords[:, axis] * off[axis])[:, None] * off[None, :]
        key = np.ravel_multi_index((base - base.min(0)).T, tuple(base.max(0) - base.min(0) + 1))
        return np.unique(key).size < key.size


def shared_neighbourhood(hood: dict, mask: np.ndarray, distances) -> Neighbourhood:
    """The ROI's neighbourhood for the largest of *distances*, kept in ``hood`` ({pad: ...}) so
    that every derived image of a case reuses it."""
    pad = max(max(int(v) for v in (distances or [1])), 1)
    if pad not in hood:
        hood[pad] = Neighbourhood(mask, pad)
    return hood[pad]


class Context:
    """One discretised ROI: its grey levels ``g`` (C order over the ROI) on a shared
    :class:`Neighbourhood`. GLCM, GLRLM, GLSZM, GLDM and NGTDM of the same image share it; the
    grey levels of each set of voxel pairs are gathered once however many matrices use them.
    """

    def __init__(self, q: np.ndarray, pad: int = 1, nb: Neighbourhood | None = None,
                 g: np.ndarray | None = None) -> None:
        if nb is None:
            nb = Neighbourhood(q > 0, pad)
        self.nb = nb
        self.shape = nb.box_shape
        self.nr = nb.nr
        self.g = (q[q > 0] if g is None else g).astype(np.int64, copy=False)
        # narrow copy for the pair gathers (less memory traffic); arithmetic casts back up
        top = int(self.g.max()) if self.g.size else 0
        self.gs = self.g.astype(np.int16 if top < 2 ** 15 else np.int32)
        self._cache: dict[tuple, tuple] = {}

    def levels(self):
        """(grey levels present, Ng = highest level)."""
        present = np.flatnonzero(np.bincount(self.g)[1:]) + 1
        return present, int(present[-1])

    def pair_levels(self, dirs):
        """(src, dst, bounds, counts, g[src], g[dst]) for *dirs* (see :meth:`Neighbourhood.pair_set`)."""
        key = _dir_key(dirs)
        out = self._cache.get(key)
        if out is None:
            src, dst, bounds, counts = self.nb.pair_set(dirs)
            out = self._cache[key] = (src, dst, bounds, counts, self.gs[src], self.gs[dst])
        return out

    def equal_pairs(self, dirs) -> tuple[np.ndarray, np.ndarray]:
        """(src, dst) of the pairs of :meth:`pair_levels` whose voxels have the same grey level
        (the GLSZM zone graph's edges and GLDM's dependences at alpha 0)."""
        key = ("same",) + _dir_key(dirs)
        out = self._cache.get(key)
        if out is None:
            src, dst, _, _, gs, gd = self.pair_levels(dirs)
            same = gs == gd
            out = self._cache[key] = (src[same], dst[same])
            # the gathered levels are not needed by the classes that come after (GLSZM, GLDM,
            # NGTDM's box sums): freed here, gathered again only if a later class asks
            self._cache.pop(_dir_key(dirs), None)
        return out

    def box(self) -> np.ndarray:
        """The grey levels in the zero-padded box (built from ``g``)."""
        out = self._cache.get("box")
        if out is None:
            out = np.zeros(self.nb.index.size, dtype=np.int32)
            out[self.nb.idx] = self.g
            out = self._cache["box"] = out.reshape(self.nb.shape)
        return out


def _context(q, pad):
    return q if isinstance(q, Context) else Context(q, pad)


def _pad_of(dirs) -> int:
    return int(np.abs(dirs).max()) if len(dirs) else 1


def glcm(q, ng: int, dirs: np.ndarray) -> np.ndarray:
    """Co-occurrence counts (Ng, Ng, n_dirs), not symmetrised: [i, j, a] = (i at v, j at v+a)."""
    ctx = _context(q, _pad_of(dirs))
    nd = len(dirs)
    if nd == 0:
        return np.zeros((ng, ng, 0))
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

    Each direction's ROI voxels are listed line by line (:meth:`Neighbourhood.runs`, shared by
    all images of a case); a run breaks where the next voxel is not the line's next voxel or
    its grey level differs. PyRadiomics drops a direction whose lines hold <= 1 ROI voxel.
    """
    ctx = _context(q, 1)
    nr, nd = ctx.nr, len(dirs)
    if nd == 0:
        return np.zeros((ng, nr, 0))
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
