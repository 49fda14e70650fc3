"""DICOM inputs in a manifest: a series folder + RTSTRUCT (ROI regex) row gives the features
of the NIfTI copy of the same case (real data, tests/data/realdata/sts_soft_tissue_sarcoma)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd


def test_dicom_series_and_rtstruct_equal_nifti_copy(sts, tmp_path):
    base = sts / "STS_002" / "CT"
    params = Path(__file__).resolve().parents[2] / "params" / "ibsi" / "default_ct.yaml"
    manifest = pd.DataFrame([
        {"patient_id": "STS_002", "lesion_id": "dicom", "image": str(base / "dicom" / "image"),
         "mask": str(base / "dicom" / "mask" / "RS.dcm"), "roi": "GTV_Mass.*"},
        {"patient_id": "STS_002", "lesion_id": "nifti",
         "image": str(base / "nifti" / "image" / "image.nii.gz"),
         "mask": str(base / "nifti" / "mask" / "mask.nii.gz"), "roi": None},
    ])
    from radsig.cohort import extract_cohort

    result = extract_cohort(manifest, params, tmp_path / "f.parquet", progress=False,
                            cache=tmp_path / "c")
    assert result.n_failed == 0, result.failures.to_dict("records")
    table = result.table.set_index("lesion_id")[result.feature_columns]
    finite = table.notna().all()
    np.testing.assert_allclose(table.loc["dicom", finite], table.loc["nifti", finite],
                               rtol=1e-3, atol=1e-6)
    folder_hash = result.provenance["inputs"][0]["image_blake2b"]
    files = sorted(p for p in (base / "dicom" / "image").rglob("*") if p.is_file())
    h = hashlib.blake2b(digest_size=32)
    for f in files:
        h.update(f.relative_to(base / "dicom" / "image").as_posix().encode())
        h.update(hashlib.blake2b(f.read_bytes(), digest_size=32).hexdigest().encode())
    assert folder_hash == h.hexdigest()
