"""DICOM case → NIfTI image + mask + JSON sidecar (behind ``radsig dicom convert``)."""

from __future__ import annotations

import json
from pathlib import Path

import SimpleITK as sitk

from radsig._typing import PathLike
from radsig.exceptions import DicomError


def _atomic_write_image(image: sitk.Image, path: Path) -> None:
    from radsig._atomic import atomic_write  # the one atomic writer (temporary file, fsync, rename)

    # the temporary name ends in .nii.gz: SimpleITK picks the format (and gzip) by the name
    atomic_write(path, lambda tmp: sitk.WriteImage(image, str(tmp), useCompression=True),
                 suffix=".nii.gz")


def find_structure(folder: PathLike, series_uid: str | None = None, frame_of_reference: str = ""):
    """The RTSTRUCT/SEG under *folder* that belongs to the series (by frame of reference)."""
    from radsig.io.dicom import scan_dicom

    index = scan_dicom(folder)
    structures = index.structures
    same = [s for s in structures if not frame_of_reference or s.frame_of_reference == frame_of_reference]
    candidates = same or structures
    if not candidates:
        if index.unreadable:  # e.g. a truncated RTSTRUCT: say so, not "none found"
            name, reason = index.unreadable[0]
            raise DicomError(f"no readable RTSTRUCT or SEG file; {len(index.unreadable)} file(s) "
                             f"cannot be read (e.g. {name}: {reason}) - a truncated or corrupt "
                             "RTSTRUCT? Copy it again or pass --mask FILE", path=str(folder))
        raise DicomError("no RTSTRUCT or SEG file found; pass --mask FILE", path=str(folder))
    if len(candidates) > 1:
        raise DicomError(f"{len(candidates)} RTSTRUCT/SEG files found; pass --mask FILE: "
                         + ", ".join(str(s.path) for s in candidates), path=str(folder))
    return candidates[0].path


def convert_case(folder: PathLike, out: PathLike, *, roi: str | None = None, mask: PathLike | None = None,
                 series_uid: str | None = None, suv: str = "bw", suv_overrides: dict | None = None,
                 allow_gaps: bool = False, skip_unreadable: bool = False) -> list[Path]:
    """Write ``image.nii.gz``, ``image.json`` and (with *roi*) ``mask.nii.gz`` into *out*.

    *out* is checked before anything is read; a ``mask.nii.gz`` left in *out* by an earlier
    conversion is removed when this one writes no mask (it belongs to another series or ROI)."""
    from radsig.io.dicom import (
        FOR_KEY,
        read_dicom_mask,
        read_series,
        scan_dicom,
        select_series,
        series_metadata,
    )
    from radsig.io.output import check_output_folder
    from radsig.io.suv import check_overrides

    out = check_output_folder(out, create=False)
    check_overrides(suv_overrides)
    if not Path(folder).exists():
        raise DicomError("folder not found", path=str(folder))
    series = select_series(scan_dicom(folder), series_uid, folder=folder)
    image = read_series(folder, series_uid=series.series_uid, suv=suv, suv_overrides=suv_overrides,
                        allow_gaps=allow_gaps, skip_unreadable=skip_unreadable)
    written = []
    mask_img = None
    if roi is not None:
        mask_path = Path(mask) if mask else find_structure(folder, series.series_uid, series.frame_of_reference)
        mask_img = read_dicom_mask(mask_path, image, roi, frame_of_reference=image.GetMetaData(FOR_KEY))
    out.mkdir(exist_ok=True)
    _atomic_write_image(image, out / "image.nii.gz")
    written.append(out / "image.nii.gz")
    if mask_img is not None:
        _atomic_write_image(mask_img, out / "mask.nii.gz")
        written.append(out / "mask.nii.gz")
    elif (out / "mask.nii.gz").exists():
        import warnings

        from radsig.exceptions import InputWarning

        (out / "mask.nii.gz").unlink()  # an earlier conversion's mask: not this image's
        warnings.warn(f"{out / 'mask.nii.gz'}: removed the mask of an earlier conversion (no "
                      "--roi this time)", InputWarning, stacklevel=2)
    meta = series_metadata(series, suv=suv, suv_overrides=suv_overrides)
    meta["roi"] = roi
    from radsig.cohort._atomic import write_text

    write_text(out / "image.json", json.dumps(meta, indent=2, default=str))
    written.append(out / "image.json")
    return written
