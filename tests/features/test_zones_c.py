"""IBSI zones by PyRadiomics mode's C flood fill == zones by ``scipy.ndimage.label`` per level.

The C path numbers zones in order of their first voxel, the NumPy/SciPy path by grey level; the
partition of the ROI into zones, their levels, sizes, first slices and every zone matrix must be
the same. Skipped where the C kernels were not compiled (the SciPy path then runs everywhere).
"""

from __future__ import annotations

import numpy as np
import pytest

from radsig.features import glszm_matrix as gm
from radsig.features.gldzm_matrix import border_distance, zone_distances

C = gm._ckernels()
pytestmark = pytest.mark.skipif(C is None, reason="C kernels not compiled")


def _numpy(monkeypatch, build):
    """``build()`` with the C kernels switched off (the NumPy/SciPy builders)."""
    monkeypatch.setattr(gm, "_ckernels", lambda: None)
    try:
        return build()
    finally:
        monkeypatch.undo()


def _levels(seed, ng, fill, shapes=((1, 12, 14), (6, 10, 9))):
    """Seeded grey levels 1..ng, the ROI a random *fill* of the box; one slice for even seeds."""
    rng = np.random.default_rng(seed)
    shape = shapes[seed % 2]
    lv = rng.integers(1, ng + 1, size=shape)
    lv[rng.random(shape) > fill] = 0
    return lv


def _canonical(zones):
    """Zones relabelled by first voxel (C order): comparable whatever the numbering."""
    flat = zones.labels.ravel()
    in_roi = np.flatnonzero(flat)
    _, first = np.unique(flat[in_roi], return_index=True)
    order = np.argsort(in_roi[first])  # zone (label - 1) order by first voxel
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    labels = np.zeros_like(flat)
    labels[in_roi] = rank[flat[in_roi] - 1] + 1
    return (labels.reshape(zones.labels.shape), zones.level[order], zones.size[order],
            zones.z[order])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("conn,per_slice", [(26, False), (18, False), (6, False), (8, True),
                                            (4, True)])
def test_c_zones_equal_scipy_zones(seed, conn, per_slice, monkeypatch):
    ng = 2 + seed % 3  # few levels: large, winding zones
    lv = _levels(seed, ng, 0.8, shapes=((1, 13, 12), (5, 9, 11)))
    mine = gm.label_zones(lv, ng, connectivity=conn, per_slice=per_slice)
    ref = _numpy(monkeypatch,
                 lambda: gm.label_zones(lv, ng, connectivity=conn, per_slice=per_slice))
    for a, b in zip(_canonical(mine), _canonical(ref), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        gm.glszm_matrices(lv, ng, connectivity=conn, per_slice=per_slice),
        _numpy(monkeypatch,
               lambda: gm.glszm_matrices(lv, ng, connectivity=conn, per_slice=per_slice)))
    morph = lv > 0
    dist = border_distance(morph, per_slice=per_slice)
    np.testing.assert_array_equal(np.sort(zone_distances(mine, dist)),
                                  np.sort(zone_distances(ref, dist)))


def test_empty_roi(monkeypatch):
    lv = np.zeros((3, 4, 5), dtype=np.int64)
    mine = gm.label_zones(lv, 2)
    assert mine.n_zones == 0 and not mine.labels.any()


@pytest.mark.parametrize("seed", range(6))
def test_c_runs_equal_numpy_runs(seed, monkeypatch):
    from radsig.features import glrlm_matrix as rm
    from radsig.features._texture import chebyshev_offsets

    ng = 2 + seed % 3
    lv = _levels(seed, ng, 0.85)
    if lv.shape[0] > 1:
        lv[2] = 0  # a slice without ROI voxels
    cases = [(dirs, max_run, False) for dirs in (None, chebyshev_offsets(1, in_slice=True),
                                                [(1, 0, 0), (0, 1, -1)]) for max_run in (None, 20)]
    cases += [(chebyshev_offsets(1, in_slice=True), None, True)]  # 2D / 2.5D: slice by slice
    for dirs, max_run, per_slice in cases:
        mine = rm.glrlm_matrices(lv, ng, dirs, max_run=max_run, per_slice=per_slice)
        ref = _numpy(monkeypatch, lambda dirs=dirs, max_run=max_run, per_slice=per_slice:
                     rm.glrlm_matrices(lv, ng, dirs, max_run=max_run, per_slice=per_slice))
        np.testing.assert_array_equal(mine, ref)
        assert mine.dtype == ref.dtype


@pytest.mark.parametrize("seed", range(6))
def test_c_pairs_equal_numpy_pairs(seed, monkeypatch):
    from radsig.features import glcm_matrix as cm
    from radsig.features._texture import chebyshev_offsets

    ng = 2 + seed % 4
    lv = _levels(seed, ng, 0.85)
    if lv.shape[0] > 1:
        lv[2] = 0  # a slice without ROI voxels
    cases = [(offs, False) for offs in (None, chebyshev_offsets(1, in_slice=True),
                                        chebyshev_offsets(2), [(1, 0, 0), (0, -2, 1)])]
    cases += [(chebyshev_offsets(1, in_slice=True), True)]  # 2D / 2.5D: slice by slice
    for offs, per_slice in cases:
        for symmetric in (True, False):
            mine = cm.glcm_matrices(lv, ng, offs, symmetric=symmetric, per_slice=per_slice)
            ref = _numpy(monkeypatch, lambda offs=offs, symmetric=symmetric, per_slice=per_slice:
                         cm.glcm_matrices(lv, ng, offs, symmetric=symmetric, per_slice=per_slice))
            np.testing.assert_array_equal(mine, ref)
            assert mine.dtype == ref.dtype and mine.shape == ref.shape


@pytest.mark.parametrize("seed", range(6))
def test_c_dependences_equal_numpy_dependences(seed, monkeypatch):
    from radsig.features import ngldm_matrix as nm
    from radsig.features._texture import neighbourhood_offsets

    ng = 2 + seed % 4
    lv = _levels(seed, ng, 0.85)
    lv[lv.shape[0] // 2] = 0  # an empty slice (per slice: a zero matrix)
    for offs, per_slice in ((None, False), (neighbourhood_offsets(1, in_slice=True), False),
                            (neighbourhood_offsets(1, in_slice=True), True),
                            (neighbourhood_offsets(2), False),
                            ([(1, 0, 0), (0, 1, 1)], False)):  # one-sided: the NumPy path runs
        for alpha in (0, 1, 1.5):
            for max_dep in (None, 6, 20, 140):
                def run(max_dep=max_dep, offs=offs, alpha=alpha, per_slice=per_slice):
                    try:
                        return nm.ngldm_matrices(lv, ng, offs, alpha=alpha,
                                                 max_dependence=max_dep, per_slice=per_slice)
                    except ValueError as err:  # too few columns: both paths say so
                        return str(err)
                mine = run()
                ref = _numpy(monkeypatch, run)
                if isinstance(ref, str):
                    assert mine == ref
                    continue
                np.testing.assert_array_equal(mine, ref)
                assert mine.dtype == ref.dtype and mine.shape == ref.shape


@pytest.mark.parametrize("seed", range(6))
def test_c_grey_tone_differences_equal_numpy_ones(seed, monkeypatch):
    """NGTDM ``(n_i, s_i)`` from the C kernel: the NumPy shifted sums' bits, in 3D, per slice
    (an empty slice included) and at distance 2."""
    from radsig.features import ngtdm_matrix as tm
    from radsig.features._texture import neighbourhood_offsets

    ng = 2 + seed % 5
    lv = _levels(seed, ng, 0.8)
    lv[lv.shape[0] // 2] = 0
    for offs, per_slice in ((None, False), (neighbourhood_offsets(1, in_slice=True), True),
                            (neighbourhood_offsets(1, in_slice=True), False),
                            (neighbourhood_offsets(2), False)):
        mine = tm.ngtdm_matrices(lv, ng, offs, per_slice=per_slice)
        monkeypatch.setattr(tm, "_ngtdm_c", lambda *a: None)
        ref = tm.ngtdm_matrices(lv, ng, offs, per_slice=per_slice)
        monkeypatch.undo()
        for a, b in zip(mine, ref, strict=True):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype and a.shape == b.shape
