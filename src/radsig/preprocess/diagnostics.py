"""IBSI diagnostic features: sizes, voxel counts and intensities after each processing step.

The ROI-level values come from the pipeline itself (``roi.extra["diagnostics"]``); the
whole-image values after interpolation need the *whole* image resampled, which the pipeline
never does, so :func:`processing_diagnostics` does it here, for checking only.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from radsig.preprocess.pipeline import _new_spacing, prepare_arrays, sitk_to_arrays
from radsig.preprocess.resample import aligned_grid, resample


def _image_stats(stage: str, arr: np.ndarray, spacing: tuple) -> dict[str, float]:
    out = {}
    for ax, name in zip(range(3), "zyx", strict=False):
        out[f"img_dim_{name}_{stage}"] = float(arr.shape[ax])
        out[f"vox_dim_{name}_{stage}"] = float(spacing[ax])
    out[f"mean_int_{stage}"] = float(arr.mean())
    out[f"min_int_{stage}"] = float(arr.min())
    out[f"max_int_{stage}"] = float(arr.max())
    return out


def processing_diagnostics(image: sitk.Image, mask: sitk.Image, settings) -> dict[str, float]:
    """All IBSI diagnostic values (tags as in ``diagnostic_values.csv``) for one case."""
    arr, msk, spacing, origin = sitk_to_arrays(image, mask)
    if settings.input.round_intensities:
        arr = np.rint(arr)
    out = _image_stats("init_img", arr, spacing)
    interp = settings.interpolation
    if interp.spacing is None:
        out.update(_image_stats("interp_img", arr, spacing))
    else:
        new_spacing = _new_spacing(spacing, interp.spacing)
        grid = aligned_grid(arr.shape, spacing, new_spacing)
        whole = resample(arr, grid, interp.image_method)
        if interp.round_intensities:
            whole = np.rint(whole)
        out.update(_image_stats("interp_img", whole, new_spacing))
    roi = prepare_arrays(arr, msk, spacing, settings, origin=origin)
    out.update(roi.extra["diagnostics"])
    for stage, src in (("init_roi", "init_img"), ("interp_roi", "interp_img"),
                       ("reseg_roi", "interp_img")):
        for name in "xyz":
            out[f"int_mask_dim_{name}_{stage}"] = out[f"img_dim_{name}_{src}"]
    return out
