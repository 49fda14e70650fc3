"""The ROI's neighbour structure in PyRadiomics mode, shared by every derived image of a case.

:class:`Neighbourhood` (voxel pairs per offset, voxel order along the lines of each direction)
depends on the mask only, so one instance serves all derived images; a :class:`Context` adds
one image's grey levels and gathers them once per set of pairs, however many texture matrices
(:mod:`radsig.features.pyradiomics._matrices`) read them. ROI voxels are numbered in C order
(the order of ``image[mask]``).
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["Neighbourhood", "Context", "shared_neighbourhood"]


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

    def line_has_two(self, dirs) -> np.ndarray:
        """Per direction: whether some line along it crosses two ROI voxels (``has_two`` of
        :meth:`runs`, without building the line order)."""
        return self._memo(self._runs, ("has_two",) + _dir_key(dirs), self._build_has_two)

    def _build_has_two(self, key):
        out = [bool(np.any(self.index[self.idx + int(np.dot(off, self.strides))] >= 0))
               or self._line_has_two(off) for off in key[1:]]
        return np.array(out, dtype=bool)

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
