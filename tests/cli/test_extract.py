"""``radsig extract`` end to end, and its one-line errors (exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

REPO = Path(__file__).resolve().parents[2]
PARAMS = str(REPO / "params" / "ibsi")


@pytest.fixture
def case_files(tmp_path, image_factory):
    image, mask = image_factory()
    sitk.WriteImage(image, str(tmp_path / "img.nii.gz"))
    sitk.WriteImage(mask, str(tmp_path / "msk.nii.gz"))
    return tmp_path / "img.nii.gz", tmp_path / "msk.nii.gz"


def _one_line_error(result, *needles):
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.strip().splitlines()
             if ln.strip() and not ln.startswith("warning: ")]  # e.g. the NaN voxels, then the error
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_help_has_examples(run_cli):
    """Through a real subprocess: help text with examples."""
    result = run_cli("extract", "--help")
    assert result.returncode == 0
    assert "Examples" in result.stdout and "--params" in result.stdout


def test_digital_phantom_long_and_wide(cli, shared, tmp_path):
    img = shared / "ibsi" / "digital_phantom" / "image.nii.gz"
    msk = shared / "ibsi" / "digital_phantom" / "mask.nii.gz"
    params = f"{PARAMS}/dig_phantom.yaml"
    out = tmp_path / "f.csv"
    result = cli("extract", img, msk, "--params", params, "--out", out)
    assert result.returncode == 0, result.stderr
    df = pd.read_csv(out)
    assert list(df.columns) == ["feature", "family", "ibsi_code", "aggregation_code", "value"]
    row = df.set_index("feature").loc["stat_mean"]
    assert round(row["value"], 2) == 2.15 and row["ibsi_code"] == "Q4LE"
    wide = tmp_path / "f.parquet"
    result = cli("extract", img, msk, "--params", params, "--out", wide, "--format", "wide")
    assert result.returncode == 0, result.stderr
    table = pd.read_parquet(wide)
    assert len(table) == 1 and table["ih_max"].iloc[0] == 6


def test_stdout_table(cli, case_files):
    result = cli("extract", *case_files, "--params", f"{PARAMS}/config_a.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "feature,family,ibsi_code,aggregation_code,value"


def test_missing_file(run_cli, case_files, tmp_path):
    """Through a real subprocess: one line on stderr, exit 2, no traceback."""
    _one_line_error(run_cli("extract", tmp_path / "absent.nii.gz", case_files[1]),
                    "absent.nii.gz", "not found")


def test_corrupt_file(cli, case_files, tmp_path):
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"garbage")
    _one_line_error(cli("extract", bad, case_files[1]), "bad.nii.gz", "corrupt")


def test_different_geometry(cli, case_files, tmp_path, image_factory):
    _, other = image_factory(spacing=(2.0, 1.0, 1.0))
    sitk.WriteImage(other, str(tmp_path / "other.nii.gz"))
    _one_line_error(cli("extract", case_files[0], tmp_path / "other.nii.gz"),
                    "other.nii.gz", "different geometry")


def test_empty_mask(cli, case_files, tmp_path):
    mask = sitk.ReadImage(str(case_files[1])) * 0
    sitk.WriteImage(mask, str(tmp_path / "empty.nii.gz"))
    _one_line_error(cli("extract", case_files[0], tmp_path / "empty.nii.gz"),
                    "empty.nii.gz", "empty")


def test_label_not_in_mask(cli, case_files):
    _one_line_error(cli("extract", *case_files, "--label", "7"),
                    "msk.nii.gz", "label 7 is not in the mask")


def test_nan_in_roi(cli, case_files, tmp_path):
    image = sitk.ReadImage(str(case_files[0]))
    arr = sitk.GetArrayFromImage(image)
    arr[6, 7, 8] = np.nan
    arr[6, 7, 7] = np.inf
    bad = sitk.GetImageFromArray(arr)
    bad.CopyInformation(image)
    sitk.WriteImage(bad, str(tmp_path / "nan.mha"))  # NIfTI reading turns NaN into 0
    _one_line_error(cli("extract", tmp_path / "nan.mha", case_files[1]),
                    "nan.mha", "2 voxel(s) in the ROI are NaN or infinite")


def test_roi_too_small_for_a_family(cli, case_files, tmp_path):
    mask = sitk.ReadImage(str(case_files[1]))
    arr = np.zeros_like(sitk.GetArrayFromImage(mask))
    arr[6, 7, 8] = 1
    one = sitk.GetImageFromArray(arr)
    one.CopyInformation(mask)
    sitk.WriteImage(one, str(tmp_path / "one.nii.gz"))
    out = tmp_path / "f.csv"
    result = cli("extract", case_files[0], tmp_path / "one.nii.gz", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "warning: " in result.stderr and "'glcm' could not be computed" in result.stderr
    assert "needs at least 2" in result.stderr or "not implemented" in result.stderr
    df = pd.read_csv(out).set_index("feature")
    assert df.loc[df["family"] == "glcm", "value"].isna().all()
    value = sitk.GetArrayFromImage(sitk.ReadImage(str(case_files[0])))[6, 7, 8]
    assert df.loc["stat_mean", "value"] == pytest.approx(value, abs=1e-3)


def test_unknown_settings_key(cli, case_files, tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("discretisation:\n  bins: 32\n")
    _one_line_error(cli("extract", *case_files, "--params", params),
                    "p.yaml", "unknown settings key 'bins'", "valid keys")


def test_malformed_yaml(cli, case_files, tmp_path):
    params = tmp_path / "m.yaml"
    params.write_text("discretisation: [fbn,\n")
    _one_line_error(cli("extract", *case_files, "--params", params),
                    "m.yaml", "malformed YAML")


def test_bad_format_option(cli, case_files):
    _one_line_error(cli("extract", *case_files, "--format", "tall"), "--format")


def test_roi_name_needs_a_dicom_structure_file(cli, case_files):
    _one_line_error(cli("extract", *case_files, "--roi", "GTV"),
                    "msk.nii.gz", "needs an RTSTRUCT or SEG file")


def test_everything_resegmented_away(cli, case_files, tmp_path):
    params = tmp_path / "r.yaml"
    params.write_text("resegmentation:\n  range: [5000, 6000]\n")
    _one_line_error(cli("extract", *case_files, "--params", params),
                    "msk.nii.gz", "no ROI voxel is left after re-segmentation")
