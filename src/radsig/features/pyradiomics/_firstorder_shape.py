"""First-order and shape (3D / 2D) features with PyRadiomics' formulas and names.

First order: intensities inside the ROI (``voxelArrayShift`` added for Energy, TotalEnergy and
RootMeanSquared), population moments (kurtosis not excess), NumPy's linear percentiles; Entropy and
Uniformity on the discretised histogram. Shape: a marching-cubes surface of the 1-voxel-padded
mask, triangulated like PyRadiomics (``_mesh``), gives the mesh volume, the surface area and the maximum diameters between mesh vertices (searched on the convex hull, which
holds every farthest pair); axis lengths come from the eigenvalues of the voxel-coordinate
covariance.
"""

from __future__ import annotations

import numpy as np

__all__ = ["firstorder_features", "shape_features", "shape2d_features"]


def firstorder_features(values: np.ndarray, q_values: np.ndarray, spacing_zyx, shift: float,
                        names) -> dict[str, float]:
    """*values*: ROI intensities (float); *q_values*: their grey levels."""
    x = values.astype(np.float64)
    n = x.size
    counts = np.bincount(q_values)
    counts = counts[counts > 0]  # per grey level present, in level order (as np.unique)
    p = counts / counts.sum()
    mean = x.mean()
    dev = x - mean
    dev2 = dev * dev  # products, not ** 3 / ** 4 (NumPy's pow is ~10x slower than a multiply)
    m2 = np.mean(dev2)
    (p10, p25, p75, p90), median, lo, hi = order_statistics(x, [10, 25, 75, 90])
    energy = np.sum((x + shift) ** 2)

    def robust_mad():
        sel = x[(x >= p10) & (x <= p90)]
        return np.mean(np.abs(sel - sel.mean()))

    f = {
        "Energy": lambda: energy,
        "TotalEnergy": lambda: energy * float(np.prod(spacing_zyx)),
        "Entropy": lambda: -np.sum(p * np.log2(p + np.spacing(1))),
        "Minimum": lambda: lo, "10Percentile": lambda: p10, "90Percentile": lambda: p90,
        "Maximum": lambda: hi, "Mean": lambda: mean, "Median": lambda: median,
        "InterquartileRange": lambda: p75 - p25, "Range": lambda: hi - lo,
        "MeanAbsoluteDeviation": lambda: np.mean(np.abs(dev)),
        "RobustMeanAbsoluteDeviation": robust_mad,
        "RootMeanSquared": lambda: np.sqrt(energy / n) if n else 0.0,
        "Skewness": lambda: np.mean(dev2 * dev) / m2 ** 1.5 if m2 != 0 else 0.0,
        "Kurtosis": lambda: np.mean(dev2 * dev2) / m2 ** 2 if m2 != 0 else 0.0,
        "Variance": lambda: np.std(x) ** 2, "StandardDeviation": lambda: np.std(x),
        "Uniformity": lambda: np.sum(p ** 2),
    }
    return {name: float(f[name]()) for name in names}


def order_statistics(x: np.ndarray, percents):
    """(percentiles, median, minimum, maximum) of a float64 vector from one partial sort.

    The same values as ``np.percentile`` (its default 'linear' method, same interpolation
    formula) and ``np.median``; one ``np.partition`` serves all of them (``np.percentile`` also
    imports ``numpy.ma`` on first use, ~10 ms of a fresh process).
    """
    n = x.size
    q = np.asarray(percents, dtype=np.float64) / 100
    virtual = (n - 1) * q
    prev = np.floor(virtual)
    nxt = prev + 1
    above = virtual >= n - 1
    prev[above] = n - 1
    nxt[above] = n - 1
    prev, nxt = prev.astype(np.intp), nxt.astype(np.intp)
    mid = [n // 2 - 1, n // 2] if n % 2 == 0 else [n // 2]
    kth = sorted({0, n - 1, *mid, *prev.tolist(), *nxt.tolist()})
    part = np.partition(x, kth)
    a, b = part[prev], part[nxt]
    t = virtual - prev
    diff = b - a
    pct = a + diff * t
    np.subtract(b, diff * (1 - t), out=pct, where=t >= 0.5)  # NumPy's _lerp
    median = part[mid[0]] if len(mid) == 1 else np.add.reduce(part[mid]) / 2
    return pct, median, part[0], part[n - 1]


def _eigen(coords: np.ndarray, spacing) -> np.ndarray:
    phys = coords.astype(float) * np.asarray(spacing, float)[None, :]
    phys -= phys.mean(0)
    phys /= np.sqrt(len(coords))
    ev = np.linalg.eigvals(phys.T @ phys).real
    ev[(ev < 0) & (ev > -1e-10)] = 0
    return np.sort(ev)


def _row_extremes(points: np.ndarray) -> np.ndarray:
    """Per distinct leading coordinates, the points with the smallest and largest last one.

    A point strictly inside a line segment of the set is no vertex of its convex hull, and every
    farthest pair is a pair of hull vertices: only line extremes can take part.
    """
    if len(points) < 3:
        return points
    order = np.lexsort(points.T[::-1])
    p = points[order]
    lead = p[:, :-1]
    new = np.r_[True, (lead[1:] != lead[:-1]).any(1)]
    last = np.r_[new[1:], True]
    return p[new | last]


def _pairwise_max(pts: np.ndarray) -> float:
    """Largest pairwise distance; points too close to the centre to beat a known pair are skipped."""
    if len(pts) < 2:
        return 0.0
    centre = pts.mean(0)
    r = np.sqrt(((pts - centre) ** 2).sum(1))
    a = pts[np.argmax(r)]  # double sweep: a good lower bound
    b = pts[np.argmax(((pts - a) ** 2).sum(1))]
    best2 = float(((a - b) ** 2).sum())
    keep = r >= np.sqrt(best2) - r.max() - 1e-9
    cand = pts[keep]
    for start in range(0, len(cand), 1024):
        d = ((cand[start:start + 1024, None, :] - cand[None, :, :]) ** 2).sum(-1)
        best2 = max(best2, float(d.max()))
    return float(np.sqrt(best2))


def _max_dist(points: np.ndarray) -> float:
    """Largest pairwise distance between 3D points."""
    cand = points
    for axis in range(3):  # hull vertices are extremes of their line along every axis
        cand = _row_extremes(np.roll(cand, -axis - 1, axis=1))
        cand = np.roll(cand, axis + 1, axis=1)
    return _pairwise_max(cand)


def _plane_max(verts: np.ndarray, axis: int) -> float:
    """Largest distance between vertices sharing the same coordinate along *axis*.

    Candidates are reduced to row and column extremes per plane; a per-plane lower bound (two
    farthest-point sweeps) then discards points, and whole planes, that cannot beat the best
    bound (|p - q| <= |p - c| + |q - c|); the rest are compared exhaustively, all planes at once
    in NaN-padded blocks.
    """
    others = [a for a in range(3) if a != axis]
    pts = _row_extremes(verts[:, [axis] + others])  # extremes per (plane, row)
    pts = _row_extremes(pts[:, [0, 2, 1]])  # and per (plane, column); sorted by plane
    if len(pts) < 2:
        return 0.0
    _, start, counts = np.unique(pts[:, 0], return_index=True, return_counts=True)
    group = np.repeat(np.arange(len(counts)), counts)
    xy = pts[:, 1:]
    centre = np.stack([np.bincount(group, weights=xy[:, k]) for k in range(2)], 1) / counts[:, None]
    r = np.sqrt(((xy - centre[group]) ** 2).sum(1))
    rmax = np.maximum.reduceat(r, start)
    far = start + np.array([np.argmax(seg) for seg in np.split(r, start[1:])])
    d_far = np.sqrt(((xy - xy[far][group]) ** 2).sum(1))
    bound = np.maximum.reduceat(d_far, start)  # a real pair distance in each plane
    best_all = bound.max()
    keep = (r >= bound[group] - rmax[group] - 1e-9) & (2 * rmax[group] >= best_all - 1e-9)
    xy, group = xy[keep], group[keep]
    if len(xy) < 2:
        return float(best_all)
    uniq, inv, counts = np.unique(group, return_inverse=True, return_counts=True)
    start = np.r_[0, np.cumsum(counts)[:-1]]
    width = int(counts.max())
    block = np.full((len(uniq), width, 2), np.nan)
    block[inv, np.arange(len(xy)) - start[inv]] = xy
    best = float(best_all) ** 2
    step = max(1, int(1e6 // (width * width)))  # blocks of <= 1e6 pairs (bounded memory)
    for lo in range(0, len(uniq), step):
        b = block[lo:lo + step]
        d = ((b[:, :, None, :] - b[:, None, :, :]) ** 2).sum(-1)
        if np.isfinite(d).any():
            best = max(best, float(np.nanmax(d)))
    return float(np.sqrt(best))


def shape_features(mask: np.ndarray, spacing_zyx, names) -> dict[str, float]:
    """3D shape features of a boolean (z, y, x) mask (cropped to its bounding box)."""
    from radsig.features.pyradiomics._mesh import mesh_surface

    sp = np.asarray(spacing_zyx, dtype=float)
    area, volume, verts = mesh_surface(mask, sp)
    coords = np.argwhere(mask)
    ev = _eigen(coords, sp)
    n_vox = len(coords)
    sph = (36 * np.pi * volume ** 2) ** (1 / 3)
    f = {
        "MeshVolume": lambda: volume, "VoxelVolume": lambda: n_vox * sp.prod(),
        "SurfaceArea": lambda: area, "SurfaceVolumeRatio": lambda: area / volume,
        "Sphericity": lambda: sph / area,
        "Compactness1": lambda: volume / (area ** 1.5 * np.sqrt(np.pi)),
        "Compactness2": lambda: 36 * np.pi * volume ** 2 / area ** 3,
        "SphericalDisproportion": lambda: area / sph,
        "Maximum3DDiameter": lambda: _max_dist(verts),
        "Maximum2DDiameterSlice": lambda: _plane_max(verts, 0),
        "Maximum2DDiameterColumn": lambda: _plane_max(verts, 1),
        "Maximum2DDiameterRow": lambda: _plane_max(verts, 2),
        "MajorAxisLength": lambda: np.sqrt(ev[2]) * 4 if ev[2] >= 0 else np.nan,
        "MinorAxisLength": lambda: np.sqrt(ev[1]) * 4 if ev[1] >= 0 else np.nan,
        "LeastAxisLength": lambda: np.sqrt(ev[0]) * 4 if ev[0] >= 0 else np.nan,
        "Elongation": lambda: np.sqrt(ev[1] / ev[2]),
        "Flatness": lambda: np.sqrt(ev[0] / ev[2]),
    }
    return {name: float(f[name]()) for name in names}


def shape2d_features(mask2d: np.ndarray, spacing_yx, names) -> dict[str, float]:
    """2D shape features of a boolean (rows, cols) mask."""
    from skimage.measure import find_contours

    sp = np.asarray(spacing_yx, dtype=float)
    m = np.pad(mask2d, 1).astype(np.float32)
    perimeter, surface, pts = 0.0, 0.0, []
    for contour in find_contours(m, 0.5, fully_connected="high"):
        c = contour * sp[None, :]
        seg = np.diff(c, axis=0)
        perimeter += np.sqrt((seg ** 2).sum(1)).sum()
        y, x = c[:, 0], c[:, 1]
        surface += 0.5 * (x[:-1] * y[1:] - x[1:] * y[:-1]).sum()
        pts.append(c)
    surface = abs(surface)
    verts = np.concatenate(pts) if pts else np.zeros((0, 2))
    coords = np.argwhere(mask2d)
    ev = _eigen(coords, sp)
    sph = 2 * np.sqrt(np.pi * surface) / perimeter
    f = {
        "MeshSurface": lambda: surface, "PixelSurface": lambda: len(coords) * sp.prod(),
        "Perimeter": lambda: perimeter, "PerimeterSurfaceRatio": lambda: perimeter / surface,
        "Sphericity": lambda: sph, "SphericalDisproportion": lambda: 1 / sph,
        "MaximumDiameter": lambda: _pairwise_max(_row_extremes(verts)),
        "MajorAxisLength": lambda: np.sqrt(ev[1]) * 4, "MinorAxisLength": lambda: np.sqrt(ev[0]) * 4,
        "Elongation": lambda: np.sqrt(ev[0] / ev[1]),
    }
    return {name: float(f[name]()) for name in names}
