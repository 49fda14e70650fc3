"""The shared neighbour structure (pairs, line orders, union-find zones) against brute force.

The texture matrices of PyRadiomics mode are built from ROI voxel pairs found once per case
(:class:`Neighbourhood`); these tests compare them with plain voxel loops and, for GLSZM zones,
with SimpleITK's scalar connected components on random volumes with many ties. Every test runs
twice: with the NumPy matrices and with the optional C kernels (skipped where not compiled).
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from radsig.features.pyradiomics import _matrices as M
from radsig.features.pyradiomics._neighbourhood import Context, Neighbourhood


@pytest.fixture(autouse=True, params=["numpy", "c"])
def backend(request, monkeypatch):
    """Run the test with the NumPy matrices, then with the C kernels."""
    if request.param == "numpy":
        monkeypatch.setattr(M, "_C", None)
    elif M._C is None:
        pytest.skip("the C kernels are not compiled here")
    return request.param


def _random_q(rng, shape, levels=4, fill=0.7):
    q = rng.integers(1, levels + 1, size=shape)
    q[rng.random(shape) > fill] = 0
    return q.astype(np.int64)


def _inside(q, p):
    return all(0 <= p[k] < q.shape[k] for k in range(3)) and q[tuple(p)] > 0


def _brute_glcm(q, ng, dirs):
    out = np.zeros((ng, ng, len(dirs)))
    for a, d in enumerate(dirs):
        for v in zip(*np.nonzero(q), strict=True):
            w = np.add(v, d)
            if _inside(q, w):
                out[q[v] - 1, q[tuple(w)] - 1, a] += 1
    return out


def _brute_glrlm(q, ng, dirs):
    nr = max(q.shape)
    out = np.zeros((ng, nr, len(dirs)))
    for a, d in enumerate(dirs):
        d = np.asarray(d)
        for v in zip(*np.nonzero(q), strict=True):
            prev = np.subtract(v, d)
            if _inside(q, prev) and q[tuple(prev)] == q[v]:
                continue  # not a run start
            n, w = 1, np.add(v, d)
            while _inside(q, w) and q[tuple(w)] == q[v]:
                n, w = n + 1, w + d
            out[q[v] - 1, n - 1, a] += 1
        # PyRadiomics drops a direction whose lines all hold at most one ROI voxel
        pts = np.argwhere(q > 0)
        axis = int(np.flatnonzero(d)[0])
        base = pts - (pts[:, axis] // d[axis])[:, None] * d[None, :]
        if len({tuple(b) for b in base}) == len(base):
            out[:, :, a] = 0
    return out


def _brute_dep(q, ng, dirs, alpha):
    both = list(dirs) + [tuple(-np.asarray(d)) for d in dirs]
    dep = np.zeros((ng, len(both) + 1))
    ngt = np.zeros((ng, 3))
    ngt[:, 2] = np.arange(1, ng + 1)
    for v in zip(*np.nonzero(q), strict=True):
        nbs = [q[tuple(np.add(v, d))] for d in both if _inside(q, np.add(v, d))]
        dep[q[v] - 1, sum(abs(x - q[v]) <= alpha for x in nbs)] += 1
        if nbs:
            ngt[q[v] - 1, 0] += 1
            ngt[q[v] - 1, 1] += abs(q[v] - np.mean(nbs))
    return dep, ngt


SHAPES = [(6, 7, 5), (1, 8, 9), (5, 1, 6), (4, 5, 1), (3, 3, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("distances", [[1], [1, 2]])
def test_pair_matrices_equal_voxel_loops(shape, distances):
    rng = np.random.default_rng(sum(shape) + len(distances))
    for _ in range(3):
        q = _random_q(rng, shape)
        if q.max() == 0:
            continue
        ng = int(q.max())
        dirs = M.angles(q.shape, distances)
        np.testing.assert_array_equal(M.glcm(q, ng, dirs), _brute_glcm(q, ng, dirs))
        for alpha in (0, 1):
            dep, ngt = _brute_dep(q, ng, dirs, alpha)
            np.testing.assert_array_equal(M.gldm(q, ng, dirs, alpha), dep)
            np.testing.assert_allclose(M.ngtdm(q, ng, dirs), ngt, rtol=1e-12, atol=1e-12)
        runs = M.angles(q.shape, [1])
        np.testing.assert_array_equal(M.glrlm(q, ng, runs), _brute_glrlm(q, ng, runs))


def test_shared_neighbourhood_gives_the_same_matrices_for_other_images():
    """One Neighbourhood serves several images on the same ROI (as in a case's derived images)."""
    rng = np.random.default_rng(3)
    mask = rng.random((7, 6, 8)) < 0.6
    hood = Neighbourhood(mask, 2)
    dirs = M.angles(mask.shape, [1, 2])
    for _ in range(3):
        q = np.where(mask, rng.integers(1, 6, mask.shape), 0)
        ctx = Context(q, 2, nb=hood, g=q[mask])
        ng = int(q.max())
        np.testing.assert_array_equal(M.glcm(ctx, ng, dirs), M.glcm(q, ng, dirs))
        np.testing.assert_array_equal(M.glrlm(ctx, ng, dirs[:13]), M.glrlm(q, ng, dirs[:13]))
        np.testing.assert_array_equal(M.glszm(ctx, ng), M.glszm(q, ng))


def _itk_zones(work):
    inside = work > 0
    labels = M._zone_labels_itk(work.astype(np.int32))
    ids, first = np.unique(labels[inside], return_index=True)
    sizes = np.bincount(labels[inside])[ids]
    return Counter(zip(sizes.tolist(), work[inside][first].tolist(), strict=True))


def _zones(q, force2d=False, dim=0):
    ng = int(q.max())
    counts, sizes = M.glszm(q, ng, force2d, dim, compact=True)
    out = Counter()
    for lev, col in zip(*np.nonzero(counts), strict=True):
        out[(int(sizes[col]), int(lev) + 1)] = int(counts[lev, col])
    return out


@pytest.mark.parametrize("levels, fill", [(2, 0.9), (3, 0.7), (6, 1.0), (1, 0.5)])
def test_union_find_zones_equal_simpleitk_connected_components(levels, fill):
    rng = np.random.default_rng(levels * 10 + int(fill * 10))
    for shape in [(9, 10, 11), (1, 12, 13), (15, 1, 4), (20, 20, 20)]:
        q = _random_q(rng, shape, levels, fill)
        if q.max() == 0:
            continue
        assert _zones(q) == _itk_zones(q)


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_union_find_zones_force2d_stay_in_their_slice(dim):
    rng = np.random.default_rng(dim)
    for _ in range(5):
        q = _random_q(rng, (6, 7, 8), 2, 0.9)
        # reference: SimpleITK per slice (2-D, 8-connected)
        want = Counter()
        for k in range(q.shape[dim]):
            sl = np.take(q, [k], axis=dim)
            if sl.max() > 0:
                want += _itk_zones(sl)
        assert _zones(q, True, dim) == want


def test_connected_roots_on_long_paths_and_stars():
    n = 5000
    perm = np.random.default_rng(0).permutation(n)
    a, b = perm[:-1], perm[1:]  # one path visiting the nodes in random order
    roots = M.connected_roots(n, a, b)
    assert np.all(roots == 0)
    star = M.connected_roots(10, np.full(9, 9), np.arange(9))
    assert np.all(star == 0)
    parts = M.connected_roots(6, np.array([5, 3]), np.array([4, 1]))
    np.testing.assert_array_equal(parts, [0, 1, 2, 1, 4, 4])


def test_every_offset_pair_is_found():
    rng = np.random.default_rng(11)
    mask = rng.random((5, 6, 4)) < 0.5
    hood = Neighbourhood(mask, 2)
    pts = [tuple(p) for p in np.argwhere(mask)]
    number = {p: k for k, p in enumerate(pts)}
    for off in itertools.product(range(-2, 3), repeat=3):
        src, dst = hood.pairs(off)
        want = sorted((number[p], number[tuple(np.add(p, off))]) for p in pts
                      if tuple(np.add(p, off)) in number)
        assert sorted(zip(src.tolist(), dst.tolist(), strict=True)) == want


def test_threaded_extraction_equals_serial(shared, monkeypatch):
    """Shape and derived images computed in worker threads give the same rows, in order."""
    from radsig.config.pyradiomics import load_pyradiomics_settings
    from radsig.features.pyradiomics import extract_rows

    d = shared / "realdata" / "pyradiomics"
    params = load_pyradiomics_settings({
        "setting": {"binWidth": 25, "resampledPixelSpacing": [2, 2, 2],
                    "interpolator": "sitkBSpline"},
        "imageType": {"Original": {}, "Wavelet": {}, "LoG": {"sigma": [1.0, 3.0]}},
        "featureClass": {"shape": None, "firstorder": None, "glcm": None, "glrlm": None,
                         "glszm": None, "gldm": None, "ngtdm": None}})
    runs = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("RADSIG_THREADS", threads)
        runs.append(extract_rows(d / "brain1_image.nrrd", d / "brain1_label.nrrd", params))
    assert len(runs[0]) > 500 and runs[0][0][0].startswith("original_shape_")
    for other in runs[1:]:
        assert [r[0] for r in other] == [r[0] for r in runs[0]]
        np.testing.assert_array_equal([r[4] for r in other], [r[4] for r in runs[0]])


def test_connected_roots_chunked_rounds_and_ordered_edges():
    """More edges than one chunk (the bounded-memory path), given ordered or not."""
    rng = np.random.default_rng(4)
    n = 300_000
    a = rng.integers(0, n, 1_200_000)
    b = rng.integers(0, n, 1_200_000)
    keep = a != b
    a, b = a[keep], b[keep]
    ref = M.connected_roots(n, a[:1000], b[:1000])  # small: single-chunk path
    assert ref.min() == 0
    got = M.connected_roots(n, a, b)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    np.testing.assert_array_equal(M.connected_roots(n, lo, hi, ordered=True), got)
    # every edge inside one component; each root is the smallest node of its component
    assert np.all(got[a] == got[b])
    assert np.all(got[got] == got) and np.all(got <= np.arange(n))


def test_run_threads_keeps_job_order_and_raises_the_first_error():
    import time

    from radsig.features._threads import run_threads as _run_threads

    jobs = [lambda k=k: (time.sleep(0.002 * (5 - k)), k)[1] for k in range(6)]
    assert _run_threads(jobs, 2) == list(range(6))
    assert _run_threads(jobs, 1) == list(range(6))

    def boom(msg):
        raise ValueError(msg)

    with pytest.raises(ValueError, match="first"):
        _run_threads([lambda: 1, lambda: boom("first"), lambda: boom("second")], 3)
