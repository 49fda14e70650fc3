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
    outside, total = _voxels_outside(moving, reference)
    if outside:
        import warnings

        from radsig.exceptions import InputWarning

        warnings.warn(f"{path_s}: segment {name!r} runs partly outside the image: {outside} of its "
                      f"{total} voxels lie outside the grid and are dropped", InputWarning,
                      stacklevel=2)
    return out


def _voxels_outside(moving: sitk.Image, reference: sitk.Image) -> tuple[int, int]:
    """(segment voxels whose centre lies outside *reference*'s grid, all segment voxels)."""
    zyx = np.argwhere(sitk.GetArrayViewFromImage(moving) > 0)
    if not zyx.size:
        return 0, 0
    xyz = zyx[:, ::-1].astype(float)
    m_dir = np.asarray(moving.GetDirection()).reshape(3, 3) * np.asarray(moving.GetSpacing())
    points = np.asarray(moving.GetOrigin()) + xyz @ m_dir.T
    r_dir = np.asarray(reference.GetDirection()).reshape(3, 3) * np.asarray(reference.GetSpacing())
    idx = np.linalg.solve(r_dir, (points - np.asarray(reference.GetOrigin())).T).T
    size = np.asarray(reference.GetSize())
    out = np.any((idx < -0.5 - 1e-6) | (idx > size - 0.5 + 1e-6), axis=1)
    return int(out.sum()), int(len(xyz))
