"""Morphology's convex hull, diameter and oriented minimum bounding box without SciPy, against
SciPy's Qhull, ``cdist`` and the Nelder-Mead box search they replace (kept here as reference).

The exact C hull (``_chull``) is optional; its tests are skipped where it was not compiled
(Qhull is then used, which the fallback tests below cover).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.spatial import ConvexHull, QhullError
from scipy.spatial.distance import cdist
from scipy.spatial.transform import Rotation

from radsig.features import _mesh
from radsig.features._mesh import convex_hull, max_diameter, oriented_min_box, roi_mesh

needs_c = pytest.mark.skipif(_mesh._chull is None, reason="the C hull is not compiled here")


# --- point clouds on the integer lattice, many of them degenerate ----------------------------

def _cloud(rng, kind: str) -> np.ndarray:
    n = int(rng.integers(4, 120))
    if kind == "small_box":          # many duplicates, coplanar and collinear points
        return rng.integers(0, 4, (n, 3))
    if kind == "wide":
        return rng.integers(-1000, 1000, (n, 3))
    if kind == "cube_grid":          # a subset of the 3x3x3 grid: faces full of points
        grid = np.argwhere(np.ones((3, 3, 3)))
        return grid[rng.random(len(grid)) < 0.8]
    if kind == "box_faces":          # points on the faces of a box, and its corners
        pts = rng.integers(0, 7, (n, 3))
        pts[np.arange(n), rng.integers(0, 3, n)] = rng.choice([0, 7], n)
        return np.vstack([pts, np.argwhere(np.ones((2, 2, 2))) * 7])
    if kind == "coplanar":
        return rng.integers(-6, 6, (n, 2)) @ np.array([[1, 2, 0], [0, 1, 3]])
    if kind == "collinear":
        return np.outer(rng.integers(-6, 6, n), [1, 2, 3])
    if kind == "duplicates":
        return np.repeat(rng.integers(0, 3, (3, 3)), 4, axis=0)
    if kind == "tetra_plus_edges":   # a tetrahedron with points on its edges
        corners = np.array([[0, 0, 0], [12, 0, 0], [0, 12, 0], [0, 0, 12]])
        t = rng.integers(0, 5, (n, 1)) / 4
        i, j = rng.integers(0, 4, (2, n))
        return np.vstack([corners, np.rint(corners[i] * (1 - t) + corners[j] * t)])
    raise ValueError(kind)


KINDS = ["small_box", "wide", "cube_grid", "box_faces", "coplanar", "collinear", "duplicates",
         "tetra_plus_edges"]


def _qhull_or_none(points):
    try:
        return ConvexHull(points)
    except (QhullError, ValueError):
        return None


def _assert_same_hull(hull, reference, points_int=None, oriented=True):
    """Same extreme points, volume and area as Qhull's; a closed surface (oriented outward, and
    holding every point exactly, where the C hull made it)."""
    if reference is None:
        assert hull is None
        return
    assert hull is not None
    # the same extreme points (of duplicates, either tool may name another copy)
    ours = reference.points[hull.vertices]  # the reference's points are in the same order
    assert len({tuple(p) for p in ours}) == len(ours)
    assert {tuple(p) for p in ours} == {tuple(p) for p in reference.points[reference.vertices]}
    assert hull.volume == pytest.approx(reference.volume, rel=1e-9)
    assert hull.area == pytest.approx(reference.area, rel=1e-9)
    tri = hull.simplices
    directed = np.stack([tri, np.roll(tri, -1, axis=1)], axis=2).reshape(-1, 2)
    _, count = np.unique(np.sort(directed, axis=1), axis=0, return_counts=True)
    assert np.all(count == 2)  # closed: every edge in two triangles
    if oriented:  # each directed edge once and its reverse once
        assert len({tuple(e) for e in directed}) == len(directed)
        assert {tuple(e) for e in directed} == {tuple(e[::-1]) for e in directed}
    if points_int is not None:  # exact: no point strictly outside any triangle's plane
        p = points_int
        a = p[tri[:, 0]]
        normal = np.cross(p[tri[:, 1]] - a, p[tri[:, 2]] - a)
        assert (np.einsum("fk,pk->fp", normal, p) <= np.einsum("fk,fk->f", normal, a)[:, None]).all()


@needs_c
@pytest.mark.parametrize("kind", KINDS)
def test_c_hull_equals_qhull_on_lattice_clouds(kind):
    rng = np.random.default_rng(KINDS.index(kind))
    for _ in range(60):
        pts = _cloud(rng, kind)
        step = rng.choice([1.0, 0.5, 0.8, 2.5], size=3)
        world = pts * step
        hull = convex_hull(world, step=step)
        if hull is not None:
            assert hull.points is not None and hull.normals.shape == (len(hull.simplices), 3)
        _assert_same_hull(hull, _qhull_or_none(world), pts)


def _random_mask(rng):
    from scipy.ndimage import gaussian_filter

    shape = tuple(int(n) for n in rng.integers(3, 22, 3))
    noise = gaussian_filter(rng.normal(size=shape), rng.uniform(0.5, 3.0))
    return noise > np.quantile(noise, rng.uniform(0.3, 0.97))


@needs_c
def test_c_hull_equals_qhull_on_marching_cubes_meshes(monkeypatch):
    """Unit spacing keeps marching cubes' float32 vertices exact: the same hull as Qhull's. Other
    spacings round them by ~1e-7, which Qhull sees (as tiny facets) and the lattice hull does
    not: against Qhull on the exact lattice positions it is the same hull again."""
    monkeypatch.setattr(_mesh, "_qhull", None)  # the C path must serve every mesh
    rng = np.random.default_rng(11)
    for k in range(40):
        mask = _random_mask(rng)
        if not mask.any():
            continue
        spacing = np.ones(3) if k % 2 == 0 else rng.choice([0.7, 0.976562, 1.2, 3.0], size=3)
        mesh = roi_mesh(mask, tuple(spacing))
        hull = convex_hull(mesh.vertices, step=spacing / 2)
        exact = np.rint(mesh.vertices / (spacing / 2)) * (spacing / 2)
        _assert_same_hull(hull, ConvexHull(exact))
        raw = ConvexHull(mesh.vertices)
        assert hull.volume == pytest.approx(raw.volume, rel=1e-6)
        assert hull.area == pytest.approx(raw.area, rel=1e-6)


class _Refuse:
    @staticmethod
    def hull3d(points):
        raise AssertionError("the C hull was used for points off the lattice")


def test_off_lattice_points_use_qhull(monkeypatch):
    monkeypatch.setattr(_mesh, "_chull", _Refuse)
    rng = np.random.default_rng(2)
    pts = rng.normal(size=(300, 3))
    for step in (None, 0.5, (1.0, 0.5, 2.0)):
        _assert_same_hull(convex_hull(pts, step=step), ConvexHull(pts), oriented=False)
    # one point half a step off the lattice is enough
    lattice = rng.integers(0, 10, (50, 3)) * 0.5
    lattice[7, 1] += 0.25
    _assert_same_hull(convex_hull(lattice, step=0.5), ConvexHull(lattice), oriented=False)
    # far from the origin a small relative error is still a large part of a step
    far = rng.integers(0, 10, (50, 3)) + 10.0**5
    far[3, 2] += 0.01
    _assert_same_hull(convex_hull(far, step=1.0), ConvexHull(far), oriented=False)
    assert convex_hull(np.c_[rng.normal(size=(20, 2)), np.zeros(20)]) is None  # flat


def test_without_the_extension_lattice_points_use_qhull(monkeypatch):
    rng = np.random.default_rng(4)
    pts = rng.integers(0, 6, (80, 3)) * 0.5
    monkeypatch.setattr(_mesh, "_chull", None)
    _assert_same_hull(convex_hull(pts, step=0.5), ConvexHull(pts), oriented=False)


@needs_c
def test_morphology_is_the_same_with_and_without_the_extension(monkeypatch):
    """Without the C hull, Qhull gets the exact lattice positions of the mesh vertices (not their
    float32 roundings), so every feature is the same, the MVEE densities included (Khachiyan's
    loose stopping rule would otherwise follow the extra near-coplanar vertices)."""
    from radsig.features import morphology
    from radsig.preprocess.roi import PreparedRoi

    rng = np.random.default_rng(5)
    for spacing in ((1.25, 0.7, 1.25), (0.7, 3.0, 0.976562), (1.0, 1.0, 1.0)):
        mask = _random_mask(rng)
        roi = PreparedRoi(image=np.ones(mask.shape), morph_mask=mask, int_mask=mask,
                          spacing=spacing)
        with_c = morphology.compute(roi)
        with monkeypatch.context() as m:
            m.setattr(_mesh, "_chull", None)
            without = morphology.compute(roi)
        for key, value in with_c.items():
            assert value == pytest.approx(without[key], rel=1e-9, nan_ok=True), key


@needs_c
def test_c_hull_refuses_spans_beyond_exact_range():
    pts = np.array([[0, 0, 0], [2**21, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.int64)
    with pytest.raises(ValueError, match="2\\^20"):
        _mesh._chull.hull3d(pts)
    # convex_hull sends such points to Qhull instead
    _assert_same_hull(convex_hull(pts.astype(float), step=1.0), ConvexHull(pts.astype(float)),
                      oriented=False)


# --- maximum diameter -------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 37, 2000])
def test_max_diameter_equals_cdist(n):
    pts = np.random.default_rng(n).normal(size=(n, 3)) * [3.0, 1.0, 0.5]
    assert max_diameter(pts, chunk=64) == float(cdist(pts, pts).max())


# --- minimum-area rectangle -------------------------------------------------------------------

def test_monotone_chain_equals_qhull_2d():
    rng = np.random.default_rng(8)
    for k in range(50):
        pts = rng.integers(0, 8, (int(rng.integers(3, 60)), 2)).astype(float)
        if k % 3 == 0:
            pts = rng.normal(size=(40, 2))
        ring = _mesh._hull_2d(pts)
        reference = _qhull_or_none(pts)
        if reference is None:
            assert len(ring) < 3 or abs(np.cross(ring[1] - ring[0], ring[2] - ring[0])) < 1e-12
            continue
        assert {tuple(p) for p in ring} == {tuple(p) for p in pts[reference.vertices]}
        twice_area = np.sum(ring[:, 0] * np.roll(ring[:, 1], -1) - np.roll(ring[:, 0], -1)
                            * ring[:, 1])
        assert twice_area / 2 == pytest.approx(reference.volume, rel=1e-12)  # counter-clockwise


def test_min_rectangle_is_the_smallest_over_all_angles():
    rng = np.random.default_rng(9)
    angles = np.linspace(0, np.pi / 2, 20001)
    for _ in range(10):
        pts = rng.normal(size=(30, 2)) * [3.0, 1.0]
        area, side = _mesh._min_rectangle(pts)
        u = np.stack([np.cos(angles), np.sin(angles)], axis=1)
        v = np.stack([-u[:, 1], u[:, 0]], axis=1)
        sweep = np.ptp(u @ pts.T, axis=1) * np.ptp(v @ pts.T, axis=1)
        assert area <= sweep.min() + 1e-12 and area == pytest.approx(sweep.min(), rel=1e-4)
        v_side = np.array([-side[1], side[0]])
        assert np.ptp(pts @ side) * np.ptp(pts @ v_side) == pytest.approx(area, rel=1e-12)


# --- oriented minimum bounding box against the Nelder-Mead search it replaces -------------------

def _old_min_rectangle(points2d):
    try:
        ring = points2d[ConvexHull(points2d).vertices]
    except (QhullError, ValueError):
        return 0.0, np.array([1.0, 0.0])
    edges = np.roll(ring, -1, axis=0) - ring
    edges = edges / np.linalg.norm(edges, axis=1, keepdims=True)
    along = edges @ ring.T
    across = np.stack([-edges[:, 1], edges[:, 0]], axis=1) @ ring.T
    areas = np.ptp(along, axis=1) * np.ptp(across, axis=1)
    best = int(np.argmin(areas))
    return float(areas[best]), edges[best]


def _old_box_volume(points, frame):
    return float(np.prod(np.ptp(points @ frame.T, axis=0)))


def _old_face_flush_frames(hull, points, max_normals):
    _, inverse = np.unique(np.round(hull.equations[:, :3], 6), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    tri = hull.points[hull.simplices]
    facet_area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]),
                                      axis=1)
    weight = np.bincount(inverse, weights=facet_area)
    normals = np.zeros((len(weight), 3))
    np.add.at(normals, inverse, hull.equations[:, :3])
    for n in normals[np.argsort(weight)[::-1][:max_normals]]:
        n = n / np.linalg.norm(n)
        e1 = np.cross(n, np.eye(3)[int(np.argmin(np.abs(n)))])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(n, e1)
        _, side = _old_min_rectangle(np.stack([points @ e1, points @ e2], axis=1))
        u = side[0] * e1 + side[1] * e2
        yield np.stack([n, u, np.cross(n, u)])


def _old_oriented_min_box(hull, max_normals=128):
    """radsig's box search before it dropped SciPy: candidates, then Nelder-Mead."""
    pts = hull.points[hull.vertices]
    centred = pts - pts.mean(axis=0)
    frames = [np.eye(3), np.linalg.eigh(np.cov(centred, rowvar=False))[1].T]
    frames.extend(_old_face_flush_frames(hull, pts, max_normals))
    best = min(frames, key=lambda f: _old_box_volume(pts, f))

    def volume_after(rotvec):
        return _old_box_volume(pts, best @ Rotation.from_rotvec(rotvec).as_matrix())

    fit = minimize(volume_after, np.zeros(3), method="Nelder-Mead",
                   options={"initial_simplex": np.vstack([np.zeros(3), 0.05 * np.eye(3)]),
                            "xatol": 1e-6, "fatol": 0.0, "maxiter": 600})
    if fit.fun < _old_box_volume(pts, best):
        best = best @ Rotation.from_rotvec(fit.x).as_matrix()
    return float(np.prod(np.ptp(pts @ best.T, axis=0)))


def _rotation(rng):
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def _grid(shape, spacing):
    axes = [(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


def _shapes(shared):
    """Masks with their spacing: ellipsoids, rotated boxes, lobulated blobs, the IBSI phantom."""
    import SimpleITK as sitk

    rng = np.random.default_rng(21)
    out = []
    for axes, spacing in (((9.0, 6.0, 3.5), (1.0, 1.0, 1.0)), ((12.0, 5.0, 5.0), (2.0, 0.8, 0.8)),
                          ((7.0, 6.5, 6.0), (1.0, 1.0, 1.0))):
        x = _grid((31, 31, 31), spacing) @ _rotation(rng)
        out.append((np.sum((x / axes) ** 2, axis=-1) <= 1.0, spacing))
    for half, spacing in (((8.0, 4.0, 2.5), (1.0, 1.0, 1.0)), ((10.0, 3.0, 3.0), (1.5, 0.7, 0.7))):
        x = _grid((29, 29, 29), spacing) @ _rotation(rng)
        out.append((np.all(np.abs(x) <= half, axis=-1), spacing))
    for seed in range(3):
        g = np.random.default_rng(seed)
        x = _grid((33, 33, 33), (1.0, 1.0, 1.0))
        r = np.linalg.norm(x, axis=-1) + 1e-9
        theta, phi = np.arccos(x[..., 0] / r), np.arctan2(x[..., 1], x[..., 2])
        a, b, c = g.uniform(0.05, 0.2, 3)
        radius = 11 * (1 + a * np.sin(3 * phi) * np.sin(theta) ** 2 + b * np.cos(2 * theta)
                       + c * np.sin(5 * phi + 2 * theta))
        out.append((r <= radius, (1.0, 1.0, 1.0)))
    mask = sitk.ReadImage(str(shared / "ibsi" / "digital_phantom" / "mask.nii.gz"))
    out.append((sitk.GetArrayFromImage(mask) > 0, tuple(mask.GetSpacing()[::-1])))
    return out


def test_ombb_is_not_larger_than_nelder_mead(shared):
    for mask, spacing in _shapes(shared):
        mesh = roi_mesh(mask, spacing)
        hull = convex_hull(mesh.vertices, step=np.asarray(spacing) / 2)
        volume, area = oriented_min_box(hull)
        reference = _old_oriented_min_box(ConvexHull(mesh.vertices))
        assert volume <= reference * (1 + 1e-3), (spacing, volume, reference)
        # never larger than the best candidate box (no refinement)
        assert volume <= oriented_min_box(hull, starts=0)[0]
        assert area > 0


def test_face_flush_boxes_equal_the_qhull_callipers(shared):
    """Silhouette-edge callipers give the same face-flush boxes as a 2D Qhull per normal."""
    for mask, spacing in _shapes(shared)[::2]:
        step = np.asarray(spacing) / 2
        exact = np.rint(roi_mesh(mask, spacing).vertices / step) * step
        hull = convex_hull(exact, step=step)
        pts = hull.points[hull.vertices]
        new = np.sort(_mesh._box_volumes(pts, _mesh._face_flush_frames(hull, pts, 10**6)))
        old_hull = ConvexHull(exact)
        old_pts = old_hull.points[old_hull.vertices]
        old = np.sort([_old_box_volume(old_pts, f)
                       for f in _old_face_flush_frames(old_hull, old_pts, 10**6)])
        assert new == pytest.approx(old, rel=1e-9)


def test_ombb_is_exact_for_a_box_and_deterministic():
    corners = np.argwhere(np.ones((2, 2, 2))) * [5.0, 2.0, 1.0]
    rng = np.random.default_rng(6)
    pts = np.vstack([corners, rng.uniform(0, 1, (100, 3)) * [5.0, 2.0, 1.0]]) @ _rotation(rng).T
    hull = convex_hull(pts)
    assert oriented_min_box(hull) == pytest.approx((10.0, 2 * (10 + 5 + 2)), rel=1e-9)
    assert oriented_min_box(hull) == oriented_min_box(hull)


# --- SciPy stays out of the process ----------------------------------------------------------

@needs_c
def test_morphology_does_not_import_scipy_spatial_or_optimize():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        from radsig.features import morphology
        from radsig.preprocess.roi import PreparedRoi
        x = np.stack(np.meshgrid(*[np.arange(-8, 9)] * 3, indexing="ij"), axis=-1)
        mask = np.sum((x / [7.0, 5.0, 4.0]) ** 2, axis=-1) <= 1
        morphology.compute(PreparedRoi(image=np.ones(mask.shape), morph_mask=mask,
                                       int_mask=mask, spacing=(1.2, 0.8, 0.8)))
        print(sorted(m for m in sys.modules if m.startswith(("scipy.spatial", "scipy.optimize"))))
    """)
    src = str(Path(_mesh.__file__).resolve().parents[2])  # this checkout's radsig
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=env)
    assert out.stdout.strip() == "[]"


# --- the C loops of the bounding volumes against their NumPy reference -------------------------
# mvee_semi_axes, _face_flush_frames and _refine run their loops in _chull where it was built;
# with _mesh._chull set to None the same functions run the NumPy loops they replace.

def _without_c(monkeypatch, fn, *args, **kwargs):
    with monkeypatch.context() as m:
        m.setattr(_mesh, "_chull", None)
        return fn(*args, **kwargs)


def _mesh_hulls(count, seed):
    """Hulls of marching-cubes meshes: rotated and axis-aligned (symmetric) ellipsoids, rotated
    boxes, smoothed random blobs and masks one or two slices thick, at varied spacings."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        spacing = (1.0, 1.0, 1.0) if k % 2 else tuple(rng.choice([0.7, 0.976562, 1.25, 2.0], 3))
        kind = k % 5
        if kind in (0, 1):
            x = _grid((21, 21, 21), spacing)
            x = x @ _rotation(rng) if kind == 0 else x
            mask = np.sum((x / rng.uniform(2.5, 9.0, 3)) ** 2, axis=-1) <= 1.0
        elif kind == 2:
            x = _grid((21, 21, 21), spacing) @ _rotation(rng)
            mask = np.all(np.abs(x) <= rng.uniform(1.5, 7.0, 3), axis=-1)
        elif kind == 3:
            mask = _random_mask(rng)
        else:
            mask = rng.random((int(rng.integers(1, 3)), 16, 19)) < 0.7
        if not mask.any():
            continue
        hull = convex_hull(roi_mesh(mask, spacing).vertices, step=np.asarray(spacing) / 2)
        if hull is not None:
            out.append(hull)
    return out


@needs_c
def test_c_mvee_equals_numpy(monkeypatch):
    """The same semi-axes (C vs NumPy loop) to 1e-9 on mesh hulls and few points, and the same
    weights where no two points tie (on a symmetric hull the weight may go to the mirror image
    of NumPy's point: another weight vector, the same ellipsoid)."""
    rng = np.random.default_rng(32)
    generic = [np.vstack([np.zeros(3), np.eye(3)]),                       # four points
               rng.normal(size=(6, 3)),
               rng.normal(size=(300, 3)) * [9.0, 4.0, 1.0] @ _rotation(rng) + 40.0,
               np.c_[rng.normal(size=(40, 2)) * 30, rng.normal(size=40) * 0.3] + 100.0]
    for pts in generic:
        pts = np.ascontiguousarray(pts, dtype=np.float64)
        weights, iterations = _mesh._chull.mvee_weights(pts, 1e-3, 100_000)
        reference = _mesh._mvee_weights(pts, 1e-3, 100_000)
        assert np.frombuffer(weights) == pytest.approx(reference, rel=1e-9, abs=1e-12)
        assert 1 <= iterations < 100_000
    clouds = generic + [np.argwhere(np.ones((2, 2, 2))) * [3.0, 1.0, 0.5]]  # a box's corners
    clouds += [h.points[h.vertices] for h in _mesh_hulls(25, 31)]
    for pts in clouds:
        assert _mesh.mvee_semi_axes(pts) == pytest.approx(
            _without_c(monkeypatch, _mesh.mvee_semi_axes, pts), rel=1e-9)


@needs_c
def test_c_mvee_stops_like_numpy(monkeypatch):
    """The same stopping rules: a loose tolerance, a zero one (max_iter iterations), one step."""
    pts = np.random.default_rng(33).normal(size=(200, 3)) * [5.0, 3.0, 2.0]
    for tol, max_iter in ((0.05, 100_000), (0.0, 40), (1e-3, 1)):
        weights, iterations = _mesh._chull.mvee_weights(np.ascontiguousarray(pts), tol, max_iter)
        assert np.frombuffer(weights) == pytest.approx(_mesh._mvee_weights(pts, tol, max_iter),
                                                       rel=1e-9, abs=1e-12)
        if tol == 0.0 or max_iter == 1:
            assert iterations == max_iter
        assert _mesh.mvee_semi_axes(pts, tol, max_iter) == pytest.approx(
            _without_c(monkeypatch, _mesh.mvee_semi_axes, pts, tol, max_iter), rel=1e-9)


@pytest.mark.parametrize("c_on", [pytest.param(True, marks=needs_c), False])
def test_mvee_of_flat_points_raises(monkeypatch, c_on):
    """No ellipsoid of positive volume: LinAlgError with and without the extension."""
    if not c_on:
        monkeypatch.setattr(_mesh, "_chull", None)
    rng = np.random.default_rng(34)
    flat = [np.ones((1, 3)), np.eye(3), np.outer(np.arange(9.0), [1.0, 2.0, 3.0]),
            np.c_[rng.integers(0, 5, (20, 2)), np.zeros(20)].astype(float),
            rng.normal(size=(20, 2)) @ np.array([[1.0, 2.0, 0.5], [0.3, 1.0, 3.0]]),
            np.repeat(np.eye(3), 3, axis=0), np.zeros((5, 3))]
    for pts in flat:
        with pytest.raises(np.linalg.LinAlgError):
            _mesh.mvee_semi_axes(pts)


@needs_c
def test_c_face_flush_boxes_equal_numpy(monkeypatch):
    """Per chosen normal the same box volume (a tie between two rectangle sides may pick the
    other, equally small one)."""
    for hull in _mesh_hulls(10, 35):
        pts = hull.points[hull.vertices]
        c = _mesh._face_flush_frames(hull, pts, 128)
        ref = _without_c(monkeypatch, _mesh._face_flush_frames, hull, pts, 128)
        assert c[:, 0] == pytest.approx(ref[:, 0], abs=1e-12)  # the same normals, same order
        assert _mesh._box_volumes(pts, c) == pytest.approx(_mesh._box_volumes(pts, ref),
                                                           rel=1e-9)
        assert np.einsum("kij,kil->kjl", c, c) == pytest.approx(np.broadcast_to(np.eye(3),
                                                                                c.shape), abs=1e-12)


@needs_c
def test_c_box_search_equals_numpy(monkeypatch):
    """The pattern search in C takes the NumPy search's path: the same box to 1e-9 on mesh hulls
    (a floating-point tie may branch differently: then never larger than NumPy's by 1e-6), and
    never larger than the best candidate box. On random clouds, from any frame and step, the
    same frame and volume (C evaluates the extents only over the points that can be extreme)."""
    differ = 0
    hulls = _mesh_hulls(40, 36)
    for hull in hulls:
        volume, area = oriented_min_box(hull)
        ref_volume, ref_area = _without_c(monkeypatch, oriented_min_box, hull)
        assert volume <= ref_volume * (1 + 1e-6)
        assert volume <= oriented_min_box(hull, starts=0)[0]
        differ += abs(volume - ref_volume) > 1e-9 * ref_volume
        if abs(volume - ref_volume) <= 1e-9 * ref_volume:
            assert area == pytest.approx(ref_area, rel=1e-6)
    assert differ <= len(hulls) // 10
    rng = np.random.default_rng(37)
    for k in range(12):
        pts = rng.normal(size=(int(rng.integers(4, 300)), 3)) * rng.uniform(0.5, 20, 3)
        pts += rng.normal(size=3) * 50 * (k % 2)        # far from the origin too
        frame, step = _rotation(rng), [0.05, 0.3, 1.0][k % 3]
        got, got_volume = _mesh._refine(pts, frame, step=step)
        ref, ref_volume = _mesh._refine_numpy(pts, frame, step=step)
        assert got_volume == pytest.approx(ref_volume, rel=1e-9)
        assert got == pytest.approx(ref, abs=1e-7)
        assert got_volume == pytest.approx(_mesh._box_volume(pts, got), rel=1e-12)


@needs_c
def test_c_bounding_loops_release_the_gil():
    """While a long MVEE loop runs in a thread, the main thread keeps running Python."""
    import threading
    import time

    pts = np.random.default_rng(38).normal(size=(20_000, 3))
    done = {}

    def work():
        start = time.perf_counter()
        _mesh._chull.mvee_weights(pts, 0.0, 1500)  # about 0.15 s
        done["seconds"] = time.perf_counter() - start

    thread = threading.Thread(target=work)
    ticks = [time.perf_counter()]
    thread.start()
    while thread.is_alive():
        ticks.append(time.perf_counter())
    thread.join()
    assert done["seconds"] > 0.05  # long enough to tell
    assert np.max(np.diff(ticks)) < 0.5 * done["seconds"]  # held, the GIL would stop it all along


@needs_c
def test_c_bounding_loops_refuse_bad_buffers():
    with pytest.raises(ValueError):
        _mesh._chull.mvee_weights(np.zeros((0, 3)), 1e-3, 10)
    with pytest.raises(ValueError):
        _mesh._chull.refine(np.zeros((4, 3)), np.eye(2), 0.05, 1e-8, 10)
    pts, ends, groups = np.zeros((4, 3)), np.array([[0, 1], [1, 2]]), np.array([0, 1])
    unit = np.eye(3)
    with pytest.raises(ValueError):  # one group index per edge
        _mesh._chull.flush_sides(pts, ends, groups[:1], groups, unit, unit, unit, unit)
    with pytest.raises(ValueError):  # a point index out of range
        _mesh._chull.flush_sides(pts, ends + 3, groups, groups, unit, unit, unit, unit)


def test_bounding_volumes_in_threads_equal_sequential():
    """The C loops keep no state between calls: two threads give the sequential results."""
    from concurrent.futures import ThreadPoolExecutor

    hulls = _mesh_hulls(6, 39)

    def bounds(hull):
        return oriented_min_box(hull), tuple(_mesh.mvee_semi_axes(hull.points[hull.vertices]))

    sequential = [bounds(h) for h in hulls]
    with ThreadPoolExecutor(2) as pool:
        threaded = list(pool.map(bounds, hulls * 2))
    assert threaded == sequential * 2
