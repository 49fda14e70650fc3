"""DICOM series, RTSTRUCT/SEG rasterisation, SUV and PET/CT mask transfer on real data (STS, TCIA)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from radsig.exceptions import (
    DicomError,
    GeometryMismatchError,
    LabelNotFoundError,
    MissingDicomTagError,
)
from radsig.features.pet import pet_indices
from radsig.io.dicom import read_dicom_mask, read_series, scan_dicom
from radsig.io.multimodal import transfer_mask
from radsig.io.rtstruct import list_rois

MODALITIES = ["CT", "PET", "MR_T1"]


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


@pytest.mark.parametrize("modality", MODALITIES)
def test_series_equals_nifti_copy(sts, modality):
    base = sts / "STS_002" / modality
    dcm = read_series(base / "dicom" / "image")
    nii = sitk.ReadImage(str(base / "nifti" / "image" / "image.nii.gz"))
    assert dcm.GetSize() == nii.GetSize()
    np.testing.assert_allclose(dcm.GetSpacing(), nii.GetSpacing(), rtol=1e-4)
    np.testing.assert_allclose(dcm.GetOrigin(), nii.GetOrigin(), atol=1e-3)
    np.testing.assert_allclose(dcm.GetDirection(), nii.GetDirection(), atol=1e-6)
    a, b = sitk.GetArrayFromImage(dcm), sitk.GetArrayFromImage(nii)
    assert np.abs(a - b).max() <= 1e-4 * np.abs(b).max()


@pytest.mark.parametrize("modality", MODALITIES)
def test_rtstruct_matches_nifti_mask(sts, modality):
    base = sts / "STS_002" / modality
    image = read_series(base / "dicom" / "image")
    rs = base / "dicom" / "mask" / "RS.dcm"
    assert list_rois(rs) == [f"GTV_Mass_{modality}"]
    mask = read_dicom_mask(rs, image, "GTV_Mass.*")  # regex
    ref = sitk.GetArrayFromImage(sitk.ReadImage(str(base / "nifti" / "mask" / "mask.nii.gz"))) > 0
    assert _dice(sitk.GetArrayFromImage(mask) > 0, ref) >= 0.95


def test_raw_pet_suv_bw_within_independent_range(sts):
    """MIRP's test asserts SUVmax 7.5–8.5 and min 0.0–0.5 in GTV_Mass after SUVbw conversion."""
    base = sts / "STS_001_raw" / "FDG_PET"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # this series has genuinely uneven spacing (3.19–3.29 mm)
        image = read_series(base / "image")
    mask = read_dicom_mask(base / "mask" / "1-1.dcm", image, "GTV_Mass")
    values = sitk.GetArrayFromImage(image)[sitk.GetArrayFromImage(mask) > 0]
    assert 7.5 <= values.max() <= 8.5
    assert 0.0 <= values.min() <= 0.5
    idx = pet_indices(image, mask)
    assert idx["SUVmax"] == pytest.approx(values.max())
    assert idx["SUVmean"] == pytest.approx(values.mean())
    assert idx["SUVmean"] < idx["SUVpeak"] <= idx["SUVmax"]
    assert idx["TLG"] == pytest.approx(idx["SUVmean"] * idx["MTV"])


def test_uneven_spacing_reported(sts):
    index = scan_dicom(sts / "STS_001_raw" / "FDG_PET" / "image")
    assert index.series[0].uneven_spacing
    with pytest.warns(Warning, match="uneven slice spacing"):
        read_series(sts / "STS_001_raw" / "FDG_PET" / "image")


def test_ct_mask_carried_to_pet(sts):
    base = sts / "STS_002"
    ct = read_series(base / "CT" / "dicom" / "image")
    pet = read_series(base / "PET" / "dicom" / "image")
    ct_mask = read_dicom_mask(base / "CT" / "dicom" / "mask" / "RS.dcm", ct, "GTV_Mass_CT")
    on_pet = sitk.GetArrayFromImage(transfer_mask(ct_mask, pet)) > 0
    ref = sitk.GetArrayFromImage(sitk.ReadImage(str(base / "PET" / "nifti" / "mask" / "mask.nii.gz"))) > 0
    assert _dice(on_pet, ref) >= 0.95


def test_seg_roundtrip_via_highdicom(sts, tmp_path):
    import highdicom as hd
    from pydicom.sr.codedict import codes

    base = sts / "STS_002" / "CT"
    image = read_series(base / "dicom" / "image")
    index = scan_dicom(base / "dicom" / "image")
    sources = [pydicom.dcmread(p) for p in index.series[0].files]
    ref = sitk.GetArrayFromImage(sitk.ReadImage(str(base / "nifti" / "mask" / "mask.nii.gz"))) > 0
    desc = hd.seg.SegmentDescription(
        segment_number=1, segment_label="GTV", segmented_property_category=codes.SCT.Tissue,
        segmented_property_type=codes.SCT.Tissue, algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=ref.astype(np.uint8), segmentation_type="BINARY",
        segment_descriptions=[desc], series_instance_uid=hd.UID(), series_number=99,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="radsig", manufacturer_model_name="test",
        software_versions="0", device_serial_number="0")
    seg.save_as(tmp_path / "seg.dcm")
    mask = read_dicom_mask(tmp_path / "seg.dcm", image, "gtv")
    assert _dice(sitk.GetArrayFromImage(mask) > 0, ref) >= 0.99


# --- bad input ---------------------------------------------------------------------------------

def test_folder_without_dicom(tmp_path):
    (tmp_path / "notes.txt").write_text("not dicom")
    with pytest.raises(DicomError, match="no DICOM image series"):
        read_series(tmp_path)


def test_truncated_file_named(sts, tmp_path):
    src = sorted((sts / "STS_002" / "CT" / "dicom" / "image").iterdir())
    for p in src:
        shutil.copy(p, tmp_path / p.name)
    victim = tmp_path / src[5].name
    victim.write_bytes(victim.read_bytes()[:-4000])
    with pytest.raises(DicomError, match=src[5].name):
        read_series(tmp_path)


def test_roi_not_found_lists_rois(sts):
    base = sts / "STS_001_raw" / "FDG_PET"
    ref = sitk.Image(10, 10, 10, sitk.sitkFloat32)
    with pytest.raises(LabelNotFoundError, match="GTV_Mass, GTV_Edema"):
        read_dicom_mask(base / "mask" / "1-1.dcm", ref, "Liver")


def test_frame_of_reference_mismatch(sts, tmp_path):
    base = sts / "STS_002" / "CT" / "dicom"
    image = read_series(base / "image")
    rs = pydicom.dcmread(base / "mask" / "RS.dcm")
    rs.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID = "1.2.3.4.5"
    rs.save_as(tmp_path / "RS.dcm")
    with pytest.raises(GeometryMismatchError, match="frame of reference 1.2.3.4.5"):
        read_dicom_mask(tmp_path / "RS.dcm", image, "GTV_Mass_CT")


def _copy_pet_subset(sts, dest: Path, n: int = 4) -> list[Path]:
    src = sorted((sts / "STS_001_raw" / "FDG_PET" / "image").iterdir())[:n]
    return [Path(shutil.copy(p, dest / p.name)) for p in src]


def test_missing_weight_names_tag_and_override(sts, tmp_path):
    for p in _copy_pet_subset(sts, tmp_path):
        ds = pydicom.dcmread(p)
        del ds.PatientWeight
        ds.save_as(p)
    with pytest.raises(MissingDicomTagError, match=r"PatientWeight \(0010,1030\).*--suv-weight"):
        read_series(tmp_path)
    image = read_series(tmp_path, suv_overrides={"weight": 71.0})
    assert sitk.GetArrayFromImage(image).max() > 0


def test_mixed_series_need_uid(sts, tmp_path):
    for modality in ("CT", "MR_T1"):
        d = tmp_path / modality
        shutil.copytree(sts / "STS_002" / modality / "dicom" / "image", d)
    with pytest.raises(DicomError, match="choose one by UID"):
        read_series(tmp_path)
    uid = scan_dicom(tmp_path / "MR_T1").series[0].series_uid
    assert read_series(tmp_path, series_uid=uid).GetSize() == (115, 90, 35)


# --- CLI ---------------------------------------------------------------------------------------

def test_cli_ls_json(run_cli, sts):
    res = run_cli("dicom", "ls", sts / "STS_002", "--json")
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert sorted(s["modality"] for s in data["series"]) == ["CT", "MR", "PT"]
    assert {r for s in data["structures"] for r in s["rois"]} == {"GTV_Mass_CT", "GTV_Mass_PET", "GTV_Mass_MR_T1"}


def test_cli_convert_pet_to_suv(run_cli, sts, tmp_path):
    res = run_cli("dicom", "convert", sts / "STS_001_raw" / "FDG_PET", "--roi", "GTV_Mass", "--out", tmp_path / "case")
    assert res.returncode == 0, res.stderr
    meta = json.loads((tmp_path / "case" / "image.json").read_text())
    assert meta["modality"] == "PT" and meta["units"] == "SUV"
    assert meta["suv"]["weight"] == 71.0 and meta["suv"]["decay_correction"] == "START"
    img = sitk.ReadImage(str(tmp_path / "case" / "image.nii.gz"))
    mask = sitk.ReadImage(str(tmp_path / "case" / "mask.nii.gz"))
    assert 7.5 <= sitk.GetArrayFromImage(img)[sitk.GetArrayFromImage(mask) > 0].max() <= 8.5


def test_cli_errors_are_one_line(run_cli, sts, tmp_path):
    res = run_cli("dicom", "convert", sts / "STS_001_raw" / "FDG_PET", "--roi", "Liver", "--out", tmp_path / "c")
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "ROI 'Liver' not found" in res.stderr and "GTV_Edema" in res.stderr
    res = run_cli("dicom", "ls", tmp_path / "nothing-here")
    assert res.returncode == 2 and "folder not found" in res.stderr


def test_gantry_tilt_detected_and_reported(sts, tmp_path):
    """Shift each slice's position along y as a tilted gantry does: the tilt is measured and warned."""
    src = sorted((sts / "STS_002" / "CT" / "dicom" / "image").iterdir())
    for p in src:
        ds = pydicom.dcmread(p)
        x, y, z = (float(v) for v in ds.ImagePositionPatient)
        ds.ImagePositionPatient = [x, y + 0.2 * (z - (-629.04)), z]  # tan(tilt) = 0.2 → 11.3°
        ds.save_as(tmp_path / p.name)
    series = scan_dicom(tmp_path).series[0]
    assert series.gantry_tilt_deg == pytest.approx(np.degrees(np.arctan(0.2)), abs=0.1)
    with pytest.warns(Warning, match="gantry tilt of 11.3 degrees"):
        read_series(tmp_path)
