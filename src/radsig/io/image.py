"""Reading images and label-map masks (NIfTI, NRRD, MHA/MHD) with SimpleITK.

Every failure a user can cause becomes a typed :mod:`radsig.exceptions` error that names the
file and the cause. DICOM series folders and RTSTRUCT / SEG files are dispatched to
:mod:`radsig.io.dicom` (the DICOM issue); this module only holds the hook.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radsig.exceptions import (
    EmptyMaskError,
    GeometryMismatchError,
    ImageReadError,
    LabelNotFoundError,
)

#: File endings read here (anything else SimpleITK can read is tried as well).
SUPPORTED_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")
_DICOM_SUFFIXES = (".dcm",)
#: Relative tolerance when comparing image and mask geometry.
GEOMETRY_TOLERANCE = 1e-4


def _is_dicom_file(path: Path) -> bool:
    """A .dcm name, or a file with the DICOM preamble (RTSTRUCT / SEG files often lack .dcm)."""
    if path.name.lower().endswith(_DICOM_SUFFIXES):
        return True
    if not path.is_file() or path.name.lower().endswith(SUPPORTED_SUFFIXES):
        return False
    from radsig.io.dicom import is_dicom_file

    return is_dicom_file(path)


def _read_file(path: Path, *, case: str | None, what: str) -> sitk.Image:
    if not path.exists():
        raise ImageReadError(f"{what} file not found; check the path", case=case, path=str(path),
                             stage="read")
    try:
        return sitk.ReadImage(str(path))
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        detail = next((line for line in first if "ERROR" in line or "rror" in line), "")
        raise ImageReadError(
            f"cannot read {what}: the file is corrupt or not a supported format "
            f"(NIfTI, NRRD, MHA/MHD){'; ' + detail.strip()[:160] if detail else ''}",
            case=case, path=str(path), stage="read",
        ) from None


def read_image(path: str | Path, *, case: str | None = None) -> sitk.Image:
    """Read an image file (or a DICOM series folder) into a SimpleITK image.

    Parameters
    ----------
    path : str or Path
        NIfTI / NRRD / MHA / MHD file; a folder is handed to the DICOM reader.
    case : str, optional
        Case identifier used in error messages.

    Returns
    -------
    SimpleITK.Image
        Scalar image as read (no casting or rounding here).

    Raises
    ------
    ImageReadError
        Missing, unreadable or corrupt file, or a non-scalar image.
    """
    path = Path(path)
    if path.is_dir() or _is_dicom_file(path):
        try:
            from radsig.io.dicom import read_series  # DICOM issue
        except ImportError:
            raise ImageReadError("DICOM input is not available in this version; convert the "
                                 "series to NIfTI first", case=case, path=str(path),
                                 stage="read") from None
        return read_series(path, case=case)
    image = _read_file(path, case=case, what="image")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ImageReadError(
            f"image has {image.GetNumberOfComponentsPerPixel()} components per voxel; "
            "a scalar (grey-level) image is needed", case=case, path=str(path), stage="read")
    if image.GetDimension() == 2:
        image = sitk.JoinSeries(image)
    return image


def check_geometry(reference: sitk.Image, other: sitk.Image, *, case: str | None = None,
                   path: str | None = None) -> None:
    """Raise :class:`GeometryMismatchError` unless *other* lies on *reference*'s voxel grid."""
    problems = []
    if reference.GetSize() != other.GetSize():
        problems.append(f"size {other.GetSize()} vs image {reference.GetSize()}")
    for name, getter in (("spacing", "GetSpacing"), ("origin", "GetOrigin"),
                         ("direction", "GetDirection")):
        a = np.asarray(getattr(reference, getter)(), dtype=float)
        b = np.asarray(getattr(other, getter)(), dtype=float)
        scale = max(1.0, float(np.max(np.abs(a)))) if a.size else 1.0
        if a.shape != b.shape or not np.allclose(a, b, rtol=0, atol=GEOMETRY_TOLERANCE * scale):
            problems.append(f"{name} {tuple(np.round(b, 4))} vs image {tuple(np.round(a, 4))}")
    if problems:
        raise GeometryMismatchError(
            "mask and image have different geometry (" + "; ".join(problems)
            + "); resample the mask onto the image grid", case=case, path=path, stage="read")


def read_mask(path: str | Path, reference: sitk.Image, *, label: int | None = None,
              roi: str | None = None, case: str | None = None) -> sitk.Image:
    """Read a label map and return a binary UInt8 mask on *reference*'s grid.

    Parameters
    ----------
    path : str or Path
        Label-map file (NIfTI / NRRD / MHA / MHD); RTSTRUCT / SEG files go to the DICOM reader.
    reference : SimpleITK.Image
        The image the mask belongs to; geometry must match.
    label : int, optional
        Label value of the ROI; by default every non-zero voxel.
    roi : str, optional
        ROI name or regular expression (RTSTRUCT / SEG only).
    case : str, optional
        Case identifier used in error messages.

    Raises
    ------
    ImageReadError, GeometryMismatchError, LabelNotFoundError, EmptyMaskError
    """
    path = Path(path)
    if path.is_dir() or _is_dicom_file(path):
        try:
            from radsig.io.dicom import read_dicom_mask  # DICOM issue
        except ImportError:
            raise ImageReadError("RTSTRUCT / SEG masks are not available in this version; "
                                 "convert the ROI to a label map first", case=case,
                                 path=str(path)) from None
        mask = read_dicom_mask(path, reference, roi, case=case)
        return binarise_mask(mask, reference, label=None, case=case, path=str(path))
    if roi is not None:
        raise LabelNotFoundError(
            f"an ROI name ({roi!r}) needs an RTSTRUCT or SEG file; for a label map use a label",
            case=case, path=str(path), stage="read")
    mask = _read_file(path, case=case, what="mask")
    return binarise_mask(mask, reference, label=label, case=case, path=str(path))


def binarise_mask(mask: sitk.Image, reference: sitk.Image, *, label: int | None = None,
                  case: str | None = None, path: str | None = None) -> sitk.Image:
    """Check a label-map image against *reference* and return the binary UInt8 ROI mask.

    Values are rounded first (label maps stored as float); without *label* every non-zero
    voxel is in the ROI.
    """
    if mask.GetDimension() == 2:
        mask = sitk.JoinSeries(mask)
    check_geometry(reference, mask, case=case, path=path)
    values = sitk.GetArrayViewFromImage(mask)  # no copy; integer label maps are used as they are
    if values.dtype.kind == "f":
        values = np.rint(values)  # a float copy only for label maps stored as float
    if label is None:
        binary = values != 0
    else:
        binary = values == label
        if not binary.any():
            present = np.unique(values[values != 0]).astype(np.int64)
            shown = ", ".join(map(str, present[:20])) or "none"
            raise LabelNotFoundError(
                f"label {label} is not in the mask (labels present: {shown}); "
                "pass one of them with --label", case=case, path=path, stage="read")
    if not binary.any():
        raise EmptyMaskError("mask is empty (no non-zero voxel); check the segmentation",
                             case=case, path=path, stage="read")
    out = sitk.GetImageFromArray(binary.astype(np.uint8))
    out.CopyInformation(reference)
    return out
