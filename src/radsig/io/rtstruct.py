"""DICOM RTSTRUCT: list ROIs and rasterise one into an image's voxel grid.

Each closed planar contour is mapped into the image's continuous voxel index space through
the image's world geometry; contours of one plane are combined by XOR (so nested contours
make holes), and each image slice takes the contour plane nearest to it within half a slice
(so contours drawn between image slices still land).  Written here because neither pydicom
nor SimpleITK rasterises RTSTRUCT contours.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from skimage.draw import polygon as _polygon

from radsig._typing import PathLike
from radsig.exceptions import DicomError, EmptyMaskError, GeometryMismatchError, LabelNotFoundError


def read_rtstruct(path: PathLike):
    """Read an RTSTRUCT dataset, with a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise DicomError("RTSTRUCT file not found", path=str(path))
    try:
        ds = pydicom.dcmread(path, force=True)
    except Exception as err:  # noqa: BLE001 - any parse failure is a corrupt file here
        raise DicomError(f"cannot parse RTSTRUCT ({type(err).__name__}: {err})", path=str(path)) from err
    if str(ds.get("Modality", "")).upper() != "RTSTRUCT" or "StructureSetROISequence" not in ds:
        raise DicomError(f"not an RTSTRUCT (Modality {ds.get('Modality', 'missing')!r})", path=str(path))
    return ds


def list_rois(path: PathLike) -> list[str]:
    """Names of the ROIs of an RTSTRUCT file."""
    return [str(r.ROIName) for r in read_rtstruct(path).StructureSetROISequence]


def match_roi(names: list[str], roi: str, *, path: str = "") -> str:
    """Find the one ROI named *roi* (exact, then case-insensitive, then as a full regex)."""
    if roi in names:
        return roi
    lower = [n for n in names if n.lower() == roi.lower()]
    if len(lower) == 1:
        return lower[0]
    try:
        pattern = re.compile(roi, re.IGNORECASE)
    except re.error:
        pattern = None
    hits = [n for n in names if pattern is not None and pattern.fullmatch(n)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise LabelNotFoundError(f"ROI pattern {roi!r} matches several ROIs {hits}; make it specific",
                                 path=path)
    raise LabelNotFoundError(f"ROI {roi!r} not found; ROIs in this file: {', '.join(names) or 'none'}",
                             path=path)


def _frame_of_reference(ds) -> str:
    refs = ds.get("ReferencedFrameOfReferenceSequence", [])
    if refs:
        return str(refs[0].FrameOfReferenceUID)
    return str(ds.get("FrameOfReferenceUID", ""))


def _contour_planes(ds, roi_number: int) -> list[np.ndarray]:
    for item in ds.get("ROIContourSequence", []):
        if int(item.ReferencedROINumber) != roi_number:
            continue
        contours = []
        for c in item.get("ContourSequence", []):
            if str(c.get("ContourGeometricType", "CLOSED_PLANAR")).upper() not in {"CLOSED_PLANAR", ""}:
                continue
            pts = np.asarray(c.ContourData, dtype=float).reshape(-1, 3)
            if len(pts) >= 3:
                contours.append(pts)
        return contours
    return []


def _to_index(points: np.ndarray, reference: sitk.Image) -> np.ndarray:
    """World points (N, 3) → continuous (x, y, z) indices of *reference*."""
    origin = np.asarray(reference.GetOrigin())
    spacing = np.asarray(reference.GetSpacing())
    direction = np.asarray(reference.GetDirection()).reshape(3, 3)
    return (np.linalg.solve(direction, (points - origin).T).T) / spacing


def _unclipped_voxels(planes: dict, nz: int) -> int:
    """Voxels the contours would cover on an unbounded grid: each plane rasterised in its own
    bounding box (in-plane parts beyond the image counted), planes of every slice position."""
    keys = np.array(sorted(planes))
    total = 0
    for k in range(int(np.floor(keys.min() - 0.5)), int(np.ceil(keys.max() + 0.5)) + 1):
        d = np.abs(keys - k)
        j = int(np.argmin(d))
        if d[j] > 0.5 + 1e-3:
            continue
        polys = planes[keys[j]]
        r0 = int(np.floor(min(p[:, 1].min() for p in polys))) - 1
        c0 = int(np.floor(min(p[:, 0].min() for p in polys))) - 1
        h = int(np.ceil(max(p[:, 1].max() for p in polys))) - r0 + 2
        w = int(np.ceil(max(p[:, 0].max() for p in polys))) - c0 + 2
        plane = np.zeros((h, w), dtype=bool)
        for idx in polys:
            rr, cc = _polygon(idx[:, 1] - r0, idx[:, 0] - c0, shape=(h, w))
            filled = np.zeros((h, w), dtype=bool)
            filled[rr, cc] = True
            plane ^= filled
        total += int(plane.sum())
    return total


def rasterise_roi(path: PathLike, reference: sitk.Image, roi: str, *, case: str | None = None,
                  frame_of_reference: str | None = None) -> sitk.Image:
    """Rasterise ROI *roi* of an RTSTRUCT into the grid of *reference* (UInt8, 0/1).

    Raises
    ------
    LabelNotFoundError
        No ROI of that name (the message lists the ROIs present).
    GeometryMismatchError
        The RTSTRUCT's frame of reference differs from *frame_of_reference*, or no contour
        falls inside the image.
    """
    path_s = str(path)
    ds = read_rtstruct(path)
    names = {str(r.ROIName): int(r.ROINumber) for r in ds.StructureSetROISequence}
    name = match_roi(list(names), roi, path=path_s)
    rs_for = _frame_of_reference(ds)
    if frame_of_reference and rs_for and rs_for != frame_of_reference:
        raise GeometryMismatchError(
            f"RTSTRUCT frame of reference {rs_for} does not match the image series' {frame_of_reference}",
            case=case, path=path_s)
    contours = _contour_planes(ds, names[name])
    if not contours:
        raise EmptyMaskError(f"ROI {name!r} has no closed planar contour", case=case, path=path_s)
    nx, ny, nz = reference.GetSize()
    planes: dict[float, list[np.ndarray]] = defaultdict(list)
    for pts in contours:
        idx = _to_index(pts, reference)
        planes[round(float(np.mean(idx[:, 2])), 3)].append(idx)
    keys = np.array(sorted(planes))
    mask = np.zeros((nz, ny, nx), dtype=np.uint8)
    for k in range(nz):
        d = np.abs(keys - k)
        j = int(np.argmin(d))
        if d[j] > 0.5 + 1e-3:
            continue
        plane = np.zeros((ny, nx), dtype=bool)
        for idx in planes[keys[j]]:
            rr, cc = _polygon(idx[:, 1], idx[:, 0], shape=(ny, nx))
            filled = np.zeros((ny, nx), dtype=bool)
            filled[rr, cc] = True
            plane ^= filled
        mask[k] |= plane
    if not mask.any():
        raise GeometryMismatchError(f"ROI {name!r} has no contour inside the image grid "
                                    "(wrong series or frame of reference?)", case=case, path=path_s)
    full = _unclipped_voxels(planes, nz)
    kept = int(mask.sum())
    if full > kept:
        import warnings

        from radsig.exceptions import InputWarning

        warnings.warn(f"{path_s}: ROI {name!r} runs partly outside the image: {full - kept} of its "
                      f"{full} voxels lie outside the grid and are dropped ({kept} kept)",
                      InputWarning, stacklevel=2)
    out = sitk.GetImageFromArray(mask)
    out.CopyInformation(reference)
    return out
