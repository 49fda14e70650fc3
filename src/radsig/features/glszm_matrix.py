"""Grey level size zone matrices (GLSZM): zones by the C flood fill that PyRadiomics mode uses
(``features.pyradiomics._ckernels``), or ``scipy.ndimage.label`` per grey level without it.

:func:`label_zones` is shared with the distance zone matrix (:mod:`.gldzm_matrix`). The C
kernels of PyRadiomics mode also build IBSI mode's volume GLCM, GLRLM and NGLDM counts
(``glcm_matrix``, ``glrlm_matrix``, ``ngldm_matrix``): the same pairs, runs and neighbours, so
the same integer counts (tested against the NumPy code, which runs where they were not compiled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from radsig.features._texture import as_levels, check_levels, count_matrix

__all__ = ["Zones", "label_zones", "zone_structure", "glszm_matrices", "compact_zone_matrix"]

_RANK_OF = {4: 1, 8: 2, 6: 1, 18: 2, 26: 3}


def zone_structure(connectivity: int | None = None, *, per_slice: bool = False) -> np.ndarray:
    """3x3x3 boolean structuring element for zone linkage.

    ``per_slice`` → in-slice only (``connectivity`` 4 or 8, default 8); else volume
    (6, 18 or 26, default 26).
    """
    conn = (8 if per_slice else 26) if connectivity is None else int(connectivity)
    allowed = (4, 8) if per_slice else (6, 18, 26)
    if conn not in allowed:
        raise ValueError(f"connectivity must be one of {allowed} "
                         f"({'2D' if per_slice else '3D'}), got {connectivity}")
    # scipy.ndimage.generate_binary_structure: offsets with at most `rank` non-zero steps
    steps = np.abs(np.indices((3, 3, 3)) - 1)
    s = (steps != 0).sum(axis=0) <= _RANK_OF[conn]
    if per_slice:
        s[0] = s[2] = False
    return s


@dataclass
class Zones:
    """Connected zones of equal grey level.

    Attributes
    ----------
    labels : ndarray of int64, shape (z, y, x)
        Zone label of each voxel, ``1..n_zones``; 0 outside the ROI.
    level : ndarray of int64, shape (n_zones,)
        Grey level of zone ``k`` at index ``k - 1``.
    size : ndarray of int64, shape (n_zones,)
        Number of voxels of each zone.
    z : ndarray of int64, shape (n_zones,)
        Slice index of each zone's first voxel (its only slice for in-slice linkage).
    """

    labels: np.ndarray
    level: np.ndarray
    size: np.ndarray
    z: np.ndarray

    @property
    def n_zones(self) -> int:
        return int(self.level.size)


def label_zones(levels: np.ndarray, n_levels: int, *, connectivity: int | None = None,
                per_slice: bool = False) -> Zones:
    """Label the zones of every grey level (C flood fill; else one ``ndimage.label`` call per
    level present).

    Parameters
    ----------
    levels : ndarray of int, shape (z, y, x)
        Grey levels ``1..n_levels`` in the ROI, 0 outside.
    n_levels : int
        ``N_g``.
    connectivity : int, optional
        Voxel linkage: 4/8 in-slice (``per_slice``), 6/18/26 in the volume. Defaults 8 / 26
        (IBSI linkage distance 1; PyRadiomics uses 26 in 3D).
    per_slice : bool
        Link voxels only within a slice (IBSI 2D and 2.5D).
    """
    lv = as_levels(levels)
    check_levels(lv, n_levels)
    struct = zone_structure(connectivity, per_slice=per_slice)
    kernels = _ckernels()
    if kernels is not None:
        return _zones_c(kernels, lv, struct)
    from scipy import ndimage  # only without the C kernels: SciPy's import costs ≈ 0.2 s

    labels = np.zeros(lv.shape, dtype=np.int64)
    zone_level = []
    n_total = 0
    # Label each grey level inside its own bounding box only (find_objects: one pass).
    for g0, box in enumerate(ndimage.find_objects(lv)):
        if box is None:
            continue
        lab, n = ndimage.label(lv[box] == g0 + 1, structure=struct)
        sel = lab > 0
        labels[box][sel] = lab[sel] + n_total
        zone_level.append(np.full(n, g0 + 1, dtype=np.int64))
        n_total += n
    level = np.concatenate(zone_level) if zone_level else np.zeros(0, np.int64)
    flat = labels.ravel()
    size = np.bincount(flat, minlength=n_total + 1)[1:].astype(np.int64)
    return Zones(labels=labels, level=level, size=size, z=_first_slices(labels, n_total))


def _first_slices(labels: np.ndarray, n_total: int) -> np.ndarray:
    """Slice index of each zone's first voxel (C order)."""
    flat = labels.ravel()
    z = np.zeros(n_total, dtype=np.int64)
    in_roi = np.flatnonzero(flat)
    zz = in_roi // (labels.shape[1] * labels.shape[2])
    # Reversed assignment: the smallest z (first voxel) of each zone is written last.
    z[flat[in_roi][::-1] - 1] = zz[::-1]
    return z


def _ckernels():
    """PyRadiomics mode's C kernels (its flood-fill zones serve both modes), or None."""
    from radsig.features.pyradiomics import _matrices

    return _matrices._C


def _kernel_box(lv: np.ndarray, pad: int, offsets) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The C kernels' input for the levels *lv*: the box padded with *pad* zero voxels (int32),
    the flat-index step of each (z, y, x) offset in it, and the flat indices of its ROI voxels."""
    box = np.pad(lv, pad).astype(np.int32)
    strides = np.array([box.shape[1] * box.shape[2], box.shape[2], 1], dtype=np.int64)
    steps = np.ascontiguousarray(np.asarray(offsets, dtype=np.int64).reshape(-1, 3) @ strides)
    return box, steps, np.flatnonzero(box).astype(np.int64)


def _half_steps(offsets) -> np.ndarray | None:
    """One offset of each +/- pair of the neighbour *offsets* (the kernels look at v +/- each
    step), or None without the C kernels, without offsets, or when the offsets are not such
    pairs (the centre, (0, 0, 0), is never a neighbour step)."""
    if _ckernels() is None:
        return None
    offs = {tuple(int(v) for v in o) for o in np.asarray(offsets, dtype=np.int64).reshape(-1, 3)}
    offs.discard((0, 0, 0))
    if not offs or offs != {tuple(-v for v in o) for o in offs}:
        return None
    return np.array(sorted(o for o in offs if o > (0, 0, 0)), dtype=np.int64)


def _per_slice_c(count, lv: np.ndarray, shape: tuple[int, ...],
                 dtype=np.int64) -> np.ndarray | None:
    """``count(slice)`` of every slice of *lv* (a (1, y, x) block), zeros for a slice without
    ROI voxels, stacked: shape ``(n_z,) + shape``; None without the C kernels. In-slice offsets
    never leave the slice, so each slice's counts are those of the volume's pairs in it."""
    if _ckernels() is None:
        return None
    out = np.zeros((lv.shape[0],) + tuple(shape), dtype=dtype)
    for z in range(lv.shape[0]):
        if lv[z].any():
            out[z] = count(lv[z:z + 1])
    return out


def _zones_c(kernels, lv: np.ndarray, struct: np.ndarray) -> Zones:
    """:func:`label_zones` by the C flood fill shared with PyRadiomics mode: the same zones
    (connected components of one grey level under *struct*), numbered in order of their first
    voxel instead of by grey level (the matrices count zones, so they are identical)."""
    half = [d for d in np.argwhere(struct) - 1 if tuple(d) > (0, 0, 0)]  # one of each +/- pair
    box, steps, idx = _kernel_box(lv, 1, half)
    level = np.empty(idx.size, dtype=np.int32)
    size = np.empty(idx.size, dtype=np.int64)
    labels_box = np.zeros(box.size, dtype=np.int64)
    n = kernels.zones(box.reshape(-1), idx, steps, level, size, labels_box)
    labels = np.ascontiguousarray(labels_box.reshape(box.shape)[1:-1, 1:-1, 1:-1])
    return Zones(labels=labels, level=level[:n].astype(np.int64), size=size[:n].copy(),
                 z=_first_slices(labels, n))


def glszm_matrices(levels: np.ndarray, n_levels: int, *, connectivity: int | None = None,
                   per_slice: bool = False, max_size: int | None = None) -> np.ndarray:
    """Zone-size counts.

    Parameters
    ----------
    levels, n_levels, connectivity, per_slice
        As in :func:`label_zones`.
    max_size : int, optional
        Number of zone-size columns ``N_s``; default the largest zone found (at least 1).

    Returns
    -------
    ndarray of int64
        Shape ``(N_g, N_s)``, or ``(n_z, N_g, N_s)`` with ``per_slice``; entry ``[i-1, j-1]``
        counts zones of grey level i with j voxels.
    """
    zones = label_zones(levels, n_levels, connectivity=connectivity, per_slice=per_slice)
    largest = int(zones.size.max()) if zones.n_zones else 1
    ns = largest if max_size is None else int(max_size)
    if largest > ns:
        raise ValueError(f"max_size={ns} is smaller than the largest zone ({largest})")
    nz = zones.labels.shape[0]
    return count_matrix(zones.level - 1, zones.size - 1, int(n_levels), ns,
                        zones.z if per_slice else None, nz)


def compact_zone_matrix(zones: Zones, values: np.ndarray, n_levels: int, *,
                        per_slice: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Zone counts with one column per distinct value only (no empty columns).

    Parameters
    ----------
    zones : Zones
        From :func:`label_zones`.
    values : ndarray of int, shape (n_zones,)
        Column quantity of each zone: ``zones.size`` (GLSZM) or its border distance (GLDZM).
    n_levels : int
        ``N_g``.
    per_slice : bool
        Split by ``zones.z``.

    Returns
    -------
    counts : ndarray of int64, shape (N_g, n_values) or (n_z, N_g, n_values)
    column_values : ndarray of int64, shape (n_values,)
        Sorted distinct values; column ``c`` counts zones whose value is ``column_values[c]``
        (PyRadiomics' GLSZM keeps exactly these columns).
    """
    uniq, col = np.unique(np.asarray(values, dtype=np.int64), return_inverse=True)
    nz = zones.labels.shape[0]
    m = count_matrix(zones.level - 1, col, int(n_levels), uniq.size,
                     zones.z if per_slice else None, nz)
    return m, uniq
