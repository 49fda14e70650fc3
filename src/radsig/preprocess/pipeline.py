"""One preprocessing pass from (image, mask) to a :class:`PreparedRoi`.

crop (ROI bounding box + margin, before anything else) → resample (aligned grid centres) →
round → re-segment (intensity mask only) → discretise (texture / IH) and IVH discretisation.
Diagnostics in the IBSI naming (voxel counts, bounding boxes, intensities) are kept in
``roi.extra["diagnostics"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from radsig.exceptions import EmptyMaskError, NonFiniteValueError
from radsig.preprocess.intensity import discretise, ivh_values, resegment
from radsig.preprocess.resample import Grid, aligned_grid, resample, roi_window, sub_grid
from radsig.preprocess.roi import PreparedRoi

if TYPE_CHECKING:  # SimpleITK's import (≈ 0.05 s) only where images arrive as SimpleITK images
    import SimpleITK as sitk


def _bbox(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inclusive index bounds (z, y, x) of the True voxels."""
    # the planes first (one pass over the scan), then the other axes within those planes only
    planes = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))
    slab = mask[planes[0]:planes[-1] + 1]
    lo, hi = [planes[0]], [planes[-1]]
    for ax in range(1, mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != ax)
        present = np.flatnonzero(slab.any(axis=other))
        lo.append(present[0])
        hi.append(present[-1])
    return np.asarray(lo), np.asarray(hi)


def _new_spacing(old: tuple[float, ...], spacing_xyz: list[float]) -> tuple[float, ...]:
    """(z, y, x) spacing from a settings list [x, y] (in-plane) or [x, y, z]."""
    if len(spacing_xyz) == 2:
        return (old[0], float(spacing_xyz[1]), float(spacing_xyz[0]))
    return tuple(float(s) for s in spacing_xyz[::-1])


def _world(origin: tuple, direction: tuple | None, offset_mm_zyx: np.ndarray) -> tuple:
    """World position (z, y, x) of a point *offset_mm_zyx* (along the voxel axes) from *origin*."""
    d = np.eye(3) if direction is None else np.asarray(direction, dtype=float).reshape(3, 3)
    world_xyz = np.asarray(origin[::-1], dtype=float) + d @ offset_mm_zyx[::-1]
    return tuple(float(v) for v in world_xyz[::-1])


def _mask_stats(prefix: str, stage: str, image: np.ndarray, mask: np.ndarray) -> dict:
    out = {}
    if mask.any():
        lo, hi = _bbox(mask)
        for ax, name in zip(range(3), "zyx", strict=False):
            out[f"{prefix}_mask_bb_dim_{name}_{stage}"] = float(hi[ax] - lo[ax] + 1)
    out[f"{prefix}_mask_vox_count_{stage}"] = float(mask.sum())
    if prefix == "int" and mask.any():
        vals = image[mask]
        out[f"int_mask_mean_int_{stage}"] = float(vals.mean())
        out[f"int_mask_min_int_{stage}"] = float(vals.min())
        out[f"int_mask_max_int_{stage}"] = float(vals.max())
    return out


def _margin_mm(settings, spacing: tuple[float, ...]) -> np.ndarray:
    """Crop margin (z, y, x) in mm: the settings' margin, widened to the context filters need."""
    margin = np.full(3, float(settings.crop.margin_mm))
    if not settings.filters_trivial:
        pyrad = settings.pyradiomics_filters
        if set(pyrad) - {"Original"}:
            from radsig.preprocess.filters import filter_margin  # PyRadiomics-mode issue

            context = np.asarray(filter_margin(pyrad, spacing)) * np.asarray(spacing)
            margin = np.maximum(margin, context)
        for spec in settings.ibsi2_filters.values():  # IBSI-2 filters: their own reach
            margin = np.maximum(margin, spec.margin_mm(spacing))
    return margin


def _roi_grid(shape: tuple[int, ...], spacing: tuple[float, ...], settings,
              bbox) -> tuple[Grid, tuple[slice, ...]]:
    """The new grid's part around the ROI (bounding box *bbox*) and, without interpolation, the
    block of the original arrays it is."""
    interp = settings.interpolation
    bb_lo, bb_hi = bbox
    if interp.spacing is None:
        new_spacing = spacing
        grid = Grid(shape, spacing, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), shape)
    else:
        new_spacing = _new_spacing(spacing, interp.spacing)
        grid = aligned_grid(shape, spacing, new_spacing)
    margin = _margin_mm(settings, new_spacing)
    if getattr(settings.crop, "whole_image", False) or not np.isfinite(margin).all():
        # no crop (asked, or a Fourier-domain filter): a margin wider than the image
        margin = np.full(3, float(np.max(np.asarray(shape) * np.asarray(spacing))) + 1.0)
    lo, hi = roi_window(grid, bb_lo, bb_hi, margin, spacing)
    return sub_grid(grid, lo, hi), tuple(slice(a, b) for a, b in zip(lo, hi, strict=False))


def _morph_on_grid(mask: np.ndarray, grid: Grid, block: tuple[slice, ...], settings) -> np.ndarray:
    interp = settings.interpolation
    if interp.spacing is None:
        return mask[block]
    new_mask = resample(mask, grid, interp.mask_method)  # converts only the block it reads
    return new_mask >= interp.mask_threshold - 1e-9


def morphological_mask(mask: np.ndarray, spacing: tuple[float, ...],
                       settings) -> tuple[np.ndarray, tuple[float, ...]]:
    """The morphological mask :func:`prepare_arrays` gives for this ROI and its spacing: it
    needs no image, so mask-only features can be computed before the image is read."""
    grid, block = _roi_grid(mask.shape, spacing, settings, _bbox(mask))
    return (_morph_on_grid(mask, grid, block, settings),
            tuple(float(s) for s in grid.spacing))


def _crop_and_resample(image: np.ndarray, mask: np.ndarray, spacing: tuple[float, ...],
                       settings, bbox, morph=None) -> tuple[np.ndarray, np.ndarray, Grid]:
    """Crop around the ROI (bounding box *bbox*) and, if asked, interpolate image and mask there
    (the mask only when *morph*, its result from :func:`morphological_mask`, is not given)."""
    interp = settings.interpolation
    grid, block = _roi_grid(image.shape, spacing, settings, bbox)
    if morph is None or morph.shape != tuple(grid.shape):
        morph = _morph_on_grid(mask, grid, block, settings)
    if interp.spacing is None:
        return image[block].astype(np.float64), morph, grid
    new_image = resample(image, grid, interp.image_method)
    if interp.round_intensities:
        new_image = np.rint(new_image)
    return new_image, morph, grid


def prepare_arrays(image: np.ndarray, mask: np.ndarray, spacing: tuple[float, ...],
                   settings, *, origin: tuple[float, ...] = (0.0, 0.0, 0.0),
                   direction: tuple[float, ...] | None = None,
                   case: str | None = None, morph_mask: np.ndarray | None = None) -> PreparedRoi:
    """Run the preprocessing pipeline on (z, y, x) arrays.

    Parameters
    ----------
    image : ndarray, shape (z, y, x)
        Intensities (already cast / rounded on input as the settings ask).
    mask : ndarray of bool, shape (z, y, x)
        ROI on the same grid, not empty.
    spacing : tuple of float
        Voxel spacing (z, y, x) in mm.
    settings : IbsiSettings
    origin : tuple of float
        World position (z, y, x) of voxel [0, 0, 0].
    direction : tuple of 9 float, optional
        SimpleITK direction cosines (row-major, x/y/z order); identity when omitted.
    case : str, optional
        Case identifier for error messages.
    morph_mask : ndarray of bool, optional
        What :func:`morphological_mask` gave for *mask* (computed before the image was read):
        used instead of resampling the mask again.
    """
    diagnostics = {f"img_dim_{n}_init_img": float(s)
                   for n, s in zip("zyx", image.shape, strict=True)}
    bbox = _bbox(mask)  # the initial statistics need only the ROI's box (not the whole scan)
    box = tuple(slice(int(a), int(b) + 1) for a, b in zip(*bbox, strict=True))
    diagnostics.update(_mask_stats("int", "init_roi", image[box], mask[box]))
    diagnostics.update(_mask_stats("morph", "init_roi", image[box], mask[box]))
    img, morph, grid = _crop_and_resample(image, mask, spacing, settings, bbox, morph_mask)
    for n, s in zip("zyx", grid.full_shape, strict=False):
        diagnostics[f"img_dim_{n}_interp_img"] = float(s)
    if not morph.any():
        raise EmptyMaskError("the ROI vanished after interpolation (it is smaller than the "
                             "partial-volume threshold allows); lower interpolation."
                             "mask_threshold or use a finer spacing", case=case,
                             stage="preprocess")
    if not np.isfinite(img[morph]).all():
        raise NonFiniteValueError("NaN or infinite intensities next to the ROI reach it through "
                                  "interpolation; fix the image or turn interpolation off",
                                  case=case, stage="preprocess")
    diagnostics.update(_mask_stats("int", "interp_roi", img, morph))
    diagnostics.update(_mask_stats("morph", "interp_roi", img, morph))
    reseg = settings.resegmentation
    int_mask = resegment(img, morph, reseg.range, reseg.outlier_sigma)
    if not int_mask.any():
        raise EmptyMaskError(f"no ROI voxel is left after re-segmentation (range {reseg.range},"
                             f" outlier_sigma {reseg.outlier_sigma}); widen the range", case=case,
                             stage="preprocess")
    diagnostics.update(_mask_stats("int", "reseg_roi", img, int_mask))
    diagnostics.update(_mask_stats("morph", "reseg_roi", img, morph))
    values = img[int_mask]
    disc = settings.discretisation
    low = reseg.range[0] if (reseg.range is not None and disc.method == "fbs") else None
    lv, n_levels = discretise(values, disc.method, bin_width=disc.bin_width,
                              bin_number=disc.bin_number, low=low)
    levels = np.zeros(img.shape, dtype=np.int32)
    levels[int_mask] = lv
    ivh = settings.ivh
    ivh_data = ivh_values(values, ivh.method, value_range=reseg.range,
                          bin_width=ivh.bin_width, bin_number=ivh.bin_number)
    new_spacing = tuple(float(s) for s in grid.spacing)
    roi_origin = _world(origin, direction, np.asarray(grid.start) * np.asarray(spacing))
    return PreparedRoi(image=img, morph_mask=morph, int_mask=int_mask, spacing=new_spacing,
                       levels=levels, n_levels=n_levels, origin=roi_origin,
                       extra={"ivh": ivh_data, "diagnostics": diagnostics,
                              "settings": settings, "direction": direction})


def sitk_to_arrays(image: sitk.Image, mask: sitk.Image) -> tuple[np.ndarray, np.ndarray, tuple,
                                                                   tuple]:
    """(image, mask bool, spacing (z, y, x), origin (z, y, x)) from SimpleITK images.

    Floating-point images come back as float64; integer images keep their type: the pipeline
    converts them (exactly) only after cropping, so a 512x512x300 CT is never held as a 600 MB
    float64 copy.
    """
    import SimpleITK as sitk

    arr = sitk.GetArrayFromImage(image)
    if arr.dtype.kind not in "iub":
        arr = arr.astype(np.float64)
    msk = sitk.GetArrayFromImage(mask) > 0
    spacing = tuple(float(s) for s in image.GetSpacing()[::-1])
    origin = tuple(float(o) for o in image.GetOrigin()[::-1])
    return arr, msk, spacing, origin


def prepare_roi(image: sitk.Image, mask: sitk.Image, settings, *,
                case: str | None = None) -> PreparedRoi:
    """:func:`prepare_arrays` for SimpleITK images (mask already binary on the image grid)."""
    arr, msk, spacing, origin = sitk_to_arrays(image, mask)
    if settings.input.round_intensities and arr.dtype.kind == "f":
        arr = np.rint(arr)
    return prepare_arrays(arr, msk, spacing, settings, origin=origin,
                          direction=image.GetDirection(), case=case)
