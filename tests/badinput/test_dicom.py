"""DICOM defects (from the STS sarcoma series): unreadable, empty, duplicated and missing slices,
bad SUV options and times, a truncated RTSTRUCT, contours leaving the scan, re-conversion."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from _badinput import assert_error, assert_warning


def _by_position(folder):
    files = sorted(folder.glob("*.dcm"))
    z = [float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]) for f in files]
    return [f for _, f in sorted(zip(z, files))]


@pytest.fixture
def ct(sts_copy):
    return sts_copy("STS_002/CT/dicom")


def test_zero_byte_slice(cli, tmp_path, ct):
    (ct / "image" / "000020.dcm").write_bytes(b"")
    res = cli("dicom", "convert", ct / "image", "--out", tmp_path / "o")
    assert_error(res, "000020.dcm", "empty file (0 bytes)", "--skip-unreadable")
    assert not (tmp_path / "o").exists()


def test_zero_byte_slice_skipped_on_request(cli, tmp_path, ct):
    """With --skip-unreadable the empty file is skipped and said; the missing slice then is a gap."""
    (ct / "image" / "extra.dcm").write_bytes(b"")
    assert_warning(cli("dicom", "convert", ct / "image", "--out", tmp_path / "o", "--skip-unreadable"),
                   "skipped (--skip-unreadable)", "extra.dcm")
    assert (tmp_path / "o" / "image.nii.gz").is_file()


def test_garbage_slice(cli, tmp_path, ct):
    (ct / "image" / "000021.dcm").write_bytes(b"\x00" * 128 + b"DICM" + b"\xff" * 50)
    assert_error(cli("dicom", "convert", ct / "image", "--out", tmp_path / "o"), "000021.dcm")


def test_truncated_pixel_data(cli, tmp_path, ct):
    f = ct / "image" / "000010.dcm"
    raw = f.read_bytes()
    f.write_bytes(raw[: len(raw) - 5000])
    assert_error(cli("dicom", "convert", ct / "image", "--out", tmp_path / "o"), "000010.dcm")
    assert not (tmp_path / "o").exists()


def test_duplicated_slice_position(cli, tmp_path, ct):
    files = _by_position(ct / "image")
    ds = pydicom.dcmread(files[10])
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(ct / "image" / "dup.dcm")
    assert_error(cli("dicom", "convert", ct / "image", "--out", tmp_path / "o"),
                 "share a position", "remove the duplicates")


def test_missing_slice_is_a_gap(cli, tmp_path, ct):
    _by_position(ct / "image")[20].unlink()
    assert_error(cli("dicom", "convert", ct / "image", "--out", tmp_path / "o"),
                 "gap", "a slice is missing", "--allow-gaps")


def test_missing_slice_allowed_is_restacked_with_a_warning(cli, tmp_path, ct):
    _by_position(ct / "image")[20].unlink()
    assert_warning(cli("dicom", "convert", ct / "image", "--out", tmp_path / "o", "--allow-gaps"),
                   "gap", "restacked", "--allow-gaps")
    assert sitk.ReadImage(str(tmp_path / "o" / "image.nii.gz")).GetSize()[2] == 47


def test_uneven_spacing_is_a_named_warning(cli, tmp_path, sts_copy):
    pet = sts_copy("STS_001_raw/FDG_PET")
    assert_warning(cli("dicom", "convert", pet / "image", "--out", tmp_path / "o"),
                   "uneven slice spacing", "restacked at the median spacing")


@pytest.mark.parametrize("option,value,needles", [
    ("--suv-injection-time", "99:99", ["--suv-injection-time", "'99:99'", "not a time"]),
    ("--suv-injection-time", "noon", ["--suv-injection-time", "not a time"]),
    ("--suv-weight", "-70", ["--suv-weight -70", "between 1 and 500 kg"]),
    ("--suv-height", "170", ["--suv-height 170", "m"]),
    ("--suv-dose", "0", ["--suv-dose 0"]),
    ("--suv-sex", "X", ["--suv-sex", "M or F"]),
], ids=["time-99:99", "time-word", "weight-negative", "height-in-cm", "dose-zero", "sex"])
def test_bad_suv_option(cli, tmp_path, sts, option, value, needles):
    res = cli("dicom", "convert", sts / "STS_001_raw" / "FDG_PET" / "image", "--out",
              tmp_path / "o", option, value)
    assert_error(res, *needles)
    assert not (tmp_path / "o").exists()


def test_injection_after_acquisition(cli, tmp_path, sts):
    """Series time 11:20:11; an injection at 12:00 would give SUV x 1e-4."""
    res = cli("dicom", "convert", sts / "STS_001_raw" / "FDG_PET" / "image", "--out",
              tmp_path / "o", "--suv-injection-time", "120000")
    assert_error(res, "injection time 12:00:00 is after the acquisition time 11:20:11",
                 "--suv-injection-time")


def test_injection_after_acquisition_in_the_tags(cli, tmp_path, sts_copy):
    pet = sts_copy("STS_001_raw/FDG_PET")
    for f in (pet / "image").iterdir():
        ds = pydicom.dcmread(f)
        ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartTime = "113000"
        ds.save_as(f)
    assert_error(cli("dicom", "convert", pet / "image", "--out", tmp_path / "o"),
                 "is after the acquisition", "RadiopharmaceuticalStartTime")


def test_reconverting_without_roi_removes_the_old_mask(cli, tmp_path, sts):
    out = tmp_path / "case"
    base = sts / "STS_002" / "CT" / "dicom"
    assert cli("dicom", "convert", base / "image", "--mask", base / "mask" / "RS.dcm", "--roi",
               "GTV.*", "--out", out).code == 0
    assert (out / "mask.nii.gz").is_file()
    pet = sts / "STS_002" / "PET" / "dicom" / "image"
    assert_warning(cli("dicom", "convert", pet, "--out", out), "removed the mask of an earlier")
    assert not (out / "mask.nii.gz").exists()
    assert json.loads((out / "image.json").read_text())["modality"] == "PT"


def test_truncated_rtstruct(cli, tmp_path, ct):
    rs = ct / "mask" / "RS.dcm"
    rs.write_bytes(rs.read_bytes()[:3000])
    res = cli("dicom", "convert", ct, "--roi", "GTV.*", "--out", tmp_path / "o")
    line = assert_error(res, "RS.dcm")
    assert "no RTSTRUCT found" not in line and "truncated or corrupt" in line


def test_rtstruct_roi_missing(cli, tmp_path, sts):
    base = sts / "STS_002" / "CT" / "dicom"
    assert_error(cli("dicom", "convert", base / "image", "--mask", base / "mask" / "RS.dcm",
                     "--roi", "PTV", "--out", tmp_path / "o"), "'PTV' not found", "GTV_Mass_CT")


def test_contour_partly_outside_the_image(cli, tmp_path, ct):
    """Drop the last 20 slices: the contours on them leave the scan; the lost voxels are counted."""
    for f in _by_position(ct / "image")[28:]:
        f.unlink()
    res = cli("dicom", "convert", ct / "image", "--mask", ct / "mask" / "RS.dcm", "--roi", "GTV.*",
              "--out", tmp_path / "o")
    line = assert_warning(res, "RS.dcm", "runs partly outside the image", "kept")
    kept = int(sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "o" / "mask.nii.gz"))).sum())
    assert f"({kept} kept)" in line
    lost, total = (int(v) for v in line.split("image: ")[1].split(" voxels")[0].split(" of its "))
    assert total - lost == kept and lost > 0


def test_contours_inside_give_no_warning(cli, tmp_path, sts):
    base = sts / "STS_002" / "CT" / "dicom"
    res = cli("dicom", "convert", base / "image", "--mask", base / "mask" / "RS.dcm", "--roi",
              "GTV.*", "--out", tmp_path / "o")
    assert res.code == 0 and not res.warnings, res.stderr


def test_convert_out_is_a_file(cli, tmp_path, sts):
    (tmp_path / "o").write_text("x")
    assert_error(cli("dicom", "convert", sts / "STS_002" / "CT" / "dicom" / "image", "--out",
                     tmp_path / "o"), "is a file, not a folder")


def test_convert_out_parent_missing(cli, tmp_path, sts):
    assert_error(cli("dicom", "convert", sts / "STS_002" / "CT" / "dicom" / "image", "--out",
                     tmp_path / "a" / "b"), "does not exist")


def test_convert_folder_missing(cli, tmp_path):
    assert_error(cli("dicom", "convert", tmp_path / "nothing", "--out", tmp_path / "o"),
                 "nothing", "not found")


def test_ls_folder_without_dicom(cli, tmp_path):
    (tmp_path / "readme.txt").write_text("hello")
    assert_error(cli("dicom", "ls", tmp_path), "no DICOM image series")


def test_two_series_without_series_option(cli, tmp_path, sts):
    base = sts / "STS_002"
    import shutil

    both = tmp_path / "both"
    shutil.copytree(base / "CT" / "dicom" / "image", both / "ct")
    shutil.copytree(base / "PET" / "dicom" / "image", both / "pet")
    assert_error(cli("dicom", "convert", both, "--out", tmp_path / "o"), "2 image series", "--series")


def test_extract_reads_dicom_folder_with_the_same_checks(cli, tmp_path, ct, quick):
    (ct / "image" / "000020.dcm").write_bytes(b"")
    assert_error(cli("extract", ct / "image", ct / "mask" / "RS.dcm", "--roi", "GTV.*",
                     "--params", quick), "empty file (0 bytes)")


def test_suv_values_unchanged_by_the_checks(sts):
    """The valid PET series still gives MIRP's SUV range (the checks change no number)."""
    import warnings

    from radsig.io.dicom import read_dicom_mask, read_series

    base = sts / "STS_001_raw" / "FDG_PET"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = read_series(base / "image")
    mask = read_dicom_mask(base / "mask" / "1-1.dcm", image, "GTV_Mass")
    values = sitk.GetArrayFromImage(image)[sitk.GetArrayFromImage(mask) > 0]
    assert 7.5 <= values.max() <= 8.5 and np.isfinite(values).all()


def test_seg_partly_outside_the_image(tmp_path, sts, ct):
    """A DICOM SEG made on the whole CT, read onto the CT without its last 20 slices: the voxels
    beyond the scan are counted in a warning (nearest-neighbour resampling drops them silently)."""
    import highdicom as hd
    from pydicom.sr.codedict import codes

    from radsig.io.dicom import read_dicom_mask, read_series

    full = sts / "STS_002" / "CT" / "dicom" / "image"
    sources = [pydicom.dcmread(p) for p in _by_position(full)]
    ref = sitk.GetArrayFromImage(sitk.ReadImage(str(sts / "STS_002" / "CT" / "nifti" / "mask" /
                                                    "mask.nii.gz"))) > 0
    desc = hd.seg.SegmentDescription(
        segment_number=1, segment_label="GTV", segmented_property_category=codes.SCT.Tissue,
        segmented_property_type=codes.SCT.Tissue,
        algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL)
    seg = hd.seg.Segmentation(
        source_images=sources, pixel_array=ref.astype(np.uint8), segmentation_type="BINARY",
        segment_descriptions=[desc], series_instance_uid=hd.UID(), series_number=99,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="radsig",
        manufacturer_model_name="test", software_versions="0", device_serial_number="0")
    seg.save_as(tmp_path / "seg.dcm")
    for f in _by_position(ct / "image")[28:]:
        f.unlink()
    image = read_series(ct / "image")
    with pytest.warns(Warning, match="runs partly outside the image") as caught:
        mask = read_dicom_mask(tmp_path / "seg.dcm", image, "GTV")
    text = str(caught[0].message)
    lost, total = (int(v) for v in text.split("image: ")[1].split(" voxels")[0].split(" of its "))
    kept = int(sitk.GetArrayFromImage(mask).sum())
    assert total == int(ref.sum()) and lost == int(ref[28:].sum()) and kept == total - lost
