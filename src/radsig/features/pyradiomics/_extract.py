"""PyRadiomics-mode extraction of one case: read → normalise → resample/crop → check → resegment
→ shape → filters → per-image features, in PyRadiomics' order and with its names.

Speed comes from never touching more of the scan than needed: the mask is read first, the image
only over the region the ROI (plus padding, resampling support and filter margin) needs when the
file format allows streaming; filters run on that region; one discretisation per derived image is
shared by all texture classes, and one neighbour structure of the ROI by all derived images. Shape
and the derived images run in two threads (the C kernels and NumPy's loops release the GIL) unless
the ROI is large; rows keep PyRadiomics' order. NIfTI files in common settings are read and
resampled without SimpleITK (:mod:`._fastpath`), with the same result.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from radsig._simpleitk import sitk
from radsig.config.pyradiomics import PyRadiomicsSettings, load_pyradiomics_settings
from radsig.exceptions import (
    CaseError,
    FeatureWarning,
    GeometryMismatchError,
    ImageReadError,
    NonFiniteValueError,
)
from radsig.features._threads import worker_threads
from radsig.features.pyradiomics import _preprocess as P
from radsig.features.pyradiomics import _texture as T
from radsig.features.pyradiomics._firstorder_shape import (
    firstorder_features,
    shape2d_features,
    shape_features,
)
from radsig.features.pyradiomics._matrices import discretize
from radsig.features.pyradiomics._neighbourhood import Context, shared_neighbourhood
from radsig.features.pyradiomics._threads import parallel_rows, threaded_max_voxels
from radsig.preprocess.filters import filter_margin, filter_tasks

COLUMNS = ["feature", "family", "ibsi_code", "aggregation_code", "value"]
TEXTURE = {"glcm": T.glcm_features, "glrlm": T.glrlm_features, "glszm": T.glszm_features,
           "gldm": T.gldm_features, "ngtdm": T.ngtdm_features}


def _read(path, *, case=None, what="image") -> sitk.Image:
    from radsig.io.image import read_file  # the checked reader (short files, NaN, 4-D)

    return read_file(path, case=case, what=what)


def _needs_whole_read(path) -> bool:
    """A NIfTI file whose completeness or NaN voxels only a whole read can check (a region read
    through SimpleITK fills a short file with zeros and NaN with 0)."""
    from radsig.io import nifti

    lay = nifti.nifti_layout(path)
    return lay is not None and (lay.dtype.kind == "f" or not nifti.looks_complete(lay))


def _region_for(info: sitk.ImageFileReader, mask: sitk.Image, bb: np.ndarray, margin):
    """Index and size (x, y, z) of the image region covering the ROI box plus *margin*
    (``(mm, image voxels)``, see :func:`._preprocess.region_margin`)."""
    margin_mm, margin_voxels = margin
    nd = mask.GetDimension()
    corners = []
    for cx in (bb[0] - 0.5, bb[0] + bb[nd] - 0.5):
        for cy in (bb[1] - 0.5, bb[1] + bb[nd + 1] - 0.5):
            for cz in (bb[2] - 0.5, bb[2] + bb[nd + 2] - 0.5):
                corners.append(mask.TransformContinuousIndexToPhysicalPoint((cx, cy, cz)))
    ref = sitk.Image([1] * nd, sitk.sitkUInt8)
    ref.SetOrigin(info.GetOrigin())
    ref.SetSpacing(info.GetSpacing())
    ref.SetDirection(info.GetDirection())
    idx = np.array([ref.TransformPhysicalPointToContinuousIndex(c) for c in corners])
    extra = margin_mm / np.array(info.GetSpacing()) + margin_voxels
    lo = np.maximum(np.floor(idx.min(0) - extra) - 1, 0).astype(int)
    hi = np.minimum(np.ceil(idx.max(0) + extra) + 1, np.array(info.GetSize()) - 1).astype(int)
    return [int(v) for v in lo], [int(v) for v in hi - lo + 1]


def warn_other_labels(planes: np.ndarray, label: int, where) -> None:
    """Warn when the label map holds labels besides *label* (PyRadiomics mode uses one label)."""
    present = np.unique(planes[planes != 0])  # the labelled voxels only: a fast unique
    if present.size > 1:
        import warnings

        from radsig.exceptions import InputWarning

        shown = ", ".join(str(int(v)) for v in present[:20])
        warnings.warn(f"{where}: mask holds {present.size} labels ({shown}) and no label was "
                      f"chosen; PyRadiomics mode uses label {label} only (the setting 'label'); "
                      "pass --label N (or a label column) to choose", InputWarning, stacklevel=3)


def load_case(image, mask, s: dict, margin, case=None, whole: bool = False,
              label_chosen: bool = True):
    """Image (possibly only the needed region), mask and the label's bounding box."""
    mask_img = _read(mask, case=case, what="mask") if isinstance(mask, (str, Path)) else mask
    P.check_integer_mask(mask_img, mask if isinstance(mask, (str, Path)) else "mask", case=case)
    mask_img, bb = P.select_mask(mask_img, int(s["label"]), int(s.get("label_channel", 0)),
                                 case=case)
    if not label_chosen and mask_img.GetNumberOfComponentsPerPixel() == 1:
        warn_other_labels(sitk.GetArrayViewFromImage(mask_img), int(s["label"]),
                          mask if isinstance(mask, (str, Path)) else "mask")
    if not isinstance(image, (str, Path)):
        return image, mask_img, bb
    if s.get("normalize") or whole or _needs_whole_read(image):  # whole-image statistics
        return _read(image, case=case), mask_img, bb
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(image))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise ImageReadError(f"cannot read image header: {exc}", case=case,
                             path=str(image)) from exc
    if reader.GetDimension() != 3 or reader.GetNumberOfComponents() != 1:
        return _read(image, case=case), mask_img, bb
    index, size = _region_for(reader, mask_img, bb, margin)
    reader.SetExtractIndex(index)
    reader.SetExtractSize(size)
    try:
        return reader.Execute(), mask_img, bb
    except RuntimeError as exc:
        raise ImageReadError(f"cannot read image: {exc}", case=case, path=str(image)) from exc


def _prepare(image: sitk.Image, mask: sitk.Image, settings: PyRadiomicsSettings, case=None,
             bb=None):
    """PyRadiomics' loadImage + geometry check.

    Returns ``((image, mask), peak)``: the working (cropped) pair and, when the rescaled filters
    must see the whole image's maximum |intensity| (PyRadiomics filters the uncropped image),
    that maximum; otherwise None.
    """
    s = settings.setting
    label = int(s["label"])
    if s.get("normalize"):
        image = P.normalize_image(image, s.get("normalizeScale", 1), s.get("removeOutliers"))
    if s.get("interpolator") and s.get("resampledPixelSpacing") is not None:
        return P.resample(image, mask, s["resampledPixelSpacing"], s["interpolator"], label,
                          int(s.get("padDistance", 5)), case=case, bb=bb), None
    same = P.same_geometry(image, mask)
    if not same:
        inside_region = _mask_in_region(image, mask)
        if inside_region is not None:
            mask = inside_region
        elif s.get("correctMask"):
            mask = P.correct_mask(image, mask, label, case)
        else:
            raise GeometryMismatchError(
                f"image and mask grids differ (image size {image.GetSize()}, spacing "
                f"{image.GetSpacing()}; mask size {mask.GetSize()}, spacing {mask.GetSpacing()}); "
                "set 'correctMask: true' to resample the mask onto the image", case=case)
    if bb is not None and same:
        bbox = np.empty(6, dtype=int)
        bbox[0::2], bbox[1::2] = bb[:3], bb[:3] + bb[3:] - 1
    else:
        bbox = P.bounding_box(mask, label)
    if s.get("preCrop"):
        return P.crop(image, mask, bbox, int(s.get("padDistance", 5))), None
    margin = filter_margin(settings.image_types, image.GetSpacing()[::-1], s)[::-1]
    if _needs_peak(settings):  # PyRadiomics rescales these filters by the whole image's max |x|
        mm = sitk.MinimumMaximumImageFilter()
        mm.Execute(image)
        peak = max(abs(mm.GetMinimum()), abs(mm.GetMaximum()))
        return P.crop(image, mask, bbox, int(margin.max())), peak
    return P.crop(image, mask, bbox, int(margin.max())), None


RESCALED = ("Square", "SquareRoot", "Logarithm", "Exponential")


def _needs_peak(settings: PyRadiomicsSettings) -> bool:
    """Whole-image rescaled filters on an image PyRadiomics would not have cropped."""
    s = settings.setting
    cropped = (s.get("interpolator") and s.get("resampledPixelSpacing") is not None) \
        or s.get("preCrop")
    return not cropped and any(t in settings.image_types for t in RESCALED)


def _mask_in_region(image: sitk.Image, mask: sitk.Image):
    """The mask cut to *image*'s region when the image is a sub-region of the mask's grid."""
    if not (np.allclose(image.GetSpacing(), mask.GetSpacing())
            and np.allclose(image.GetDirection(), mask.GetDirection())):
        return None
    start = np.array(mask.TransformPhysicalPointToContinuousIndex(image.GetOrigin()))
    if not np.allclose(start, np.round(start), atol=1e-4):
        return None
    start = np.round(start).astype(int)
    size = np.array(image.GetSize())
    if np.any(start < 0) or np.any(start + size > np.array(mask.GetSize())):
        return None
    out = sitk.RegionOfInterest(mask, [int(v) for v in size], [int(v) for v in start])
    out.CopyInformation(image)
    return out


def _rows(prefix, cls, values):
    return [(f"{prefix}_{cls}_{name}", cls, None, None, value) for name, value in values.items()]


def _safe(fn, what, case):
    try:
        return fn()
    except (CaseError, MemoryError):
        raise
    except Exception as exc:  # a feature class failing gives NaNs, as in PyRadiomics
        warnings.warn(f"case {case}: {what} could not be computed ({exc}); reported as NaN",
                      FeatureWarning, stacklevel=3)
        return None


def _shape_rows(mask_arr, bbox, spacing_zyx, settings, case):
    fc, s = settings.feature_classes, settings.setting
    sl = tuple(slice(bbox[2 * k], bbox[2 * k + 1] + 1) for k in range(3))[::-1]
    m = mask_arr[sl]
    rows = []
    if "shape" in fc and fc["shape"]:
        vals = _safe(lambda: shape_features(m, spacing_zyx, fc["shape"]), "shape", case)
        rows += _rows("original", "shape", vals or dict.fromkeys(fc["shape"], np.nan))
    if "shape2D" in fc and fc["shape2D"] and s.get("force2D"):
        dim = int(s.get("force2Ddimension", 0))
        sizes_xyz = bbox[1::2] - bbox[0::2] + 1
        if not sizes_xyz[dim] > 1 or m.shape[dim] > 1:
            warnings.warn(f"case {case}: shape2D needs a single-slice ROI along dimension {dim}; "
                          "shape2D features not computed", FeatureWarning, stacklevel=2)
        else:
            sp2 = [v for k, v in enumerate(spacing_zyx) if k != dim]
            vals = _safe(lambda: shape2d_features(np.squeeze(m, dim), sp2, fc["shape2D"]),
                         "shape2D", case)
            rows += _rows("original", "shape2D", vals or dict.fromkeys(fc["shape2D"], np.nan))
    return rows


def _image_rows(prefix, arr, mask, kw, spacing_zyx, classes, case, hood=None):
    """Rows of one derived image; *hood*: ``{pad: Neighbourhood}`` of the ROI, shared by all
    derived images of the case (filled here on first use)."""
    values = arr[mask]
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise NonFiniteValueError(f"{prefix} image has NaN/inf inside the ROI", case=case)
    got: list = []
    q, _ = discretize(arr, mask, kw.get("binWidth", 25), kw.get("binCount"), values=values,
                      levels_out=got)
    g = got[0]
    nb = shared_neighbourhood({} if hood is None else hood, mask, kw.get("distances"))
    ctx = Context(q, nb.pad, nb=nb, g=g)  # shared by the texture matrices
    rows = []
    for cls, names in classes.items():
        if cls == "firstorder":
            fn = lambda names=names: firstorder_features(  # noqa: E731
                values, g, spacing_zyx, kw.get("voxelArrayShift", 0), names)
        else:
            fn = lambda cls=cls, names=names: TEXTURE[cls](q, kw, spacing_zyx, names,  # noqa: E731
                                                            ctx=ctx)
        vals = _safe(fn, f"{prefix} {cls}", case)
        rows += _rows(prefix, cls, vals or dict.fromkeys(names, np.nan))
    return rows


def extract_case_pyradiomics(image, mask, settings, *, label=None, roi=None, case=None):
    """Features of one case with PyRadiomics' conventions and names (long format).

    Parameters
    ----------
    image, mask : path or SimpleITK.Image
        Scan and label map (any integer labels; ``label`` picks one).
    settings : PyRadiomicsSettings, dict or path
        A PyRadiomics parameter file (or its content), see :mod:`radsig.config.pyradiomics`.
    label : int, optional
        Overrides ``setting.label``.
    roi : str, optional
        ROI name for RTSTRUCT/SEG masks (read through :func:`radsig.io.read_mask`).
    case : str, optional
        Case id used in messages.

    Returns
    -------
    pandas.DataFrame
        Columns ``feature, family, ibsi_code, aggregation_code, value``; ``feature`` holds
        PyRadiomics names such as ``original_glcm_JointEnergy`` or ``wavelet-LLH_firstorder_Mean``.
    """
    rows = case_rows(image, mask, settings, label=label, roi=roi, case=case)
    import pandas as pd

    return pd.DataFrame(rows, columns=COLUMNS)


def case_rows(image, mask, settings, *, label=None, roi=None, case=None) -> list[tuple]:
    """The rows (``COLUMNS``) of :func:`extract_case_pyradiomics`, without pandas."""
    settings = load_pyradiomics_settings(settings)
    s = dict(settings.setting)
    if label is not None:
        s["label"] = int(label)
    settings = PyRadiomicsSettings(setting=s, image_types=settings.image_types,
                                   feature_classes=settings.feature_classes,
                                   voxel_setting=settings.voxel_setting, source=settings.source,
                                   diagnostics=settings.diagnostics,
                                   label_chosen=label is not None or int(s["label"]) != 1)
    if roi is not None:
        image, mask = _roi_mask(image, mask, roi, case)
        s["label"] = 1
    if s.get("resampledPixelSpacing") is None:
        from radsig.io.checks import warn_anisotropic
        from radsig.io.nifti import read_header

        head = read_header(image) if isinstance(image, (str, Path)) else None
        spacing = (tuple(head.spacing) if head is not None
                   else (_spacing_of(image, case) if isinstance(image, (str, Path))
                         else image.GetSpacing()))
        warn_anisotropic(spacing, in_plane=bool(s.get("force2D")), where=image,
                         option="'resampledPixelSpacing'")
    return extract_rows(image, mask, settings, case=case)


def extract_rows(image, mask, settings: PyRadiomicsSettings, *, case=None) -> list[tuple]:
    """The rows of :func:`extract_case_pyradiomics` as tuples (no pandas needed).

    NIfTI files in the common settings go through :mod:`._fastpath` (no SimpleITK); everything
    else, and every case that path declines, through SimpleITK below."""
    if not os.environ.get("RADSIG_NO_FASTPATH") and not _needs_peak(settings):
        from radsig.features.pyradiomics._fastpath import nifti_arrays

        if settings.feature_classes.get("shape"):
            # the mesh module and its marching-cubes table (~15 ms) now, while a prefetched
            # image may still be inflating on the other core, not after it has arrived
            from radsig.features.pyradiomics._mesh import _table

            _table()
        early: dict = {}
        arrays = nifti_arrays(image, mask, settings,
                              on_mask=lambda roi, sp: early.update(
                                  shape=_shape_first(roi, sp, settings, case)))
        if arrays is not None:
            return features_from_arrays(*arrays, settings, case=case,
                                        shape_rows=early.get("shape"))
    s = settings.setting
    if s.get("geometryTolerance") is not None:
        sitk.ProcessObject.SetGlobalDefaultCoordinateTolerance(s["geometryTolerance"])
        sitk.ProcessObject.SetGlobalDefaultDirectionTolerance(s["geometryTolerance"])
    mask_sp = _spacing_of(mask, case)
    if len(mask_sp) == 2:
        image, mask, settings = _as_single_slice(image, mask, settings, case)
        s, mask_sp = settings.setting, tuple(mask.GetSpacing())
    elif len(mask_sp) != 3:
        raise CaseError(f"the mask is {len(mask_sp)}-D; PyRadiomics mode needs 2-D or 3-D images",
                        case=case)
    image_img, mask_img, bb = load_case(image, mask, s, P.region_margin(settings, mask_sp), case,
                                        whole=_needs_peak(settings),
                                        label_chosen=getattr(settings, "label_chosen", True))
    diag = {}
    if settings.diagnostics:
        from radsig.features.pyradiomics._diagnostics import original_info

        diag.update(original_info(image_img, mask_img, settings, image, mask))
    (image_img, mask_img), peak = _prepare(image_img, mask_img, settings, case, bb)
    return compute_features(image_img, mask_img, settings, case=case, diagnostics=diag,
                            peak=peak)


def _as_single_slice(image, mask, settings: PyRadiomicsSettings, case):
    """A 2-D image/mask as a one-slice 3-D pair, extracted in 2-D (force2D on the new axis).

    PyRadiomics computes 2-D inputs with in-plane directions only; on a one-slice volume the
    out-of-plane directions are empty and dropped, so the features are the same.
    """
    img = _read(image, case=case) if isinstance(image, (str, Path)) else image
    msk = _read(mask, case=case) if isinstance(mask, (str, Path)) else mask
    img, msk = sitk.JoinSeries([img]), sitk.JoinSeries([msk])
    s = dict(settings.setting, force2D=True, force2Ddimension=0)
    if s.get("resampledPixelSpacing") is not None:
        s["resampledPixelSpacing"] = list(s["resampledPixelSpacing"])[:2] + [0]
    out = PyRadiomicsSettings(setting=s, image_types=settings.image_types,
                              feature_classes=settings.feature_classes,
                              voxel_setting=settings.voxel_setting, source=settings.source,
                              diagnostics=settings.diagnostics)
    return img, msk, out


def _spacing_of(mask, case):
    if isinstance(mask, (str, Path)):
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(mask))
        try:
            reader.ReadImageInformation()
        except RuntimeError as exc:
            raise ImageReadError(f"cannot read mask: {exc}", case=case, path=str(mask)) from exc
        return reader.GetSpacing()
    return mask.GetSpacing()


def _roi_mask(image, mask, roi, case):
    from radsig import io as rio

    ref = rio.read_image(image, case=case) if isinstance(image, (str, Path)) else image
    return ref, rio.read_mask(mask, ref, roi=roi, case=case)


def prepare_case(image, mask, settings, *, case=None):
    """The ROI as the feature classes see it: (image, mask) arrays cut to the (resegmented)
    bounding box, the spacing (z, y, x) and the settings dict. For tests and inspection."""
    settings = load_pyradiomics_settings(settings)
    s = settings.setting
    image_img, mask_img, bb = load_case(image, mask, s,
                                        P.region_margin(settings, _spacing_of(mask, case)), case)
    (image_img, mask_img), _ = _prepare(image_img, mask_img, settings, case, bb)
    img_arr = sitk.GetArrayFromImage(image_img)
    mask_arr = sitk.GetArrayViewFromImage(mask_img) == int(s["label"])
    min_dims, min_size = int(s.get("minimumROIDimensions", 2)), s.get("minimumROISize")
    bbox = P.check_mask(mask_arr, min_dims, min_size, case)
    if s.get("resegmentRange") is not None:
        mask_arr = P.resegment(img_arr, mask_arr, s["resegmentRange"],
                               s.get("resegmentMode", "absolute"), case)
        bbox = P.check_mask(mask_arr, min_dims, min_size, case)
    sl = tuple(slice(bbox[2 * k], bbox[2 * k + 1] + 1) for k in range(3))[::-1]
    return img_arr[sl], mask_arr[sl], tuple(image_img.GetSpacing()[::-1]), s


def compute_features(image: sitk.Image, mask: sitk.Image, settings: PyRadiomicsSettings, *,
                     case=None, diagnostics: dict | None = None, peak: float | None = None
                     ) -> list[tuple]:
    """Rows for an image/mask pair already on one grid (after loadImage-equivalent steps).

    *peak*: maximum |intensity| the square/squareroot/logarithm/exponential filters rescale by
    (default: that of *image*).
    """
    label = int(settings.setting["label"])
    diag = None
    if diagnostics is not None and settings.diagnostics:
        def diag(mask_arr, bbox):
            from radsig.features.pyradiomics._diagnostics import processed_info

            diagnostics.update(processed_info(image, mask_arr, bbox))
            return [(k, "diagnostics", None, None, v) for k, v in diagnostics.items()]
    return features_from_arrays(sitk.GetArrayFromImage(image),
                                sitk.GetArrayViewFromImage(mask) == label,
                                tuple(image.GetSpacing()[::-1]), settings, case=case, peak=peak,
                                diagnostics=diag)


def _shape_first(mask_arr: np.ndarray, spacing, settings, case) -> list[tuple] | None:
    """The shape rows from the ROI alone, before the image is read (a prefetched image is still
    inflating then: ~25 ms of work moved off the case's critical path), or None where they need
    the image (with ``resegmentRange`` the box, or with ``resegmentShape`` the ROI, comes from
    the resegmented mask) or the ROI check fails (raised again, in order, later)."""
    s = settings.setting
    if s.get("resegmentRange") is not None:
        return None
    try:
        bbox = P.check_mask(mask_arr, int(s.get("minimumROIDimensions", 2)),
                            s.get("minimumROISize"), case)
    except CaseError:
        return None
    return _shape_rows(mask_arr, bbox, spacing, settings, case)


def features_from_arrays(img_arr: np.ndarray, mask_arr: np.ndarray, spacing, settings, *,
                         case=None, peak: float | None = None, diagnostics=None,
                         shape_rows: list[tuple] | None = None) -> list[tuple]:
    """Rows of :func:`compute_features` from the (z, y, x) image array, the boolean ROI on the
    same grid and the spacing (z, y, x); *diagnostics*: ``f(mask, bbox) -> rows`` or None;
    *shape_rows*: the shape rows when already computed from this ROI (:func:`_shape_first`)."""
    s = settings.setting
    min_dims, min_size = int(s.get("minimumROIDimensions", 2)), s.get("minimumROISize")
    bbox = P.check_mask(mask_arr, min_dims, min_size, case)
    orig_mask = mask_arr
    if s.get("resegmentRange") is not None:
        mask_arr = P.resegment(img_arr, mask_arr, s["resegmentRange"],
                               s.get("resegmentMode", "absolute"), case)
        bbox = P.check_mask(mask_arr, min_dims, min_size, case)
    rows = []
    if diagnostics is not None:
        rows += diagnostics(mask_arr, bbox)
    shape_mask = mask_arr if s.get("resegmentShape") else orig_mask
    classes = {c: n for c, n in settings.feature_classes.items()
               if not c.startswith("shape") and n}
    sl = tuple(slice(bbox[2 * k], bbox[2 * k + 1] + 1) for k in range(3))[::-1]
    roi_mask = np.ascontiguousarray(mask_arr[sl])
    hood: dict = {}
    tasks = []
    if classes:
        tasks = list(filter_tasks(img_arr, spacing, settings.image_types, mask=mask_arr,
                                  settings=s, peak=peak,
                                  threads=1 if worker_threads() > 1 else None))

    def shape():
        if shape_rows is not None:
            return shape_rows
        return _shape_rows(shape_mask, bbox, spacing, settings, case)

    def one(task):
        prefix, compute, kw = task
        return _image_rows(prefix, np.ascontiguousarray(compute()[sl]), roi_mask, kw, spacing,
                           classes, case, hood)

    workers = min(worker_threads(), len(tasks) + 1)
    if roi_mask.size and np.count_nonzero(roi_mask) > threaded_max_voxels():
        workers = 1  # large ROI: keep one image's temporaries in memory at a time
    if workers <= 1:
        rows += shape()
        for task in tasks:
            rows += one(task)
        return rows
    return rows + parallel_rows(shape, one, tasks, hood, roi_mask, workers)
