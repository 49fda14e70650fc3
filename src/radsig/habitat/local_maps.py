"""Voxel-wise local feature maps inside a tumour, the input of habitat clustering.

Each map is computed on the ROI's bounding box (plus a margin) with separable uniform filters,
so the cost is linear in the box size: local mean, local standard deviation and local entropy of
the discretised intensities in a cubic neighbourhood of about ``radius_mm``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from radsig.exceptions import EmptyMaskError, GeometryMismatchError

MAP_NAMES = ("intensity", "local_mean", "local_sd", "local_entropy")
#: maps clustered by default: raw and smoothed intensity of each modality (texture maps on request;
#: they also mark the interfaces between subregions, which then tend to form habitats of their own)
DEFAULT_MAPS = ("intensity", "local_mean")


def _window(spacing_zyx: Sequence[float], radius_mm: float) -> tuple[int, ...]:
    return tuple(max(1, 2 * int(round(radius_mm / s)) + 1) for s in spacing_zyx)


def _bbox(mask: np.ndarray, margin: Sequence[int]) -> tuple[slice, ...]:
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(0) - np.asarray(margin), 0)
    hi = np.minimum(idx.max(0) + np.asarray(margin) + 1, mask.shape)
    return tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))


def local_feature_maps(image: np.ndarray, mask: np.ndarray, spacing_zyx: Sequence[float], *,
                       radius_mm: float = 3.0, n_bins: int = 16) -> dict[str, np.ndarray]:
    """Local maps of one image inside *mask* (arrays (z, y, x); values outside the ROI are 0)."""
    size = _window(spacing_zyx, radius_mm)
    x = image.astype(np.float64)
    mean = ndimage.uniform_filter(x, size=size, mode="nearest")
    sq = ndimage.uniform_filter(x * x, size=size, mode="nearest")
    sd = np.sqrt(np.clip(sq - mean * mean, 0.0, None))
    vals = x[mask]
    lo, hi = float(vals.min()), float(vals.max())
    levels = np.clip(((x - lo) / max(hi - lo, 1e-12) * n_bins).astype(int), 0, n_bins - 1)
    entropy = np.zeros_like(x)
    for k in range(n_bins):
        p = ndimage.uniform_filter((levels == k).astype(np.float64), size=size, mode="nearest")
        entropy -= np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    maps = {"intensity": x, "local_mean": mean, "local_sd": sd, "local_entropy": entropy}
    return {k: np.where(mask, v, 0.0) for k, v in maps.items()}


def voxel_features(images: Mapping[str, sitk.Image], mask: sitk.Image, *, radius_mm: float = 3.0,
                   maps: Sequence[str] = DEFAULT_MAPS, case: str | None = None) -> tuple[np.ndarray, dict]:
    """Stack the local maps of every modality into a (n_voxels, n_features) matrix.

    Parameters
    ----------
    images : mapping of str to SimpleITK.Image
        Modality → image, all on the grid of *mask* (carry masks/images with
        :func:`radsig.io.multimodal.transfer_mask` or resampling first).

    Returns
    -------
    X : ndarray of shape (n_voxels, n_modalities * len(maps))
    geometry : dict
        ``mask`` (the cropped boolean ROI), ``bbox`` (slices into the full grid), ``columns``.
    """
    m = sitk.GetArrayFromImage(mask) > 0
    if not m.any():
        raise EmptyMaskError("habitat ROI is empty", case=case)
    spacing = tuple(reversed(mask.GetSpacing()))
    box = _bbox(m, _window(spacing, radius_mm))
    roi = m[box]
    columns, blocks = [], []
    for modality, img in images.items():
        if img.GetSize() != mask.GetSize():
            raise GeometryMismatchError(f"{modality} image is not on the mask's grid "
                                        f"({img.GetSize()} vs {mask.GetSize()})", case=case)
        arr = sitk.GetArrayFromImage(img)[box]
        fmaps = local_feature_maps(arr, roi, spacing, radius_mm=radius_mm)
        for name in maps:
            columns.append(f"{modality}_{name}")
            blocks.append(fmaps[name][roi])
    return np.column_stack(blocks), {"mask": roi, "bbox": box, "columns": columns,
                                     "shape": m.shape, "spacing": spacing}
