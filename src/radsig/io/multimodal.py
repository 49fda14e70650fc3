"""Carry a mask drawn on one modality onto another (PET/CT) through world coordinates."""

from __future__ import annotations

import SimpleITK as sitk

from radsig.exceptions import EmptyMaskError


def transfer_mask(mask: sitk.Image, target: sitk.Image, *, threshold: float = 0.5,
                  case: str | None = None) -> sitk.Image:
    """Resample a binary *mask* onto the grid of *target* (linear interpolation, then ≥ threshold).

    Both images are positioned by their origin, spacing and direction, so a CT-drawn tumour
    lands on the right PET voxels (and the reverse) without any registration step.
    """
    moving = sitk.Cast(mask > 0, sitk.sitkFloat32)
    out = sitk.Resample(moving, target, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    binary = sitk.Cast(out >= threshold, sitk.sitkUInt8)
    if not sitk.GetArrayViewFromImage(binary).any():
        raise EmptyMaskError("the mask does not overlap the target image after transfer "
                             "(different patient position or frame of reference?)", case=case)
    return binary
