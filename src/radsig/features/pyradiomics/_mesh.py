"""Marching-cubes surface of a binary mask, triangulated the way PyRadiomics does.

PyRadiomics walks every 2×2×2 cube of the 1-voxel-padded mask, and when the cube's last corner
(z+1, y+1, x) is inside it uses the triangles of the complementary corner pattern (so half of
the ambiguous patterns are resolved one way, half the other). Surface area and volume (signed
tetrahedra, divergence theorem, with the padded-crop origin) therefore depend on exactly that
choice. Here the 256 per-cube triangle sets are derived once from scikit-image's Lorensen
marching cubes run on each single 2×2×2 pattern (or its complement, following the same rule), and
each triangle is oriented to face away from the inside corners. Cubes are then processed one
pattern at a time with NumPy, never one voxel at a time.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

__all__ = ["mesh_surface", "derive_table", "write_table"]

# Cube corners (z, y, x) in PyRadiomics' bit order.
CORNERS = np.array([(0, 0, 0), (0, 0, 1), (0, 1, 1), (0, 1, 0),
                    (1, 0, 0), (1, 0, 1), (1, 1, 1), (1, 1, 0)])


def _orient(tris: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """Reverse triangles whose normal points towards the inside corners of their edges."""
    normal = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    score = np.zeros(len(tris))
    lookup = {tuple(c): k for k, c in enumerate(CORNERS)}
    for vi in range(3):
        v = tris[:, vi]
        along = np.abs(v - np.round(v)) > 0.25  # the axis of the edge this vertex lies on
        lo, hi = np.where(along, np.floor(v), v), np.where(along, np.ceil(v), v)
        lo_in = np.array([inside[lookup[tuple(int(t) for t in row)]] for row in lo])
        p_in = np.where(lo_in[:, None], lo, hi)
        score += np.einsum("ij,ij->i", normal, p_in - v)
    out = tris.copy()
    out[score > 0] = out[score > 0][:, ::-1]
    return out


TABLE_FILE = Path(__file__).with_name("mc_table.json")


@functools.lru_cache(maxsize=1)
def _table() -> tuple[np.ndarray, ...]:
    """Per-pattern triangles (n, 3 vertices, zyx), read from ``mc_table.json``.

    The file holds :func:`derive_table`'s output (coordinates × 2, as small integers) so that
    extraction does not import scikit-image; a test re-derives it and compares.
    """
    try:
        data = json.loads(TABLE_FILE.read_text())
        return tuple(np.asarray(t, dtype=float).reshape(-1, 3, 3) / 2 for t in data)
    except (OSError, ValueError):
        return derive_table()


def derive_table() -> tuple[np.ndarray, ...]:
    """Derive the 256 per-pattern triangle sets from scikit-image's Lorensen marching cubes."""
    from skimage.measure import marching_cubes

    table = []
    for code in range(256):
        source = code ^ 0xFF if code & 0x80 else code
        cube = np.zeros((2, 2, 2), dtype=np.float32)
        for k in range(8):
            if source >> k & 1:
                cube[tuple(CORNERS[k])] = 1
        if source in (0, 0xFF):
            table.append(np.zeros((0, 3, 3)))
            continue
        verts, faces, _, _ = marching_cubes(cube, 0.5, method="lorensen")
        inside = np.array([(code >> k) & 1 for k in range(8)], dtype=bool)
        table.append(_orient(verts[faces].astype(float), inside))
    return tuple(table)


def write_table(path: Path = TABLE_FILE) -> None:
    """Write :func:`derive_table` to *path* (run when scikit-image's tables change)."""
    data = [np.rint(t * 2).astype(int).ravel().tolist() for t in derive_table()]
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")


@functools.lru_cache(maxsize=8)
def _per_pattern(spacing: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pattern: total triangle area, and the volume terms n_c (3,) and s_c.

    With a triangle (P+A, P+B, P+C) for a cube at P, (P+A)·((P+B)×(P+C)) =
    P·(B×C + C×A + A×B) + A·(B×C); summing over a pattern's triangles gives n_c and s_c, so
    the signed volume of the whole mesh only needs per-pattern counts and position sums.
    """
    sp = np.asarray(spacing, dtype=float)
    table = _table()
    code = np.repeat(np.arange(256), [len(t) for t in table])
    tris = np.concatenate([t for t in table if len(t)]) * sp  # (all triangles, 3, zyx)
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    area = np.bincount(code, weights=0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1),
                       minlength=256)
    n = np.cross(b, c) + np.cross(c, a) + np.cross(a, b)
    normal = np.stack([np.bincount(code, weights=n[:, k], minlength=256) for k in range(3)], 1)
    const = np.bincount(code, weights=np.einsum("ij,ij->i", a, np.cross(b, c)), minlength=256)
    return area, normal, const


def _vertices(m: np.ndarray, sp: np.ndarray) -> np.ndarray:
    """Mesh vertices (mm): midpoints of the grid edges whose two voxels differ."""
    out = []
    for axis in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[axis], hi[axis] = slice(None, -1), slice(1, None)
        idx = np.argwhere(m[tuple(lo)] != m[tuple(hi)]).astype(float)
        idx[:, axis] += 0.5
        out.append(idx)
    return np.concatenate(out) * sp


def mesh_surface(mask: np.ndarray, spacing_zyx) -> tuple[float, float, np.ndarray]:
    """(surface area, volume, vertices (n, 3) in mm) of a boolean (z, y, x) mask.

    The mask should already be cropped to its bounding box (coordinates start at the padded
    crop, as in PyRadiomics).
    """
    sp = np.asarray(spacing_zyx, dtype=float)
    m = np.pad(mask.astype(bool), 1)
    nz, ny, nx = (s - 1 for s in m.shape)
    code = np.zeros((nz, ny, nx), dtype=np.uint8)
    for k, (dz, dy, dx) in enumerate(CORNERS):
        code |= m[dz:dz + nz, dy:dy + ny, dx:dx + nx].astype(np.uint8) << k
    area_c, normal_c, const_c = _per_pattern(tuple(float(v) for v in sp))
    flat = code.ravel()
    counts = np.bincount(flat, minlength=256)
    grids = np.indices(code.shape, sparse=True)
    pos_sum = np.stack([np.bincount(flat, weights=np.broadcast_to(g, code.shape).ravel()
                                    .astype(float), minlength=256) for g in grids], 1) * sp
    area = float(counts @ area_c)
    volume = float((pos_sum * normal_c).sum() + counts @ const_c)
    return area, abs(volume) / 6.0, _vertices(m, sp)
