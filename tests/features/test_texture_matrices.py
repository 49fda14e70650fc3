"""Texture matrix builders: PyRadiomics' baseline matrices, brute-force references on small
seeded arrays, and the NaN/warning contract of the family modules.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from radsig.exceptions import ConfigError, FeatureWarning
from radsig.features import glcm, gldzm, glrlm, glszm, ngldm, ngtdm
from radsig.features._texture import chebyshev_offsets, neighbourhood_offsets
from radsig.features.glcm_matrix import glcm_matrices
from radsig.features.gldzm_matrix import border_distance, gldzm_matrices
from radsig.features.glrlm_matrix import glrlm_matrices
from radsig.features.glszm_matrix import compact_zone_matrix, glszm_matrices, label_zones
from radsig.features.ngldm_matrix import ngldm_matrices
from radsig.features.ngtdm_matrix import ngtdm_matrices
from radsig.preprocess.roi import PreparedRoi

CASES = ["brain1", "brain2", "breast1", "lung1", "lung2"]


def _pyradiomics_levels(shared, case):
    """PyRadiomics' default discretisation (binWidth 25, label 1, no resampling): bin edges
    start at the ROI minimum rounded down to a multiple of the bin width."""
    import SimpleITK as sitk

    d = shared / "realdata" / "pyradiomics"
    img = sitk.GetArrayFromImage(sitk.ReadImage(str(d / f"{case}_image.nrrd"))).astype(float)
    mask = sitk.GetArrayFromImage(sitk.ReadImage(str(d / f"{case}_label.nrrd"))) == 1
    v = img[mask]
    low = v.min() - v.min() % 25
    levels = np.zeros(img.shape, dtype=np.int32)
    levels[mask] = np.floor((v - low) / 25).astype(np.int32) + 1
    nz = np.nonzero(mask)
    crop = tuple(slice(i.min(), i.max() + 1) for i in nz)
    return levels[crop]


def _nonempty_cols(m: np.ndarray, axis_sum) -> np.ndarray:
    """PyRadiomics keeps only the columns (run lengths, sizes, dependences) that occur."""
    return m[:, m.sum(axis=axis_sum) > 0]


@pytest.mark.filterwarnings("ignore:Reading `.npy`:UserWarning")
@pytest.mark.parametrize("case", CASES)
def test_pyradiomics_baseline_matrices(shared, case):
    """GLCM/GLRLM/GLSZM/GLDM/NGTDM equal PyRadiomics' baseline ``.npy`` within 1e-3.

    PyRadiomics orders its 13 angles as ``chebyshev_offsets(1)[::-1]``, keeps only the grey
    levels present in the ROI (rows) and the occurring columns, and normalises each GLCM.
    """
    base_dir = shared / "realdata" / "pyradiomics" / "baseline"
    lv = _pyradiomics_levels(shared, case)
    ng = int(lv.max())
    present = np.unique(lv[lv > 0]) - 1
    angles = chebyshev_offsets(1)[::-1]

    p = glcm_matrices(lv, ng, angles).astype(float)
    p = (p / p.sum(axis=(1, 2), keepdims=True))[:, present][:, :, present].transpose(1, 2, 0)
    r = glrlm_matrices(lv, ng, angles)[:, present].transpose(1, 2, 0)
    n, s = ngtdm_matrices(lv, ng)
    mine = {
        "glcm": p,
        "glrlm": r[:, r.sum(axis=(0, 2)) > 0],
        "glszm": _nonempty_cols(glszm_matrices(lv, ng, connectivity=26)[present], 0),
        "gldm": _nonempty_cols(ngldm_matrices(lv, ng, alpha=0)[present], 0),
        "ngtdm": np.stack([n[present], s[present], present + 1], axis=1),
    }
    zones = label_zones(lv, ng, connectivity=26)
    compact, sizes = compact_zone_matrix(zones, zones.size, ng)
    np.testing.assert_array_equal(compact[present], mine["glszm"])
    assert sizes.tolist() == sorted(set(zones.size.tolist()))
    for cls, m in mine.items():
        base = np.load(base_dir / f"{case}_{cls}.npy", encoding="latin1")
        assert m.shape == base.shape, f"{case} {cls}: shape {m.shape} vs {base.shape}"
        assert np.max(np.abs(base - m)) < 1e-3, f"{case} {cls}"


# ---------------------------------------------------------------- brute-force references

def _random_levels(seed, shape=(3, 6, 7), ng=3, fill=0.75):
    rng = np.random.default_rng(seed)
    lv = rng.integers(1, ng + 1, size=shape)
    lv[rng.random(shape) > fill] = 0
    return lv


def _inside(p, shape):
    return all(0 <= c < n for c, n in zip(p, shape, strict=False))


def _voxels(lv):
    return [tuple(p) for p in np.argwhere(lv > 0)]


@pytest.mark.parametrize("seed", range(3))
def test_glcm_matches_brute_force(seed):
    lv, ng = _random_levels(seed), 3
    offs = chebyshev_offsets([1, 2])
    got = glcm_matrices(lv, ng, offs, per_slice=True)
    ref = np.zeros((lv.shape[0], len(offs), ng, ng), dtype=np.int64)
    for p in _voxels(lv):
        for d, o in enumerate(offs):
            q = tuple(np.add(p, o))
            if _inside(q, lv.shape) and lv[q] > 0:
                ref[p[0], d, lv[p] - 1, lv[q] - 1] += 1
                ref[p[0], d, lv[q] - 1, lv[p] - 1] += 1
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(glcm_matrices(lv, ng, offs), ref.sum(axis=0))


@pytest.mark.parametrize("seed", range(3))
def test_glrlm_matches_brute_force(seed):
    lv, ng = _random_levels(seed), 3
    dirs = chebyshev_offsets(1)
    got = glrlm_matrices(lv, ng, dirs, max_run=10)
    ref = np.zeros((len(dirs), ng, 10), dtype=np.int64)
    for d, a in enumerate(dirs):
        for p in _voxels(lv):
            prev = tuple(np.subtract(p, a))
            if _inside(prev, lv.shape) and lv[prev] == lv[p]:
                continue  # not the start of a run
            length, q = 0, p
            while _inside(q, lv.shape) and lv[q] == lv[p]:
                length, q = length + 1, tuple(np.add(q, a))
            ref[d, lv[p] - 1, length - 1] += 1
    np.testing.assert_array_equal(got, ref)
    # Opposite directions give the same runs; in-slice splitting sums back to the volume.
    np.testing.assert_array_equal(glrlm_matrices(lv, ng, -dirs, max_run=10), ref)
    in_slice = chebyshev_offsets(1, in_slice=True)
    np.testing.assert_array_equal(
        glrlm_matrices(lv, ng, in_slice, per_slice=True, max_run=10).sum(axis=0),
        glrlm_matrices(lv, ng, in_slice, max_run=10))


def _flood_zones(lv, offsets):
    """(level, size, voxels) of each zone by breadth-first search."""
    seen, zones = set(), []
    for p in _voxels(lv):
        if p in seen:
            continue
        stack, members = [p], []
        seen.add(p)
        while stack:
            q = stack.pop()
            members.append(q)
            for o in offsets:
                r = tuple(np.add(q, o))
                if _inside(r, lv.shape) and r not in seen and lv[r] == lv[p]:
                    seen.add(r)
                    stack.append(r)
        zones.append((lv[p], members))
    return zones


@pytest.mark.parametrize("per_slice", [False, True])
def test_glszm_and_gldzm_match_brute_force(per_slice):
    lv, ng = _random_levels(7, shape=(3, 7, 8)), 3
    morph = lv > 0
    morph[1, 3, 3] = True  # a morphological-mask voxel outside the intensity mask
    zones = _flood_zones(lv, neighbourhood_offsets(1, in_slice=per_slice))
    dist = border_distance(morph, per_slice=per_slice)
    szm = np.zeros((ng, lv.size), dtype=np.int64)
    dzm = np.zeros((ng, lv.size), dtype=np.int64)
    for g, members in zones:
        szm[g - 1, len(members) - 1] += 1
        dzm[g - 1, min(dist[m] for m in members) - 1] += 1
    got_s = glszm_matrices(lv, ng, per_slice=per_slice)
    got_d = gldzm_matrices(lv, ng, morph, per_slice=per_slice)
    if per_slice:
        got_s, got_d = got_s.sum(axis=0), got_d.sum(axis=0)
    np.testing.assert_array_equal(got_s, szm[:, :got_s.shape[1]])
    np.testing.assert_array_equal(got_d, dzm[:, :got_d.shape[1]])


def test_border_distance_brute_force():
    mask = _random_levels(3, shape=(4, 7, 7), ng=1, fill=0.85) > 0
    got = border_distance(mask)
    outside = [p for p in itertools.product(*[range(-1, n + 1) for n in mask.shape])
               if not _inside(p, mask.shape) or not mask[p]]
    for p in _voxels(mask.astype(int)):
        ref = min(sum(abs(a - b) for a, b in zip(p, q, strict=False)) for q in outside)
        assert got[p] == ref


@pytest.mark.parametrize("alpha", [0, 1])
def test_ngtdm_and_ngldm_match_brute_force(alpha):
    lv, ng = _random_levels(11), 3
    offs = neighbourhood_offsets(1)
    n_ref, s_ref = np.zeros(ng, np.int64), np.zeros(ng)
    dep_ref = np.zeros((ng, len(offs) + 1), np.int64)
    for p in _voxels(lv):
        nb = [lv[q] for q in (tuple(np.add(p, o)) for o in offs)
              if _inside(q, lv.shape) and lv[q] > 0]
        dep_ref[lv[p] - 1, sum(abs(int(v) - int(lv[p])) <= alpha for v in nb)] += 1
        if nb:
            n_ref[lv[p] - 1] += 1
            s_ref[lv[p] - 1] += abs(lv[p] - np.mean(nb))
    n, s = ngtdm_matrices(lv, ng, offs)
    np.testing.assert_array_equal(n, n_ref)
    np.testing.assert_allclose(s, s_ref, rtol=1e-12)
    np.testing.assert_array_equal(ngldm_matrices(lv, ng, offs, alpha=alpha), dep_ref)


# ---------------------------------------------------------------- family contract

FAMILIES = [glcm, glrlm, glszm, gldzm, ngtdm, ngldm]


def _roi(levels, n_levels=3):
    mask = levels > 0
    return PreparedRoi(image=levels.astype(float), morph_mask=mask, int_mask=mask,
                       spacing=(1.0, 1.0, 1.0), levels=levels.astype(np.int32), n_levels=n_levels)


@pytest.mark.parametrize("module", FAMILIES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_empty_roi_gives_nan_and_warning(module):
    with pytest.warns(FeatureWarning):
        out = module.compute(_roi(np.zeros((2, 4, 4), dtype=np.int32)))
    assert out and all(np.isnan(v) for v in out.values())


@pytest.mark.parametrize("module", [glcm, ngtdm], ids=["glcm", "ngtdm"])
def test_single_voxel_roi_gives_nan_and_warning(module):
    lv = np.zeros((3, 3, 3), dtype=np.int32)
    lv[1, 1, 1] = 2
    with pytest.warns(FeatureWarning):
        out = module.compute(_roi(lv))
    assert all(np.isnan(v) for v in out.values())


def test_unknown_aggregation_is_a_config_error():
    with pytest.raises(ConfigError, match="allowed"):
        glcm.compute(_roi(_random_levels(0)), aggregations=["2D"])


@pytest.mark.parametrize("module", FAMILIES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_keys_follow_tag_and_aggregation(module):
    out = module.compute(_roi(_random_levels(1)))
    aggs = ("2D", "2_5D", "3D") if module in (glszm, gldzm, ngtdm, ngldm) else (
        "2D_avg", "2D_comb", "2_5D_avg", "2_5D_comb", "3D_avg", "3D_comb")
    assert sorted(out) == sorted(f"{t}_{a}" for a in aggs for t in module.TAGS)
    assert all(np.isfinite(v) for v in out.values())


@pytest.mark.parametrize("module", [glszm, gldzm], ids=["glszm", "gldzm"])
def test_zone_families_warn_on_other_distance(module):
    roi = _roi(_random_levels(2))
    with pytest.warns(FeatureWarning, match="distance 1"):
        out = module.compute(roi, distance=2)
    assert out == module.compute(roi)


def test_zone_cache_shared_by_glszm_and_gldzm():
    """GLDZM on a ROI whose zones GLSZM already labelled equals GLDZM on a fresh ROI."""
    lv = _random_levels(5, shape=(4, 9, 9))
    lv[:, :2] = 0
    morph = np.ones(lv.shape, dtype=bool)  # morphological mask larger than the levels' box
    make = lambda: PreparedRoi(image=lv.astype(float), morph_mask=morph, int_mask=lv > 0,  # noqa: E731
                               spacing=(1.0, 1.0, 1.0), levels=lv.astype(np.int32), n_levels=3)
    shared_roi = make()
    glszm.compute(shared_roi)
    assert "_texture_cache" in shared_roi.extra
    assert gldzm.compute(shared_roi) == gldzm.compute(make())


@pytest.mark.parametrize("per_slice", [False, True])
def test_border_distance_equals_scipy_taxicab_transform(per_slice):
    """The NumPy sweeps give scipy.ndimage.distance_transform_cdt's values (what they replace)."""
    from scipy import ndimage

    rng = np.random.default_rng(7)
    for _ in range(5):
        mask = ndimage.binary_opening(rng.random((9, 23, 19)) < 0.8)
        metric = ndimage.generate_binary_structure(3, 1)
        if per_slice:
            metric[0] = metric[2] = False
        ref = ndimage.distance_transform_cdt(np.pad(mask, 1), metric=metric)[1:-1, 1:-1, 1:-1]
        np.testing.assert_array_equal(border_distance(mask, per_slice=per_slice), ref)


@pytest.mark.parametrize("per_slice", [False, True])
@pytest.mark.parametrize("connectivity", [None, 4, 6, 8, 18])
def test_zone_structure_equals_scipy_structure(per_slice, connectivity):
    from scipy import ndimage

    from radsig.features.glszm_matrix import zone_structure

    if (connectivity in (4, 8)) != per_slice and connectivity is not None:
        return
    conn = (8 if per_slice else 26) if connectivity is None else connectivity
    rank = {4: 1, 8: 2, 6: 1, 18: 2, 26: 3}[conn]
    if per_slice:
        ref = np.zeros((3, 3, 3), dtype=bool)
        ref[1] = ndimage.generate_binary_structure(2, rank)
    else:
        ref = ndimage.generate_binary_structure(3, rank)
    np.testing.assert_array_equal(zone_structure(connectivity, per_slice=per_slice), ref)


def test_ngtdm_neighbour_sums_equal_scipy_correlation():
    from scipy import ndimage

    from radsig.features.ngtdm_matrix import _neighbour_sums

    lv = _random_levels(5, shape=(6, 11, 9), ng=5, fill=0.7)
    for offsets in (neighbourhood_offsets(1), neighbourhood_offsets(2, in_slice=True)):
        offs = np.asarray(offsets).reshape(-1, 3)
        r = int(np.abs(offs).max())
        kernel = np.zeros((2 * r + 1,) * 3)
        kernel[tuple((offs + r).T)] = 1.0
        kernel[r, r, r] = 0.0
        total, count = _neighbour_sums(lv, lv > 0, offsets)
        np.testing.assert_array_equal(total, ndimage.correlate(lv.astype(float), kernel,
                                                               mode="constant"))
        np.testing.assert_array_equal(count, ndimage.correlate((lv > 0).astype(float), kernel,
                                                               mode="constant"))

