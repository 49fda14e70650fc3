"""``extract_case``: one preprocessing pass, then every requested feature family.

Families share the :class:`PreparedRoi` (crop, resampling, re-segmentation and discretisation
are done once). A family that is not available or cannot be computed for this ROI is reported
as missing values with a :class:`FeatureWarning`; the others are still computed.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radsig.config import load_settings
from radsig.config.settings import IbsiSettings
from radsig.exceptions import CaseError, FeatureWarning, NonFiniteValueError, RadsigError
from radsig.features import registry
from radsig.preprocess.intensity import discretise, ivh_values
from radsig.preprocess.pipeline import prepare_arrays, sitk_to_arrays
from radsig.preprocess.roi import PreparedRoi

COLUMNS = ["feature", "family", "ibsi_code", "aggregation_code", "value"]
#: families computed on the original image only (shape does not change with a filter)
_ORIGINAL_ONLY = ("morphology",)


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
                 roi: str | None = None, case: str | None = None) -> pd.DataFrame:
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
    settings = load_settings(settings)
    if not isinstance(settings, IbsiSettings):
        from radsig.features.pyradiomics import extract_case_pyradiomics

        return extract_case_pyradiomics(image, mask, settings, label=label, roi=roi, case=case)
    image, mask, image_path, mask_path = _load_inputs(image, mask, label, roi, case)
    if not isinstance(image, sitk.Image):
        raise TypeError("image must be a path or a SimpleITK image")
    arr, msk, spacing, origin = sitk_to_arrays(image, mask)
    if not np.isfinite(arr[msk]).all():
        n_bad = int((~np.isfinite(arr[msk])).sum())
        raise NonFiniteValueError(f"{n_bad} voxel(s) in the ROI are NaN or infinite; fix the "
                                  "image or exclude them from the mask", case=case,
                                  path=image_path, stage="read")
    if settings.input.round_intensities and arr.dtype.kind == "f":  # integers are already
        arr = np.rint(arr)
    try:
        prepared = prepare_arrays(arr, msk, spacing, settings, origin=origin,
                                  direction=image.GetDirection(), case=case)
    except CaseError as err:
        if err.path:
            raise
        path = image_path if isinstance(err, NonFiniteValueError) else mask_path
        raise type(err)(err.message, case=case, path=path, stage=err.stage) from None
    where = f"case {case}: " if case else (f"{image_path}: " if image_path else "")
    rows, errors = [], {}
    for name, froi in _filtered_rois(prepared, settings).items():
        prefix = "" if name == "original" else f"{name}_"
        for family in settings.families:
            if prefix and family in _ORIGINAL_ONLY:
                continue
            values, reason = compute_family(family, froi, settings, where=where)
            if reason:
                errors[prefix + family] = reason
            rows.extend(_rows(prefix, family, values))
    df = pd.DataFrame(rows, columns=COLUMNS)
    df.attrs["family_errors"] = errors
    df.attrs["diagnostics"] = prepared.extra.get("diagnostics", {})
    return df


def to_wide(long_df: pd.DataFrame) -> dict[str, float]:
    """Feature → value mapping of a long table from :func:`extract_case`."""
    return {str(f): float(v) for f, v in zip(long_df["feature"], long_df["value"], strict=False)}
