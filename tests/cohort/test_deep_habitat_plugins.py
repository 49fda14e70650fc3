"""Deep and habitat features through the cohort engine: fitted on training rows, cached, same as direct."""

from __future__ import annotations

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radsig.cohort import extract_cohort
from radsig.habitat.cohort import fit_habitat_model, habitat_extractor, habitat_settings


def _write_cases(tmp_path, n=6):
    rows = []
    for i in range(n):
        rng = np.random.default_rng(i)
        shape = (16, 32, 32)
        zz, yy, xx = np.indices(shape).astype(float)
        ball = ((zz - 7.5) * 2) ** 2 + (yy - 15.5) ** 2 + (xx - 15.5) ** 2 <= 10.0**2
        img = rng.normal(0, 5, shape)
        img[ball & (xx < 15.5)] += 40
        img[ball & (xx >= 15.5)] += 120 + rng.normal(0, 10, (ball & (xx >= 15.5)).sum())
        image = sitk.GetImageFromArray(img.astype(np.float32))
        image.SetSpacing((1.0, 1.0, 2.0))
        mask = sitk.GetImageFromArray(ball.astype(np.uint8))
        mask.CopyInformation(image)
        sitk.WriteImage(image, str(tmp_path / f"p{i}_img.nii.gz"))
        sitk.WriteImage(mask, str(tmp_path / f"p{i}_mask.nii.gz"))
        rows.append({"patient_id": f"p{i}", "image": f"p{i}_img.nii.gz", "mask": f"p{i}_mask.nii.gz",
                     "cohort": "training" if i < 4 else "external"})
    manifest = pd.DataFrame(rows)
    manifest.to_csv(tmp_path / "manifest.csv", index=False)
    return manifest


def test_habitat_family_in_cohort_engine(tmp_path):
    manifest = _write_cases(tmp_path)
    train = manifest[manifest.cohort == "training"].assign(
        image=lambda d: str(tmp_path) + "/" + d["image"], mask=lambda d: str(tmp_path) + "/" + d["mask"])
    model = fit_habitat_model(train, k_range=(2, 3), n_supervoxels=8)
    settings = habitat_settings(model, maps_dir=tmp_path / "maps")
    res = extract_cohort(tmp_path / "manifest.csv", settings, tmp_path / "hab.parquet",
                         extractor=habitat_extractor, progress=False)
    assert res.n_failed == 0 and len(res.table) == 6
    assert {"hab0_fraction", "hab1_fraction", "ith_score"} <= set(res.feature_columns)
    np.testing.assert_allclose(res.table["hab0_fraction"] + res.table["hab1_fraction"], 1.0)
    assert (tmp_path / "maps" / "p5_habitats.nii.gz").is_file()
    again = extract_cohort(tmp_path / "manifest.csv", settings, tmp_path / "hab2.parquet",
                           extractor=habitat_extractor, progress=False)
    assert again.counts["cached"] == 6
    pd.testing.assert_frame_equal(res.table, again.table)


def test_deep_family_in_cohort_engine(tmp_path):
    from radsig.deep import CropSpec
    from radsig.deep.cohort import deep_extractor, deep_settings, train_deep_model

    manifest = _write_cases(tmp_path)
    train = manifest[manifest.cohort == "training"].assign(
        image=lambda d: str(tmp_path) + "/" + d["image"], mask=lambda d: str(tmp_path) + "/" + d["mask"])
    weights = train_deep_model(train, tmp_path / "w", spec=CropSpec(size_mm=32, n_voxels=16), epochs=2,
                               batch_size=4, backbone={"dims": 2, "in_channels": 3, "width": 4, "n_features": 8})
    res = extract_cohort(tmp_path / "manifest.csv", deep_settings(weights), tmp_path / "deep.parquet",
                         extractor=deep_extractor, progress=False)
    assert res.n_failed == 0
    assert res.feature_columns == [f"deep_{k:03d}" for k in range(8)]
    direct = deep_extractor(tmp_path / "p5_img.nii.gz", tmp_path / "p5_mask.nii.gz", deep_settings(weights))
    row = res.table.set_index("patient_id").loc["p5", res.feature_columns].to_numpy(float)
    np.testing.assert_allclose(row, direct["value"].to_numpy(), rtol=1e-6)
