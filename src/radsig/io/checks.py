"""Checks on input that is valid but suspicious: they warn (:class:`InputWarning`), naming the
file, the cause and what radsig did.

The image and mask value checks work on NumPy arrays (no SimpleITK, no pandas), so that every
reader runs the same ones: :func:`radsig.io.image.read_file` and
:func:`radsig.io.image.binarise_mask` (SimpleITK images) and the NIfTI fast paths of IBSI and
PyRadiomics mode (:mod:`radsig.features._nifti_input`, :mod:`radsig.features.pyradiomics._fastpath`).
"""

from __future__ import annotations

import warnings

import numpy as np

from radsig.exceptions import (
    EmptyMaskError,
    ImageReadError,
    InputWarning,
    LabelNotFoundError,
)

#: Largest/smallest voxel edge above which texture features without resampling are direction-biased.
ANISOTROPY_RATIO = 2.0


def warn_anisotropic(spacing, *, where, option: str, in_plane: bool = False) -> bool:
    """Warn when the voxels are anisotropic (ratio > :data:`ANISOTROPY_RATIO`) and the settings
    do not resample (in-plane spacing only when every texture aggregation is 2-D)."""
    edges = [float(v) for v in (tuple(spacing)[:2] if in_plane else tuple(spacing)[:3])]
    if not edges or min(edges) <= 0 or max(edges) / min(edges) <= ANISOTROPY_RATIO:
        return False
    shown = " x ".join(f"{v:g}" for v in spacing)
    warnings.warn(f"{where}: voxels are anisotropic ({shown} mm) and the settings do not "
                  f"resample; texture and shape features then depend on direction (set {option} "
                  "to an isotropic spacing)", InputWarning, stacklevel=3)
    return True


def check_nonfinite(values: np.ndarray, *, what: str, path, case: str | None = None,
                    stacklevel: int = 3) -> int:
    """Count NaN/inf voxels of a whole image or mask array: in a mask they are an error
    (:class:`ImageReadError`); in an image they are kept and reported in a warning (an ROI that
    holds one is refused later). Returns the count."""
    if values.dtype.kind != "f":
        return 0
    n_bad = int(values.size - np.count_nonzero(np.isfinite(values)))
    if n_bad:
        if what == "mask":
            raise ImageReadError(f"mask has {n_bad} NaN or infinite voxel(s); a mask must hold "
                                 "labels", case=case, path=str(path), stage="read")
        warnings.warn(f"{path}: {n_bad} image voxel(s) are NaN or infinite; they are kept "
                      "(an ROI that holds one is an error)", InputWarning, stacklevel=stacklevel)
    return n_bad


def mask_roi(values: np.ndarray, *, label: int | None = None, case: str | None = None,
             path=None, background_elsewhere: bool = False) -> np.ndarray:
    """The boolean ROI of a label-map array (already on the image grid), with the mask checks:

    - NaN/inf values: error;
    - integer labels (also stored as float, to within 0.001): without *label* every non-zero voxel
      is the ROI; several labels give an :class:`InputWarning` listing them (the labels are merged);
    - non-integer values (a probability or partial-volume map): the ROI is the voxels above the
      midpoint of the lowest and highest value (0.5 for a 0–1 map), stated in a warning; with
      *label* this is an error;
    - a label not present, or an empty ROI: error; a mask without background (every voxel in the
      ROI): warning.

    *values* may be part of the mask (a reader that keeps only the planes holding labels) when all
    other voxels are 0: *background_elsewhere* then says that such voxels exist."""
    where = path or "mask"
    if label is not None and label == 0:
        raise LabelNotFoundError("label 0 is the background of a label map, not an ROI; pass the "
                                 "ROI's label (or leave --label out for every non-zero voxel)",
                                 case=case, path=path, stage="read")
    if values.dtype.kind == "f":
        finite = np.isfinite(values)
        if not finite.all():
            raise ImageReadError(f"mask has {int(finite.size - finite.sum())} NaN or infinite "
                                 "voxel(s); a mask must hold labels", case=case, path=path,
                                 stage="read")
        rounded = np.rint(values)
        if not np.all(np.abs(rounded - values) <= 1e-3):  # 1.9999: label 2 stored as float
            lo, hi = float(values.min()), float(values.max())
            if background_elsewhere:
                lo, hi = min(lo, 0.0), max(hi, 0.0)
            if label is not None:
                raise LabelNotFoundError(
                    f"--label {label} needs a label map, but the mask holds non-integer values "
                    f"({lo:g} to {hi:g}); leave --label out to threshold it", case=case,
                    path=path, stage="read")
            threshold = (lo + hi) / 2
            binary = values > threshold
            warnings.warn(f"{where}: mask is not binary (values {lo:g} to {hi:g}); the ROI is "
                          f"the {int(binary.sum())} voxels above {threshold:g}, midway between "
                          "its lowest and highest value", InputWarning, stacklevel=3)
            return _checked_roi(binary, case, path, background_elsewhere)
        values = rounded
    if label is None:
        nonzero = values != 0
        labelled = values[nonzero]
        # one label (the common case) needs no np.unique, which sorts and, in NumPy 2.4, imports
        # numpy.ma (~10 ms of a one-case extraction)
        several = labelled.size > 1 and bool((labelled != labelled[0]).any())
        present = np.unique(labelled) if several else labelled[:1]
        if present.size > 1:
            shown = ", ".join(f"{v:g}" for v in present[:20]) + (" …" if present.size > 20 else "")
            warnings.warn(f"{where}: mask holds {present.size} labels ({shown}) and no --label "
                          "was given; all non-zero voxels form one ROI (labels merged); pass "
                          "--label N (or a label column) to use one", InputWarning, stacklevel=3)
        binary = nonzero
    else:
        binary = values == label
        if not binary.any():
            present = np.unique(values[values != 0]).astype(np.int64)
            shown = ", ".join(map(str, present[:20])) or "none"
            raise LabelNotFoundError(
                f"label {label} is not in the mask (labels present: {shown}); "
                "pass one of them with --label", case=case, path=path, stage="read")
    return _checked_roi(binary, case, path, background_elsewhere)


def _checked_roi(binary: np.ndarray, case, path, background_elsewhere: bool) -> np.ndarray:
    if not binary.any():
        raise EmptyMaskError("mask is empty (no non-zero voxel); check the segmentation",
                             case=case, path=path, stage="read")
    if not background_elsewhere and binary.all() and binary.size > 1:
        warnings.warn(f"{path or 'mask'}: every voxel of the mask is in the ROI (no background); "
                      "the whole image is the ROI", InputWarning, stacklevel=4)
    return binary
