"""Conventional PET indices in SUV: SUVmax, SUVpeak, SUVmean, MTV and TLG."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from radsig.exceptions import EmptyMaskError

PEAK_RADIUS_MM = 6.2035  # sphere of 1 cm³: (3 / (4π) · 1000 mm³)^(1/3)


def _sphere_kernel(spacing_zyx: tuple[float, float, float], radius_mm: float) -> np.ndarray:
    half = [int(np.floor(radius_mm / s)) for s in spacing_zyx]
    grids = np.meshgrid(*[np.arange(-h, h + 1) * s for h, s in zip(half, spacing_zyx)], indexing="ij")
    inside = sum(g**2 for g in grids) <= radius_mm**2
    return inside.astype(float) / inside.sum()


def pet_indices(image: sitk.Image, mask: sitk.Image, *, threshold: float | None = None,
                relative: bool = False, case: str | None = None) -> dict[str, float]:
    """PET indices of the ROI of *mask* on an SUV *image* on the same grid.

    Parameters
    ----------
    threshold : float, optional
        Restrict the metabolic volume to voxels with SUV ≥ threshold (or ≥ threshold · SUVmax
        when ``relative``), e.g. 2.5 or 0.41 with ``relative=True``.

    Returns
    -------
    dict
        ``SUVmax``, ``SUVpeak`` (highest mean SUV in a 1 cm³ sphere centred on an ROI voxel),
        ``SUVmean``, ``MTV`` (mL) and ``TLG`` (SUVmean · MTV).
    """
    arr = sitk.GetArrayFromImage(image).astype(np.float64)
    roi = sitk.GetArrayFromImage(mask) > 0
    if not roi.any():
        raise EmptyMaskError("PET ROI is empty", case=case)
    spacing = tuple(reversed(image.GetSpacing()))
    suv_max = float(arr[roi].max())
    if threshold is not None:
        roi = roi & (arr >= (threshold * suv_max if relative else threshold))
    local_mean = ndimage.convolve(arr, _sphere_kernel(spacing, PEAK_RADIUS_MM), mode="nearest")
    voxel_ml = float(np.prod(spacing)) / 1000.0
    mtv = float(roi.sum()) * voxel_ml
    suv_mean = float(arr[roi].mean()) if roi.any() else float("nan")
    return {"SUVmax": suv_max, "SUVpeak": float(local_mean[roi].max()) if roi.any() else float("nan"),
            "SUVmean": suv_mean, "MTV": mtv, "TLG": suv_mean * mtv}
