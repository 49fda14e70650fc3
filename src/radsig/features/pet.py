"""Conventional PET indices in SUV: SUVmax, SUVpeak, SUVmean, MTV and TLG."""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from radsig.exceptions import EmptyMaskError
from radsig.features.local_intensity import local_means


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
        ``SUVmax``, ``SUVpeak`` (highest mean SUV in a 1 cm³ sphere centred on an ROI voxel: the
        IBSI global intensity peak, from :func:`radsig.features.local_intensity.local_means`),
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
    voxel_ml = float(np.prod(spacing)) / 1000.0
    mtv = float(roi.sum()) * voxel_ml
    suv_mean = float(arr[roi].mean()) if roi.any() else float("nan")
    return {"SUVmax": suv_max, "SUVpeak": float(local_means(arr, roi, spacing).max()) if roi.any() else float("nan"),
            "SUVmean": suv_mean, "MTV": mtv, "TLG": suv_mean * mtv}
