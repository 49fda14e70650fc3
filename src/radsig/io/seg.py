"""DICOM SEG masks via highdicom, resampled onto an image's voxel grid through world coordinates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

from radsig._typing import PathLike
from radsig.exceptions import DicomError, EmptyMaskError, GeometryMismatchError


def _read(path: PathLike):
    import highdicom as hd

    try:
        return hd.seg.segread(str(path))
    except Exception as err:  # noqa: BLE001 - highdicom raises many types for bad files
        raise DicomError(f"cannot read DICOM SEG ({type(err).__name__}: {err})", path=str(path)) from err


def list_segments(path: PathLike) -> list[str]:
    """Segment labels of a DICOM SEG file."""
    seg = _read(path)
    return [str(s.SegmentLabel) for s in seg.SegmentSequence]


def rasterise_segment(path: PathLike, reference: sitk.Image, roi: str, *, case: str | None = None,
                      frame_of_reference: str | None = None) -> sitk.Image:
    """Segment *roi* (name or regex) of a DICOM SEG on the grid of *reference* (UInt8, 0/1)."""
    from radsig.io.rtstruct import match_roi

    path_s = str(Path(path))
    seg = _read(path)
    labels = {str(s.SegmentLabel): int(s.SegmentNumber) for s in seg.SegmentSequence}
    name = match_roi(list(labels), roi, path=path_s)
    seg_for = str(seg.get("FrameOfReferenceUID", ""))
    if frame_of_reference and seg_for and seg_for != frame_of_reference:
        raise GeometryMismatchError(
            f"SEG frame of reference {seg_for} does not match the image series' {frame_of_reference}",
            case=case, path=path_s)
    volume = seg.get_volume(segment_numbers=[labels[name]], combine_segments=True, dtype=np.uint8)
    moving = volume.to_simpleitk() if hasattr(volume, "to_simpleitk") else None
    if moving is None:  # pragma: no cover - older highdicom
        raise DicomError("this highdicom version cannot export volumes; upgrade highdicom", path=path_s)
    moving = sitk.Cast(moving, sitk.sitkUInt8)
    out = sitk.Resample(moving, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    if not sitk.GetArrayViewFromImage(out).any():
        raise EmptyMaskError(f"segment {name!r} has no voxel inside the image grid", case=case, path=path_s)
    return out
