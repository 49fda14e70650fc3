"""Grey level distance zone matrices (GLDZM): zones as in the GLSZM, each zone's distance to the
ROI border from a taxicab distance transform.
"""

from __future__ import annotations

import numpy as np

from radsig.features._texture import as_levels, count_matrix
from radsig.features.glszm_matrix import Zones, label_zones

__all__ = ["border_distance", "zone_distances", "gldzm_matrices"]


def border_distance(mask: np.ndarray, *, per_slice: bool = False) -> np.ndarray:
    """Taxicab distance of each ROI voxel to the ROI border (1 for voxels on the border).

    Voxels outside ``mask`` and beyond the array edge count as outside the ROI. ``per_slice``
    measures within each slice (4-connected steps), otherwise in the volume (6-connected),
    as IBSI defines the GLDZM distance.

    Returns ndarray of int64, same shape as ``mask``; 0 outside the ROI.
    """
    m = np.asarray(mask, dtype=bool)
    if m.ndim == 2:
        m = m[None]
    # The taxicab (L1) distance to the nearest background voxel is separable: one forward and
    # one backward sweep of d[i] = min(d[i], d[i -/+ 1] + 1) per axis gives it exactly (the
    # value scipy.ndimage.distance_transform_cdt gives with the cross-shaped metric), in
    # NumPy without importing SciPy (≈ 0.2 s of a one-case extract).
    padded = np.pad(m, 1, mode="constant", constant_values=False)
    dist = np.where(padded, np.int64(sum(padded.shape)), np.int64(0))
    for ax in ((1, 2) if per_slice else (0, 1, 2)):
        d = np.moveaxis(dist, ax, 0)  # a view: the sweeps write into dist
        for i in range(1, d.shape[0]):
            np.minimum(d[i], d[i - 1] + 1, out=d[i])
        for i in range(d.shape[0] - 2, -1, -1):
            np.minimum(d[i], d[i + 1] + 1, out=d[i])
    return dist[1:-1, 1:-1, 1:-1]


def zone_distances(zones: Zones, distance_map: np.ndarray) -> np.ndarray:
    """Smallest ``distance_map`` value over the voxels of each zone, shape (n_zones,)."""
    if zones.n_zones == 0:
        return np.zeros(0, dtype=np.int64)
    lab = zones.labels.ravel()
    roi = np.flatnonzero(lab)
    out = np.full(zones.n_zones, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, lab[roi] - 1, np.asarray(distance_map).ravel()[roi].astype(np.int64))
    return out


def gldzm_matrices(levels: np.ndarray, n_levels: int, morph_mask: np.ndarray | None = None, *,
                   connectivity: int | None = None, per_slice: bool = False,
                   max_distance: int | None = None) -> np.ndarray:
    """Zone-distance counts.

    Parameters
    ----------
    levels : ndarray of int, shape (z, y, x)
        Grey levels ``1..n_levels`` in the intensity mask, 0 outside; zones come from these.
    n_levels : int
        ``N_g``.
    morph_mask : ndarray of bool, shape (z, y, x), optional
        Mask whose border the distances are measured to (IBSI: the morphological mask);
        default ``levels > 0``.
    connectivity, per_slice
        Zone linkage as in :func:`radsig.features.glszm_matrix.label_zones`; ``per_slice``
        also makes the distance in-slice.
    max_distance : int, optional
        Number of distance columns ``N_d``; default the largest zone distance (at least 1).

    Returns
    -------
    ndarray of int64
        Shape ``(N_g, N_d)``, or ``(n_z, N_g, N_d)`` with ``per_slice``; entry ``[i-1, j-1]``
        counts zones of grey level i whose distance to the border is j.
    """
    lv = as_levels(levels)
    mask = (lv > 0) if morph_mask is None else np.asarray(morph_mask, bool).reshape(lv.shape)
    zones = label_zones(lv, n_levels, connectivity=connectivity, per_slice=per_slice)
    # Zone voxels outside the morphological mask would get distance 0; count them as border.
    dmap = np.maximum(border_distance(mask, per_slice=per_slice), 1)
    dist = zone_distances(zones, dmap)
    largest = int(dist.max()) if dist.size else 1
    nd = largest if max_distance is None else int(max_distance)
    if largest > nd:
        raise ValueError(f"max_distance={nd} is smaller than the largest distance ({largest})")
    return count_matrix(zones.level - 1, dist - 1, int(n_levels), nd,
                        zones.z if per_slice else None, lv.shape[0])
