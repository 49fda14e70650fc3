"""DICOM image series: discover series in a folder and read one into a SimpleITK image.

Slices are sorted by their position along the slice normal (not by file name or instance
number), each slice's rescale slope/intercept is applied (PET often varies it per slice),
and uneven slice spacing and gantry tilt are detected and reported.  pydicom does the
parsing; the geometry is assembled here because SimpleITK's series reader silently
resamples neither tilt nor uneven spacing and gives no per-slice rescale for PET.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk

from radsig._typing import PathLike
from radsig.exceptions import DicomError, InputWarning, RadsigWarning

IMAGE_MODALITIES = {"CT", "PT", "MR", "NM", "OT", "US", "CR", "DX", "MG"}
ROI_MODALITIES = {"RTSTRUCT", "SEG"}
FOR_KEY = "0020|0052"  # FrameOfReferenceUID, as SimpleITK metadata key


@dataclass
class SeriesInfo:
    """One image series found in a folder."""

    patient_id: str
    study_uid: str
    series_uid: str
    modality: str
    description: str
    frame_of_reference: str
    rows: int
    columns: int
    n_slices: int
    pixel_spacing: tuple[float, float]
    slice_spacing: float | None = None
    uneven_spacing: bool = False
    gantry_tilt_deg: float = 0.0
    files: list[Path] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict:
        """Plain dict without the file list (for tables and JSON)."""
        d = asdict(self)
        d.pop("files")
        return d


@dataclass
class StructureInfo:
    """One RTSTRUCT or SEG file and the ROIs it holds."""

    path: Path
    modality: str
    patient_id: str
    frame_of_reference: str
    referenced_series_uid: str
    rois: list[str]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


@dataclass
class DicomIndex:
    """What :func:`scan_dicom` found: series, ROI files and unreadable files."""

    series: list[SeriesInfo]
    structures: list[StructureInfo]
    unreadable: list[tuple[str, str]]


def _read_header(path: Path):
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:  # noqa: BLE001 - any parse failure means "not usable DICOM"
        try:
            return pydicom.dcmread(path, stop_before_pixels=True, force=True)
        except Exception as err:  # noqa: BLE001
            raise DicomError(f"truncated or corrupt DICOM file, cannot parse it "
                             f"({type(err).__name__}: {err})", path=str(path)) from err


def _candidate_files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def scan_dicom(folder: PathLike) -> DicomIndex:
    """Index every DICOM file below *folder* by series.

    Raises
    ------
    DicomError
        The folder does not exist or holds no DICOM file at all.
    """
    folder = Path(folder)
    if not folder.exists():
        raise DicomError("folder not found", path=str(folder))
    by_series: dict[str, list] = defaultdict(list)
    structures: list[StructureInfo] = []
    unreadable: list[tuple[str, str]] = []
    for path in _candidate_files(folder):
        try:
            ds = _read_header(path)
        except DicomError as err:
            unreadable.append((str(path), err.message))
            continue
        modality = str(ds.get("Modality", "")).upper()
        if "SOPClassUID" not in ds and not modality:
            unreadable.append((str(path), "not a DICOM object (no Modality, no SOP class)"))
            continue
        if modality in ROI_MODALITIES:
            structures.append(_structure_info(path, ds, modality))
        elif "ImagePositionPatient" in ds and "SeriesInstanceUID" in ds:
            by_series[str(ds.SeriesInstanceUID)].append((path, ds))
        else:
            unreadable.append((str(path), f"DICOM {modality or 'object'} without image geometry"))
    if not by_series and not structures:
        detail = f"; {len(unreadable)} unreadable file(s), e.g. {unreadable[0][0]}: {unreadable[0][1]}" if unreadable else ""
        raise DicomError(f"no DICOM image series or RTSTRUCT/SEG found{detail}", path=str(folder))
    series = [_series_info(uid, items) for uid, items in sorted(by_series.items())]
    return DicomIndex(series=series, structures=structures, unreadable=unreadable)


def _structure_info(path: Path, ds, modality: str) -> StructureInfo:
    if modality == "RTSTRUCT":
        rois = [str(r.ROIName) for r in ds.get("StructureSetROISequence", [])]
        refs = ds.get("ReferencedFrameOfReferenceSequence", [])
        for_uid = str(refs[0].FrameOfReferenceUID) if refs else str(ds.get("FrameOfReferenceUID", ""))
        ref_series = ""
        try:
            ref_series = str(refs[0].RTReferencedStudySequence[0].RTReferencedSeriesSequence[0].SeriesInstanceUID)
        except (AttributeError, IndexError, KeyError):
            pass
    else:
        rois = [str(s.SegmentLabel) for s in ds.get("SegmentSequence", [])]
        for_uid = str(ds.get("FrameOfReferenceUID", ""))
        ref_series = ""
        try:
            ref_series = str(ds.ReferencedSeriesSequence[0].SeriesInstanceUID)
        except (AttributeError, IndexError, KeyError):
            pass
    return StructureInfo(path=path, modality=modality, patient_id=str(ds.get("PatientID", "")),
                         frame_of_reference=for_uid, referenced_series_uid=ref_series, rois=rois)


def _slice_normal(ds) -> np.ndarray:
    iop = np.asarray(ds.ImageOrientationPatient, dtype=float)
    return np.cross(iop[:3], iop[3:])


def _geometry(items: list) -> tuple[list, float | None, bool, float]:
    """Sort slices along the normal; return (sorted items, spacing, uneven, tilt in degrees)."""
    normal = _slice_normal(items[0][1])
    pos = np.array([np.asarray(ds.ImagePositionPatient, dtype=float) for _, ds in items])
    order = np.argsort(pos @ normal, kind="stable")
    items = [items[i] for i in order]
    pos = pos[order]
    if len(items) < 2:
        return items, None, False, 0.0
    steps = np.diff(pos, axis=0)
    along = steps @ normal
    spacing = float(np.median(along))
    uneven = bool(np.ptp(along) > max(1e-3, 0.01 * abs(spacing)))
    if uneven:  # a median over few distinct steps may itself be a duplicate's 0
        positive = along[np.abs(along) > 1e-3]
        spacing = float(np.median(positive)) if positive.size else spacing
    mean_step = steps.mean(axis=0)
    cosang = abs(mean_step @ normal) / max(np.linalg.norm(mean_step), 1e-12)
    tilt = float(np.degrees(np.arccos(np.clip(cosang, -1.0, 1.0))))
    return items, spacing, uneven, tilt


def _series_info(uid: str, items: list) -> SeriesInfo:
    items, spacing, uneven, tilt = _geometry(items)
    ds = items[0][1]
    ps = [float(v) for v in ds.get("PixelSpacing", [1.0, 1.0])]
    return SeriesInfo(
        patient_id=str(ds.get("PatientID", "")), study_uid=str(ds.get("StudyInstanceUID", "")),
        series_uid=uid, modality=str(ds.get("Modality", "")),
        description=str(ds.get("SeriesDescription", "")),
        frame_of_reference=str(ds.get("FrameOfReferenceUID", "")),
        rows=int(ds.get("Rows", 0)), columns=int(ds.get("Columns", 0)), n_slices=len(items),
        pixel_spacing=(ps[0], ps[1]), slice_spacing=spacing, uneven_spacing=uneven,
        gantry_tilt_deg=round(tilt, 3), files=[p for p, _ in items],
    )


def select_series(index: DicomIndex, series_uid: str | None = None, *, folder: PathLike = "") -> SeriesInfo:
    """Pick the one image series to read, by UID when the folder holds several."""
    if not index.series:
        raise DicomError("no DICOM image series found (only RTSTRUCT/SEG files)", path=str(folder))
    if series_uid is not None:
        for s in index.series:
            if s.series_uid == series_uid:
                return s
        known = ", ".join(f"{s.series_uid} ({s.modality})" for s in index.series)
        raise DicomError(f"series UID {series_uid!r} not found; series present: {known}", path=str(folder))
    if len(index.series) > 1:
        known = "; ".join(f"{s.series_uid} ({s.modality}, {s.n_slices} slices)" for s in index.series)
        raise DicomError(
            f"{len(index.series)} image series in this folder; choose one by UID "
            f"(--series UID): {known}", path=str(folder))
    return index.series[0]


def _pixel_slice(path: Path) -> tuple[np.ndarray, object]:
    try:
        ds = pydicom.dcmread(path)
        arr = ds.pixel_array.astype(np.float64)
    except Exception as err:  # noqa: BLE001 - truncated pixel data, unknown transfer syntax…
        raise DicomError(f"cannot read pixel data ({type(err).__name__}: {err})", path=str(path)) from err
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    return arr * slope + intercept, ds


#: A step between slices longer than this many times the median step is a gap (missing slice).
GAP_FACTOR = 1.5


def check_slices(series: SeriesInfo, *, allow_gaps: bool = False, where: str = "") -> None:
    """Refuse a series with two slices at one position; refuse one with a gap (a missing slice)
    unless *allow_gaps*, then warn; warn about small uneven spacing (restacked at the median)."""
    if len(series.files) < 2:
        return
    normal = None
    pos = []
    for path in series.files:
        ds = _read_header(path)
        if normal is None:
            normal = _slice_normal(ds)
        pos.append(float(np.asarray(ds.ImagePositionPatient, dtype=float) @ normal))
    along = np.diff(np.asarray(pos))
    dup = np.flatnonzero(np.abs(along) <= 1e-3)
    if dup.size:
        i = int(dup[0])
        raise DicomError(
            f"{dup.size + 1 if dup.size == 1 else dup.size} slices share a position in series "
            f"{series.series_uid} (e.g. {series.files[i].name} and {series.files[i + 1].name} at "
            f"{pos[i]:.2f} mm along the slice normal); remove the duplicates", path=where or None,
            stage="read")
    step = float(np.median(np.abs(along)))
    gaps = np.flatnonzero(np.abs(along) > GAP_FACTOR * step)
    if gaps.size:
        i = int(gaps[0])
        text = (f"series {series.series_uid} has {gaps.size} gap(s) between slices (e.g. "
                f"{abs(along[i]):.2f} mm between {series.files[i].name} and "
                f"{series.files[i + 1].name}, median spacing {step:.2f} mm): a slice is missing")
        if not allow_gaps:
            raise DicomError(text + "; add the missing slice, or pass --allow-gaps to stack the "
                             "slices at the median spacing anyway (radsig dicom convert)",
                             path=where or None,
                             stage="read")
        warnings.warn(f"{where}: {text}; slices restacked at the median spacing (--allow-gaps): "
                      "positions beyond the gap are shifted", InputWarning, stacklevel=3)
    elif series.uneven_spacing:
        warnings.warn(f"{where}: uneven slice spacing in series {series.series_uid} (steps "
                      f"{np.abs(along).min():.3f} to {np.abs(along).max():.3f} mm); restacked at the "
                      f"median spacing {step:.3f} mm", InputWarning, stacklevel=3)


def _suspicious_unreadable(index: DicomIndex) -> list[tuple[str, str]]:
    """Unreadable files that look like DICOM slices (a .dcm / .ima / no suffix, the DICM
    preamble, or zero bytes), not a README or a NIfTI file lying beside the series."""
    out = []
    for name, reason in index.unreadable:
        path = Path(name)
        suffix = path.suffix.lower()
        try:
            empty = path.stat().st_size == 0
        except OSError:
            empty = False
        if empty or suffix in ("", ".dcm", ".ima", ".dicom") or is_dicom_file(path):
            out.append((name, "empty file (0 bytes)" if empty else reason))
    return out


def read_series_array(series: SeriesInfo) -> tuple[np.ndarray, list]:
    """Pixel values of every slice (rescaled), stacked as (z, y, x), with the datasets."""
    slices, datasets = [], []
    for path in series.files:
        arr, ds = _pixel_slice(path)
        if arr.shape != (series.rows, series.columns):
            raise DicomError(f"slice of shape {arr.shape} in a series of {series.rows}x{series.columns}",
                             path=str(path))
        slices.append(arr)
        datasets.append(ds)
    return np.stack(slices), datasets


def series_to_image(series: SeriesInfo, volume: np.ndarray, first) -> sitk.Image:
    """Wrap a (z, y, x) array in a SimpleITK image with the series' world geometry."""
    iop = np.asarray(first.ImageOrientationPatient, dtype=float)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    image = sitk.GetImageFromArray(volume.astype(np.float32))
    dz = abs(series.slice_spacing) if series.slice_spacing else float(first.get("SliceThickness", 1.0) or 1.0)
    image.SetSpacing((series.pixel_spacing[1], series.pixel_spacing[0], dz))
    image.SetOrigin(tuple(float(v) for v in first.ImagePositionPatient))
    image.SetDirection(tuple(np.column_stack([row, col, normal]).ravel()))
    # DICOM identity travels with the image so masks can check the frame of reference.
    image.SetMetaData(FOR_KEY, series.frame_of_reference)
    image.SetMetaData("0008|0060", series.modality)
    image.SetMetaData("0020|000e", series.series_uid)
    return image


def read_series(folder: PathLike, *, series_uid: str | None = None, suv: str = "bw",
                suv_overrides: dict | None = None, case: str | None = None,
                allow_gaps: bool = False, skip_unreadable: bool = False) -> sitk.Image:
    """Read the DICOM image series in *folder* (PET converted to SUV unless ``suv="none"``).

    Parameters
    ----------
    folder : path
        Folder (searched recursively) holding the series' files.
    series_uid : str, optional
        Which series to read when the folder holds several.
    suv : {"bw", "lbm", "bsa", "none"}
        SUV normalisation for PET series in Bq/mL; series already in SUV (units GML) are kept.
    suv_overrides : dict, optional
        Values replacing missing or wrong tags: ``weight`` (kg), ``height`` (m), ``sex``,
        ``dose`` (Bq), ``injection_time`` (HHMMSS), ``half_life`` (s).
    allow_gaps : bool
        Stack a series with a missing slice at the median spacing (warning) instead of refusing it.
    skip_unreadable : bool
        Go on when files beside the series cannot be read (warning) instead of refusing.
    """
    try:
        index = scan_dicom(folder)
        series = select_series(index, series_uid, folder=folder)
        bad = _suspicious_unreadable(index)
        if bad:
            text = (f"{len(bad)} file(s) cannot be read as DICOM (e.g. {bad[0][0]}: {bad[0][1]}); "
                    "a slice of the series (or its RTSTRUCT/SEG) may be missing")
            if not skip_unreadable:
                raise DicomError(text + "; replace or remove them, or pass --skip-unreadable "
                                 "(radsig dicom convert)",
                                 path=str(folder), stage="read")
            warnings.warn(f"{folder}: {text}; skipped (--skip-unreadable)", InputWarning,
                          stacklevel=2)
        check_slices(series, allow_gaps=allow_gaps, where=str(folder))
        volume, datasets = read_series_array(series)
        if series.gantry_tilt_deg > 0.5:
            warnings.warn(f"{folder}: gantry tilt of {series.gantry_tilt_deg:.1f} degrees in series "
                          f"{series.series_uid}; slices are placed along the slice normal",
                          RadsigWarning, stacklevel=2)
        if series.modality == "PT" and suv != "none":
            from radsig.io.suv import suv_scale

            volume = volume * suv_scale(datasets[0], mode=suv, overrides=suv_overrides, path=str(folder))
        return series_to_image(series, volume, datasets[0])
    except DicomError as err:
        if case and not err.case:
            raise DicomError(err.message, case=case, path=err.path) from err
        raise


def is_dicom_file(path: PathLike) -> bool:
    """True when *path* is a file starting with a DICOM preamble (``DICM`` at byte 128)."""
    path = Path(path)
    if not path.is_file():
        return False
    with open(path, "rb") as fh:
        head = fh.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def read_dicom_mask(path: PathLike, reference: sitk.Image, roi: str | None, *, case: str | None = None,
                    frame_of_reference: str | None = None) -> sitk.Image:
    """Rasterise ROI *roi* of an RTSTRUCT or SEG file into the grid of *reference*."""
    from radsig.exceptions import LabelNotFoundError

    if frame_of_reference is None and reference.HasMetaDataKey(FOR_KEY):
        frame_of_reference = reference.GetMetaData(FOR_KEY)
    ds = _read_header(Path(path))
    modality = str(ds.get("Modality", "")).upper()
    if modality not in ROI_MODALITIES:
        raise DicomError(f"mask file is DICOM {modality or 'without modality'}, not RTSTRUCT or SEG",
                         case=case, path=str(path))
    if roi is None:
        names = [s.ROIName for s in ds.get("StructureSetROISequence", [])] or \
                [s.SegmentLabel for s in ds.get("SegmentSequence", [])]
        raise LabelNotFoundError(f"a {modality} mask needs --roi NAME; ROIs in this file: "
                                 f"{', '.join(map(str, names))}", case=case, path=str(path))
    if modality == "RTSTRUCT":
        from radsig.io.rtstruct import rasterise_roi

        return rasterise_roi(path, reference, roi, case=case, frame_of_reference=frame_of_reference)
    from radsig.io.seg import rasterise_segment

    return rasterise_segment(path, reference, roi, case=case, frame_of_reference=frame_of_reference)



def series_metadata(series: SeriesInfo, suv: str = "bw", suv_overrides: dict | None = None) -> dict:
    """The DICOM facts that matter for radiomics, for a JSON sidecar."""
    ds = _read_header(series.files[0])

    def text(name):
        v = ds.get(name)
        return None if v is None or str(v).strip() == "" else str(v)

    meta = {
        **series.to_dict(),
        "manufacturer": text("Manufacturer"), "model": text("ManufacturerModelName"),
        "convolution_kernel": text("ConvolutionKernel"), "kvp": text("KVP"),
        "slice_thickness": text("SliceThickness"), "magnetic_field_strength": text("MagneticFieldStrength"),
        "units": None,
    }
    if series.modality == "PT":
        from radsig.io.suv import suv_parameters

        p = suv_parameters(ds, suv_overrides)
        meta["suv"] = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in p.items()}
        meta["suv"]["mode"] = suv
        meta["units"] = "SUV" if suv != "none" or p["units"] == "GML" else p["units"]
    elif series.modality == "CT":
        meta["units"] = "HU"
    return meta


def read_roi_mask(path: PathLike, reference: sitk.Image, *, roi: str | None = None, label: int | None = None,
                  case: str | None = None) -> sitk.Image:
    """:func:`radsig.io.read_mask` for DICOM: an RTSTRUCT/SEG file, or a folder holding one."""
    path = Path(path)
    if label is not None:
        raise DicomError("RTSTRUCT/SEG masks are chosen by --roi NAME, not by --label", case=case, path=str(path))
    if path.is_dir():
        from radsig.io.convert import find_structure

        for_uid = reference.GetMetaData(FOR_KEY) if reference.HasMetaDataKey(FOR_KEY) else ""
        path = Path(find_structure(path, frame_of_reference=for_uid))
    return read_dicom_mask(path, reference, roi, case=case)
