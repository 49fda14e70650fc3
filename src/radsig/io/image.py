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


def _sitk_read(path: Path, *, case: str | None, what: str) -> sitk.Image:
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


def _read_nifti(path: Path, lay, *, case: str | None, what: str) -> sitk.Image:
    """A NIfTI-1 file: voxels read by :mod:`radsig.io.nifti` (short files and gzip streams are
    errors, NaN/inf kept), geometry from SimpleITK's header reader (its qform/sform rules)."""
    from radsig.io import nifti

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError:
        return _sitk_read(path, case=case, what=what)  # the same error message as other formats
    size = reader.GetSize()
    if reader.GetNumberOfComponents() != 1 or len(size) < 2:
        return _sitk_read(path, case=case, what=what)  # the component check names the problem
    _check_dimension(size, case=case, path=path, what=what)
    if lay.pixdim is not None and not all(np.isfinite(v) and v != 0 for v in lay.pixdim[:3]):
        raise ImageReadError(f"{what} header gives voxel spacing {tuple(lay.pixdim[:3])}; a NIfTI "
                             "pixdim of 0 or NaN makes every size in mm wrong (SimpleITK reads it "
                             "as 1 mm); fix the header", case=case, path=str(path), stage="read")
    try:
        data = nifti.read_voxels(lay)
    except nifti.NiftiTruncatedError as err:
        raise ImageReadError(f"{what} file is truncated: {err.missing} of {err.expected} bytes of "
                             f"voxel data are missing; download or copy the file again",
                             case=case, path=str(path), stage="read") from None
    except OSError as err:
        raise ImageReadError(f"cannot read {what}: {str(err).split(': ', 1)[-1]}", case=case,
                             path=str(path), stage="read") from None
    nd = min(len(size), 3)
    shape = tuple(size[:nd])[::-1]
    if data.size != int(np.prod(size)):
        return _sitk_read(path, case=case, what=what)
    if lay.slope not in (0.0, 1.0) or lay.inter != 0.0:
        # scaled voxels: ITK's own scaling and output type, NaN/inf put back where the file has them
        arr = sitk.GetArrayFromImage(_sitk_read(path, case=case, what=what)).reshape(shape)
        if data.dtype.kind == "f":
            bad = ~np.isfinite(data)
            if bad.any():
                arr.reshape(-1)[bad] = data[bad] * lay.slope + lay.inter
    else:
        arr = data.reshape(shape)
    image = sitk.GetImageFromArray(arr)
    full = len(size)
    image.SetOrigin(reader.GetOrigin()[:nd])
    image.SetSpacing(reader.GetSpacing()[:nd])
    direction = np.asarray(reader.GetDirection()).reshape(full, full)[:nd, :nd]
    image.SetDirection(tuple(direction.ravel()))
    return image


def _check_dimension(size, *, case, path, what) -> None:
    if any(s > 1 for s in size[3:]):
        raise ImageReadError(
            f"{what} is {len(size)}-D (size {' x '.join(map(str, size))}); a 3-D {what} is needed "
            "(split a time series or a multi-channel file into 3-D volumes first)",
            case=case, path=str(path), stage="read")


def read_file(path: str | Path, *, case: str | None = None, what: str = "image") -> sitk.Image:
    """The one reader of image and mask files: NIfTI through :mod:`radsig.io.nifti`'s checks,
    other formats through SimpleITK; dimension and non-finite voxels checked here.

    NaN/inf voxels of an image are kept and reported (:class:`InputWarning`); in a mask they
    are an error."""
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{what} file not found; check the path", case=case, path=str(path),
                             stage="read")
    if path.is_dir():
        raise ImageReadError(f"{what} path is a folder, not a file", case=case, path=str(path),
                             stage="read")
    from radsig.io import nifti

    lay = nifti.nifti_layout(path)
    if lay is not None:
        image = _read_nifti(path, lay, case=case, what=what)
    else:
        image = _sitk_read(path, case=case, what=what)
        _check_dimension(image.GetSize(), case=case, path=path, what=what)
        if image.GetDimension() > 3:
            image = image[:, :, :, 0] if image.GetDimension() == 4 else image
    if image.GetNumberOfComponentsPerPixel() == 1 and image.GetPixelID() in (
            sitk.sitkFloat32, sitk.sitkFloat64):
        from radsig.io.checks import check_nonfinite

        check_nonfinite(sitk.GetArrayViewFromImage(image), what=what, path=path, case=case)
    return image


def _read_file(path: Path, *, case: str | None, what: str) -> sitk.Image:
    return read_file(path, case=case, what=what)


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

    Every mask of every command passes here (the one place of the mask checks):

    - dimension (3-D, or 2-D taken as one slice), one component per voxel, geometry;
    - NaN/inf values: error;
    - integer labels (also stored as float, to within 0.001): without *label* every non-zero voxel is the ROI;
      several labels give an :class:`InputWarning` listing them (the labels are merged);
    - non-integer values (a probability or partial-volume map): the ROI is the voxels above the
      midpoint of the lowest and highest value (0.5 for a 0–1 map), stated in a warning; with
      *label* this is an error;
    - a mask without background (every voxel in the ROI): warning.

    The value checks are :func:`radsig.io.checks.mask_roi` (the NIfTI fast paths run them too).
    """
    if mask.GetNumberOfComponentsPerPixel() != 1:
        raise ImageReadError(f"mask has {mask.GetNumberOfComponentsPerPixel()} components per "
                             "voxel; a label map (one value per voxel) is needed", case=case,
                             path=path, stage="read")
    _check_dimension(mask.GetSize(), case=case, path=path, what="mask")
    if mask.GetDimension() == 2:
        mask = sitk.JoinSeries(mask)
    check_geometry(reference, mask, case=case, path=path)
    from radsig.io.checks import mask_roi

    # no copy; integer label maps are used as they are
    binary = mask_roi(sitk.GetArrayViewFromImage(mask), label=label, case=case, path=path)
    out = sitk.GetImageFromArray(binary.astype(np.uint8))
    out.CopyInformation(reference)
    return out
