"""PET/CT in one row: CT-drawn ROI carried to PET through world coordinates (STS_002, TCIA)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import SimpleITK as sitk

from radsig.features import to_wide
from radsig.features.multimodal import extract_multimodal
from radsig.io.dicom import read_dicom_mask, read_series
from radsig.io.multimodal import transfer_mask


@pytest.mark.slow
def test_petct_row_with_prefixes(sts, run_cli, tmp_path):
    base = sts / "STS_002"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = extract_multimodal({"CT": base / "CT" / "dicom" / "image", "PET": base / "PET" / "dicom" / "image"},
                                   base / "CT" / "dicom" / "mask" / "RS.dcm", mask_on="CT", roi="GTV_Mass_CT")
    wide = to_wide(table)
    assert {"CT_stat_mean", "PET_stat_mean", "PET_SUVmax", "PET_SUVpeak", "PET_TLG"} <= set(wide)
    assert not any(k.startswith("CT_SUV") for k in wide)
    ct = read_series(base / "CT" / "dicom" / "image")
    pet = read_series(base / "PET" / "dicom" / "image")
    on_pet = transfer_mask(read_dicom_mask(base / "CT" / "dicom" / "mask" / "RS.dcm", ct, "GTV_Mass_CT"), pet)
    values = sitk.GetArrayFromImage(pet)[sitk.GetArrayFromImage(on_pet) > 0]
    assert wide["PET_SUVmax"] == np.float32(values.max())
    assert abs(wide["PET_stat_mean"] - values.mean()) < 1e-3 * abs(values.mean())
    assert wide["CT_morph_volume"] > wide["PET_morph_volume"] * 0.8


@pytest.mark.slow
def test_extract_cli_reads_dicom_and_rtstruct(sts, run_cli, tmp_path):
    base = sts / "STS_002" / "CT"
    out = tmp_path / "f.csv"
    res = run_cli("extract", base / "dicom" / "image", base / "dicom" / "mask" / "RS.dcm", "--roi", "GTV.*",
                  "--format", "wide", "--out", out)
    assert res.returncode == 0, res.stderr
    import pandas as pd

    dicom_row = pd.read_csv(out).iloc[0]
    res = run_cli("extract", base / "nifti" / "image" / "image.nii.gz", base / "nifti" / "mask" / "mask.nii.gz",
                  "--format", "wide", "--out", tmp_path / "g.csv")
    assert res.returncode == 0, res.stderr
    nifti_row = pd.read_csv(tmp_path / "g.csv").iloc[0]
    for name in ("stat_mean", "stat_p90", "morph_volume"):
        assert abs(dicom_row[name] - nifti_row[name]) <= 1e-4 * abs(nifti_row[name])
