"""PyRadiomics mode on NIfTI files without SimpleITK: the same steps, the same numbers, less start-up.

For a single case, importing and unloading SimpleITK (~0.15–0.2 s) costs as much as extracting
PyRadiomics' 107 CT features. When image and mask are NIfTI-1 files that :mod:`radsig.io.nifti`
reads exactly as SimpleITK does, and the settings need nothing beyond reading, cropping and cubic
B-spline resampling, this module does those steps itself:

- the mask's label planes and the image region the ROI needs are read from the files;
- the resampling grid is PyRadiomics' (as :func:`radsig.features.pyradiomics._preprocess.resample`
  computes it, with ITK's index/point arithmetic); the image is interpolated by the same NumPy
  B-spline code; the mask by nearest neighbour exactly as ITK 5.4's ``ResampleImageFilter`` maps
  output to input indices (scan lines interpolated between their end points, ties rounded half
  up), so the ROI is voxel for voxel the one SimpleITK gives;
- without resampling, image and mask must share their grid and are cropped as PyRadiomics crops.

Anything else (other formats or geometries, normalisation, diagnostics, other interpolators, a
geometry problem or an empty mask that needs SimpleITK's error message) returns None and the
caller runs the SimpleITK path (which also takes the whole-image rescaled filters). The tests run both paths on the same files and compare the rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from radsig.features.pyradiomics import _preprocess as P
from radsig.io.nifti import (
    NiftiCorruptError,
    NiftiVolume,
    index_to_point,
    looks_complete,
    point_to_index,
    read_header,
    read_label_planes,
    read_region,
)
from radsig.preprocess.filters import filter_margin

__all__ = ["nifti_arrays"]


def nifti_arrays(image, mask, settings, on_mask=None):
    """``(image array, boolean ROI, spacing z/y/x)`` on the grid the feature classes see, read
    and resampled without SimpleITK, or None where the SimpleITK path must run.

    *on_mask(roi, spacing_zyx)*, if given, is called with the ROI on that grid before the image
    is read (resampled grids): work that needs only the mask (shape) can then run while a
    prefetched image is still inflating."""
    s = settings.setting
    if not _handles(image, mask, settings):
        return None
    resample = bool(s.get("interpolator")) and s.get("resampledPixelSpacing") is not None
    try:
        mv, iv = read_header(mask), read_header(image)
        if mv is None or iv is None or mv.dtype.kind not in "iu":
            return None
        if not (looks_complete(mv) and looks_complete(iv)):
            return None  # the checked reader of the SimpleITK path says how many bytes are missing
        if iv.dtype.kind == "f" and not np.isfinite(read_region(iv, (0, 0, 0), iv.size)).all():
            # NaN/inf anywhere in the image (read_file's check, which warns even outside the
            # ROI): the SimpleITK path's checked reader reports them
            return None
        label = int(s["label"])
        planes, z0 = read_label_planes(mv)
        if not getattr(settings, "label_chosen", True) and planes.size:
            from radsig.features.pyradiomics._extract import warn_other_labels

            warn_other_labels(planes, label, mask)
        bb = P._label_bbox(planes, label) if planes.size and label != 0 else None
        if bb is None:
            return None
        bb[2] += z0
        margin = P.region_margin(settings, tuple(mv.spacing))
        if resample:
            out = _resampled(iv, mv, planes, z0, bb, s, margin, on_mask)
        else:
            out = _cropped(iv, mv, planes, z0, bb, s, settings, margin)
    except NiftiCorruptError as err:  # the SimpleITK path's region read would not notice
        from radsig.exceptions import ImageReadError

        what = "mask" if Path(err.path) == Path(mask) else "image"
        raise ImageReadError(f"cannot read {what}: {str(err).split(': ', 1)[-1]}",
                             path=err.path, stage="read") from None
    except (OSError, ValueError, MemoryError):
        return None  # the SimpleITK path reads the files again and reports what is wrong
    if out is None:
        return None
    img_arr, mask_arr, spacing_zyx = out
    if img_arr.dtype.kind == "f" and not np.isfinite(img_arr).all():
        return None  # NaN/inf voxels: the SimpleITK path reports them (warning, or error in the ROI)
    return img_arr, mask_arr == label, spacing_zyx


def _handles(image, mask, settings) -> bool:
    """Whether this path can take the case at all (files, and settings it reproduces)."""
    s = settings.setting
    if not (isinstance(image, (str, Path)) and isinstance(mask, (str, Path))):
        return False
    if (settings.diagnostics or s.get("normalize") or s.get("geometryTolerance") is not None
            or int(s.get("label_channel", 0)) != 0):
        return False
    resample = bool(s.get("interpolator")) and s.get("resampledPixelSpacing") is not None
    return not (resample and s["interpolator"] not in ("sitkBSpline", "sitkBSpline3"))


def _region(iv: NiftiVolume, mv: NiftiVolume, bb: np.ndarray, margin):
    """Index and size (x, y, z) of the image region covering the ROI box plus *margin*
    (``(mm, image voxels)``; as ``_extract._region_for`` computes it with SimpleITK)."""
    margin_mm, margin_voxels = margin
    corners = np.array([[cx, cy, cz]
                        for cx in (bb[0] - 0.5, bb[0] + bb[3] - 0.5)
                        for cy in (bb[1] - 0.5, bb[1] + bb[4] - 0.5)
                        for cz in (bb[2] - 0.5, bb[2] + bb[5] - 0.5)])
    idx = point_to_index(iv.origin, iv.matrix, index_to_point(mv.origin, mv.matrix, corners))
    extra = margin_mm / iv.spacing + margin_voxels
    lo = np.maximum(np.floor(idx.min(0) - extra) - 1, 0).astype(int)
    hi = np.minimum(np.ceil(idx.max(0) + extra) + 1, np.array(iv.size) - 1).astype(int)
    return lo, hi - lo + 1


def _resampled(iv, mv, planes, z0, bb, s, margin, on_mask=None):
    """(image, mask, spacing z/y/x) on PyRadiomics' resampled grid, or None; *on_mask*: see
    :func:`nifti_arrays`."""
    if not np.array_equal(iv.direction, mv.direction):
        return None
    spacing = np.asarray(s["resampledPixelSpacing"], dtype=float)
    if spacing.size != 3:
        return None
    mask_sp = mv.spacing
    spacing = np.where(spacing == 0, mask_sp, spacing)
    lo = index_to_point(mv.origin, mv.matrix, bb[:3] - 0.5)
    hi = index_to_point(mv.origin, mv.matrix, bb[:3] + bb[3:] - 0.5)
    bounds = point_to_index(iv.origin, iv.matrix, np.array([lo, hi]))
    tol = 1e-3
    if np.any(bounds.min(0) < -0.5 - tol) or np.any(bounds.max(0) > np.array(iv.size) - 0.5 + tol):
        return None  # the SimpleITK path raises the geometry error
    spacing = np.where(bb[3:] != 1, spacing, mask_sp)
    if np.allclose(iv.spacing, spacing):
        return None  # PyRadiomics' "same spacing" branch: left to the SimpleITK path
    size, origin_index = P.resampled_grid(bb, mask_sp, mv.size, spacing,
                                          int(s.get("padDistance", 5)))
    origin = index_to_point(mv.origin, mv.matrix, origin_index)
    msk = _nearest(planes, z0, mv, size, origin, mv.direction * spacing[None, :])
    if msk is None:
        return None
    spacing_zyx = tuple(float(v) for v in spacing[::-1])
    if on_mask is not None:
        on_mask(msk == int(s["label"]), spacing_zyx)
    index, region_size = _region(iv, mv, bb, margin)
    arr = read_region(iv, index, region_size)
    region_origin = index_to_point(iv.origin, iv.matrix, index.astype(float))
    start = point_to_index(region_origin, iv.matrix, origin)
    img = P.bspline_array(arr, start, spacing / iv.spacing, size)
    if img is None:
        return None
    return img, msk, spacing_zyx


def _nearest(planes, z0, mv: NiftiVolume, size, origin, out_matrix) -> np.ndarray | None:
    """The label map resampled by nearest neighbour onto the grid (*size*, *origin*,
    *out_matrix*), as ITK 5.4's ResampleImageFilter does it with an identity transform: per
    output scan line, the input continuous indices of its first voxel and of the voxel one past
    its end; voxel k at ``start + (end - start) * (k / nx)``; nearest index rounded half up
    (ITK's ``RoundHalfIntegerUp``); outside the input buffer: 0. (Ties occur, e.g. 2.5 mm slices
    resampled to 1 mm, so the order of these operations decides which slice a voxel reads.)"""
    nx, ny, nz = size
    kk, jj = np.meshgrid(np.arange(nz), np.arange(ny), indexing="ij")
    first = np.stack([np.zeros_like(jj), jj, kk], -1).astype(np.float64)
    past = first.copy()
    past[..., 0] = nx
    start = point_to_index(mv.origin, mv.matrix, index_to_point(origin, out_matrix, first))
    end = point_to_index(mv.origin, mv.matrix, index_to_point(origin, out_matrix, past))
    alpha = np.arange(nx) / float(nx)
    out = np.zeros((nz, ny, nx), dtype=planes.dtype)
    in_size = np.array(mv.size)
    step = end - start
    if (np.all(step[..., 1:] == 0) and np.all(start[..., 0] == start[0, 0, 0])
            and np.all(step[..., 0] == step[0, 0, 0])):
        # axis-aligned grids: x depends on the column only, y on the row, z on the plane; these
        # are the very numbers ITK's per-voxel formula gives (the y and z steps are exactly 0)
        cx = start[0, 0, 0] + step[0, 0, 0] * alpha
        cy, cz = start[0, :, 1], start[:, 0, 2]
        ix, iy, iz = (np.rint(2.0 * c + 0.5).astype(np.int64) >> 1 for c in (cx, cy, cz))
        okx = (cx >= -0.5) & (cx < in_size[0] - 0.5)
        oky = (cy >= -0.5) & (cy < in_size[1] - 0.5)
        okz = (cz >= -0.5) & (cz < in_size[2] - 0.5) & (iz - z0 >= 0) & (iz - z0 < len(planes))
        if okx.any() and oky.any() and okz.any():
            out[np.ix_(okz, oky, okx)] = planes[np.ix_((iz - z0)[okz], iy[oky], ix[okx])]
        return out
    return None  # not separable (cannot happen for the sign-flip grids read here)


def _cropped(iv, mv, planes, z0, bb, s, settings, margin):
    """(image, mask, spacing z/y/x) cropped as PyRadiomics crops without resampling, or None
    (image and mask must share their grid exactly)."""
    if not (iv.shape == mv.shape and np.array_equal(iv.origin, mv.origin)
            and np.array_equal(iv.spacing, mv.spacing)
            and np.array_equal(iv.direction, mv.direction)):
        return None
    index, region_size = _region(iv, mv, bb, margin)
    arr = read_region(iv, index, region_size)
    # the mask over the same region (planes outside z0.. are zero)
    msk = np.zeros(arr.shape, dtype=planes.dtype)
    (x0, y0, zr), (sx, sy, sz) = index, region_size
    a, b = max(zr, z0), min(zr + sz, z0 + planes.shape[0])
    if b > a:
        msk[a - zr:b - zr] = planes[a - z0:b - z0, y0:y0 + sy, x0:x0 + sx]
    roi = msk == int(s["label"])
    if not roi.any():
        return None
    lo_hi = P._bbox_of(roi)  # lower x, y, z, size x, y, z
    lower = lo_hi[:3]
    upper = lo_hi[:3] + lo_hi[3:] - 1
    if s.get("preCrop"):
        pad = int(s.get("padDistance", 5))
    else:
        pad = int(filter_margin(settings.image_types, tuple(iv.spacing[::-1]), s)[::-1].max())
    size = np.array(arr.shape[::-1])
    lo = np.maximum(lower - pad, 0)
    hi = np.minimum(upper + pad, size - 1)
    sl = tuple(slice(int(lo[k]), int(hi[k]) + 1) for k in range(3))[::-1]
    return (np.ascontiguousarray(arr[sl]), np.ascontiguousarray(msk[sl]),
            tuple(float(v) for v in iv.spacing[::-1]))
