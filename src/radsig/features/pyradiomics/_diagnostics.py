"""``diagnostics_*`` rows (PyRadiomics' "additionalInfo"), produced only when asked for."""

from __future__ import annotations

import platform

import numpy as np
import SimpleITK as sitk

__all__ = ["original_info", "processed_info"]


def _versions() -> dict:
    import pywt

    import radsig

    return {"diagnostics_Versions_radsig": radsig.__version__,
            "diagnostics_Versions_Numpy": np.__version__,
            "diagnostics_Versions_SimpleITK": sitk.Version_VersionString(),
            "diagnostics_Versions_PyWavelet": pywt.__version__,
            "diagnostics_Versions_Python": platform.python_version()}


def original_info(image: sitk.Image, mask: sitk.Image, settings, image_src, mask_src) -> dict:
    """Versions, configuration and the input image/mask description."""
    label = int(settings.setting["label"])
    arr = sitk.GetArrayViewFromImage(mask) == label
    idx = np.argwhere(arr)
    com_index = tuple(float(v) for v in idx.mean(0)[::-1])
    out = _versions()
    out.update({
        "diagnostics_Configuration_Settings": str(settings.setting),
        "diagnostics_Configuration_EnabledImageTypes": str(settings.image_types),
        "diagnostics_Image-original_Spacing": str(image.GetSpacing()),
        "diagnostics_Image-original_Size": str(image.GetSize()),
        "diagnostics_Mask-original_Spacing": str(mask.GetSpacing()),
        "diagnostics_Mask-original_Size": str(mask.GetSize()),
        "diagnostics_Mask-original_VoxelNum": int(arr.sum()),
        "diagnostics_Mask-original_CenterOfMassIndex": str(com_index),
        "diagnostics_Mask-original_CenterOfMass": str(
            mask.TransformContinuousIndexToPhysicalPoint(com_index)),
        "diagnostics_Mask-original_Hash": sitk.Hash(mask),
    })
    return out


def processed_info(image: sitk.Image, mask_arr: np.ndarray, bbox: np.ndarray) -> dict:
    """The image and ROI as features see them (after resampling / resegmentation)."""
    from scipy import ndimage

    img = sitk.GetArrayViewFromImage(image)
    vals = img[mask_arr]
    size = bbox[1::2] - bbox[0::2] + 1
    return {
        "diagnostics_Image-interpolated_Spacing": str(image.GetSpacing()),
        "diagnostics_Image-interpolated_Size": str(image.GetSize()),
        "diagnostics_Image-interpolated_Mean": float(img.mean()),
        "diagnostics_Image-interpolated_Minimum": float(img.min()),
        "diagnostics_Image-interpolated_Maximum": float(img.max()),
        "diagnostics_Mask-interpolated_BoundingBox": str(tuple(int(v) for v in
                                                              np.r_[bbox[0::2], size])),
        "diagnostics_Mask-interpolated_VoxelNum": int(mask_arr.sum()),
        "diagnostics_Mask-interpolated_VolumeNum": int(ndimage.label(
            mask_arr, structure=np.ones((3, 3, 3)))[1]),
        "diagnostics_Mask-interpolated_Mean": float(vals.mean()),
        "diagnostics_Mask-interpolated_Minimum": float(vals.min()),
        "diagnostics_Mask-interpolated_Maximum": float(vals.max()),
    }
