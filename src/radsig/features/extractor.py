"""``extract_case``: one preprocessing pass, then every requested feature family.

Families share the :class:`PreparedRoi` (crop, resampling, re-segmentation and discretisation
are done once). A family that is not available or cannot be computed for this ROI is reported
as missing values with a :class:`FeatureWarning`; the others are still computed.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from radsig.config import load_settings
from radsig.exceptions import CaseError, FeatureWarning, NonFiniteValueError, RadsigError
from radsig.features import registry
from radsig.preprocess.intensity import discretise, ivh_values
from radsig.preprocess.roi import PreparedRoi

if TYPE_CHECKING:
    from radsig.config.settings import IbsiSettings

COLUMNS = ["feature", "family", "ibsi_code", "aggregation_code", "value"]
#: families computed on the original image only (shape does not change with a filter)
_ORIGINAL_ONLY = ("morphology",)


def _ibsi_settings() -> type:
    from radsig.config.settings import IbsiSettings

    return IbsiSettings


def _load_inputs(image, mask, label, roi, case):
    """(image, binary mask, image path) from paths or SimpleITK images."""
    from radsig.io import binarise_mask, read_image, read_mask

    image_path = mask_path = None
    if isinstance(image, (str, Path)):
        image_path = str(image)
        image = read_image(image, case=case)
    if isinstance(mask, (str, Path)):
        mask_path = str(mask)
        mask = read_mask(mask, image, label=label, roi=roi, case=case)
    else:
        mask = binarise_mask(mask, image, label=label, case=case)
    return image, mask, image_path, mask_path


def _family_options(family: str, settings: IbsiSettings) -> dict:
    if family not in registry.TEXTURE:
        return {}
    tex = settings.texture
    options = {"aggregations": registry.aggregations_for(family, tex.aggregations),
               "distance": tex.distance}
    if family == "ngldm":
        options["alpha"] = tex.ngldm_alpha
    return options


def compute_family(family: str, roi: PreparedRoi, settings: IbsiSettings, *,
                   where: str = "") -> tuple[dict[str, float], str | None]:
    """Values of one family (NaN for every feature it could not give) and the reason, if any."""
    keys = registry.expected_keys(family, settings.texture.aggregations)
    n_vox = int(roi.int_mask.sum())
    need = registry.MIN_VOXELS.get(family, 1)
    reason = None
    values: dict[str, float] = {}
    if n_vox < need:
        reason = f"the ROI has {n_vox} voxel(s), family '{family}' needs at least {need}"
    else:
        try:
            module = registry.get_family(family)
            values = module.compute(roi, **_family_options(family, settings))
        except RadsigError:
            raise
        except NotImplementedError as err:
            reason = f"NotImplementedError: {err}"
        except Exception as err:  # a family failing must not lose the other families
            reason = f"{type(err).__name__}: {err}"
    if reason is not None:
        warnings.warn(f"{where}feature family '{family}' could not be computed ({reason}); "
                      f"its {len(keys)} features are reported as missing",
                      FeatureWarning, stacklevel=3)
        values = {}
    out = {k: float(values.get(k, np.nan)) for k in keys}
    out.update({k: float(v) for k, v in values.items() if k not in out})
    return out, reason


def _filtered_rois(roi: PreparedRoi, settings: IbsiSettings) -> dict[str, PreparedRoi]:
    """Image type → PreparedRoi; 'original' first, then each filter response."""
    rois = {"original": roi}
    if settings.filters_trivial:
        return rois
    pyrad = settings.pyradiomics_filters
    images = {}
    if set(pyrad) - {"Original"}:
        from radsig.preprocess.filters import apply_filters  # lands with the PyRadiomics issue

        images = apply_filters(roi.image, roi.spacing, pyrad, mask=roi.morph_mask)
    for name, spec in settings.ibsi2_filters.items():  # IBSI-2 filters, named by their entry
        images[name] = spec.apply(roi.image, roi.spacing)
    disc, ivh = settings.discretisation, settings.ivh
    for name, arr in images.items():
        if name == "original":
            continue
        values = arr[roi.int_mask]
        # the re-segmentation range is in the original units: filtered images bin from the
        # ROI minimum
        lv, n_levels = discretise(values, "fbn" if disc.method == "none" else disc.method,
                                  bin_width=disc.bin_width, bin_number=disc.bin_number or 32)
        levels = np.zeros(arr.shape, dtype=np.int32)
        levels[roi.int_mask] = lv
        method = "fbn" if ivh.method == "fbs" else ivh.method
        extra = dict(roi.extra, ivh=ivh_values(values, method, bin_number=ivh.bin_number or
                                               1000))
        rois[name] = replace(roi, image=np.asarray(arr, dtype=np.float64), levels=levels,
                             n_levels=n_levels, extra=extra)
    return rois


def _rows(prefix: str, family: str, values: dict[str, float]) -> list[tuple]:
    info = registry.features_by_tag()
    codes = registry.aggregation_codes()
    rows = []
    for key, value in values.items():
        tag, agg = registry.split_key(key)
        meta = info.get(tag)
        rows.append((prefix + key, family, meta.ibsi_code if meta else "",
                     codes.get(agg, ""), value))
    return rows


def extract_case(image, mask, settings=None, *, label: int | None = None,
                 roi: str | None = None, case: str | None = None):
    """Extract IBSI features of one case.

    Parameters
    ----------
    image, mask : str, Path or SimpleITK.Image
        The image and its ROI mask (label map; RTSTRUCT / SEG via the DICOM reader).
    settings : IbsiSettings, PyRadiomics settings, dict, path or None
        Extraction settings (see :func:`radsig.config.load_settings`); None = defaults.
    label : int, optional
        ROI label in the mask (default: every non-zero voxel).
    roi : str, optional
        ROI name / regex for RTSTRUCT / SEG masks.
    case : str, optional
        Case identifier used in messages.

    Returns
    -------
    pandas.DataFrame
        Long format: ``feature, family, ibsi_code, aggregation_code, value``.
        ``df.attrs`` holds ``family_errors`` (family → reason) and ``diagnostics``.
    """
    import pandas as pd

    rows, attrs = extract_case_rows(image, mask, settings, label=label, roi=roi, case=case)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs.update(attrs)
    return df


def extract_case_rows(image, mask, settings=None, *, label: int | None = None,
                      roi: str | None = None, case: str | None = None) -> tuple[list[tuple], dict]:
    """The rows (``COLUMNS``) of :func:`extract_case` and its ``attrs``, without pandas (one
    case on the command line need not import it)."""
    settings = load_settings(settings)
    from radsig.io.gzstream import checked_streams

    # gzipped NIfTI read only up to the ROI's planes: the rest of each stream is checked (CRC,
    # length) in the background meanwhile; a corrupt file is an error, never its numbers
    with checked_streams():
        return _case_rows(image, mask, settings, label=label, roi=roi, case=case)


def _preload(families) -> None:
    """Import what the families use before the image is read: a command's image inflates on
    the other core meanwhile (:func:`radsig.io.gzstream.prefetch`) and the read waits for it
    (~40 ms of a 512 x 512 x 120 CT's), so these ~30 ms of imports then cost nothing: the family
    modules, the feature table, and ``numpy.ma``, which ``np.percentile`` imports at its first
    call (NumPy 2.4)."""
    import numpy.ma  # noqa: F401

    for family in families:
        registry.get_family(family)
    registry.features_by_tag()
    registry.aggregation_codes()


def _morphology_first(msk, spacing, settings, early: dict) -> None:
    """The mask-only morphological features, computed before the image is read (while a
    prefetched image still inflates on the other core: ~20 ms of the family off the case's
    critical path); the family uses them when its morphological mask is this one."""
    if "morphology" not in settings.families:
        return
    from radsig.features.morphology import mask_features
    from radsig.preprocess.pipeline import morphological_mask

    try:
        morph, new_spacing = morphological_mask(msk, spacing, settings)
        early["morphology"] = (morph, new_spacing, mask_features(morph, new_spacing))
    except Exception:  # noqa: BLE001 - computed again (and reported) by the family itself
        early.pop("morphology", None)


def _arrays(image, mask, settings, label, roi, case, early: dict) -> tuple:
    """``(image, mask, spacing, origin, direction, image path, mask path)`` as (z, y, x)
    arrays: NIfTI files read without SimpleITK (only the planes the ROI needs; the mask-only
    morphology into *early* before the image), anything else through SimpleITK."""
    from radsig.features._nifti_input import nifti_arrays

    fast = nifti_arrays(image, mask, settings, label, case=case,
                        on_mask=lambda msk, sp: _morphology_first(msk, sp, settings, early)
                        ) if roi is None else None
    if fast is not None:
        return (*fast, str(image), str(mask))
    import SimpleITK as sitk

    from radsig.preprocess.pipeline import sitk_to_arrays

    image, mask, image_path, mask_path = _load_inputs(image, mask, label, roi, case)
    if not isinstance(image, sitk.Image):
        raise TypeError("image must be a path or a SimpleITK image")
    arr, msk, spacing, origin = sitk_to_arrays(image, mask)
    return arr, msk, spacing, origin, image.GetDirection(), image_path, mask_path


def _case_rows(image, mask, settings, *, label, roi, case) -> tuple[list[tuple], dict]:
    from radsig.config.pyradiomics import PyRadiomicsSettings

    # (PyRadiomics settings first: the IBSI settings module is imported only for IBSI)
    if isinstance(settings, PyRadiomicsSettings) or not isinstance(settings, _ibsi_settings()):
        from radsig.features.pyradiomics._extract import case_rows

        return case_rows(image, mask, settings, label=label, roi=roi, case=case), {}
    from radsig.preprocess.pipeline import prepare_arrays

    _preload(settings.families)
    early: dict = {}
    arr, msk, spacing, origin, direction, image_path, mask_path = _arrays(
        image, mask, settings, label, roi, case, early)
    if settings.interpolation.spacing is None:
        from radsig.io.checks import warn_anisotropic

        warn_anisotropic(tuple(spacing)[::-1],  # x, y, z
                         where=image_path or "image", option="interpolation",
                         in_plane=all(a != "3D" for a in settings.texture.aggregations))
    if not np.isfinite(arr[msk]).all():
        n_bad = int((~np.isfinite(arr[msk])).sum())
        raise NonFiniteValueError(f"{n_bad} voxel(s) in the ROI are NaN or infinite; fix the "
                                  "image or exclude them from the mask", case=case,
                                  path=image_path, stage="read")
    if settings.input.round_intensities and arr.dtype.kind == "f":  # integers are already
        arr = np.rint(arr)
    try:
        prepared = prepare_arrays(arr, msk, spacing, settings, origin=origin,
                                  direction=direction, case=case,
                                  morph_mask=early["morphology"][0] if early else None)
    except CaseError as err:
        if err.path:
            raise
        path = image_path if isinstance(err, NonFiniteValueError) else mask_path
        raise type(err)(err.message, case=case, path=path, stage=err.stage) from None
    if "morphology" in early:
        prepared.extra["morphology_mask"] = early["morphology"]
    where = f"case {case}: " if case else (f"{image_path}: " if image_path else "")
    tasks = []
    for name, froi in _filtered_rois(prepared, settings).items():
        prefix = "" if name == "original" else f"{name}_"
        tasks += [(prefix, family, froi) for family in settings.families
                  if not (prefix and family in _ORIGINAL_ONLY)]
    rows, errors = [], {}
    for (prefix, family, _), (values, reason) in zip(
            tasks, _compute_families(tasks, settings, where), strict=True):
        if reason:
            errors[prefix + family] = reason
        rows.extend(_rows(prefix, family, values))
    return rows, {"family_errors": errors,
                  "diagnostics": prepared.extra.get("diagnostics", {})}


#: ROI size (voxels) up to which one case's families run in two threads: two families at once
#: hold two families' working arrays (the FFT spectra of Moran's I and of the local intensity
#: peak are ~8 times the ROI box each); an 80 mm tumour at 1 mm (254,000 voxels) took 346 MiB
#: in two threads, 255-311 MiB in one
THREADED_MAX_VOXELS = 200_000
#: the longest families, started first so that the two threads end together
_LONGEST_FIRST = ("morphology", "local_intensity", "glcm")


def _compute_families(tasks, settings, where) -> list:
    """``compute_family`` of each ``(prefix, family, roi)`` task, in task order; in two threads
    (see :func:`radsig.features._threads.worker_threads`) when the ROI is not too large: the C
    kernels (texture counts, convex hull, bounding volumes) and NumPy's loops and FFTs release
    the GIL, so two families run side by side."""
    from radsig.features._threads import run_threads, worker_threads

    jobs = [lambda t=t: compute_family(t[1], t[2], settings, where=where) for t in tasks]
    workers = worker_threads() if len(tasks) > 1 else 1
    if workers > 1 and int(tasks[0][2].int_mask.sum()) > THREADED_MAX_VOXELS:
        workers = 1
    rank = {family: r for r, family in enumerate(_LONGEST_FIRST)}
    order = sorted(range(len(tasks)), key=lambda k: rank.get(tasks[k][1], len(rank)))  # stable
    done = run_threads([jobs[k] for k in order], workers)
    out: list = [None] * len(tasks)
    for k, result in zip(order, done, strict=True):
        out[k] = result
    return out


def to_wide(long_df) -> dict[str, float]:
    """Feature → value mapping of a long table from :func:`extract_case`."""
    return {str(f): float(v) for f, v in zip(long_df["feature"], long_df["value"], strict=False)}
