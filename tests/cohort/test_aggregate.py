"""Lesion aggregation per patient, checked against explicit per-patient loops."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radsig.cohort.aggregate import aggregate_file, aggregate_lesions
from radsig.exceptions import ConfigError

FEATURES = ["morph_volume", "stat_mean", "glcm_x"]


@pytest.fixture
def lesions() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for pid, n in [("A", 3), ("B", 1), ("C", 2)]:
        for k in range(n):
            rows.append({"patient_id": pid, "lesion_id": str(k + 1), "centre": f"c{pid}",
                         "age": 60, "morph_volume": float(rng.uniform(1, 100)),
                         "stat_mean": float(rng.normal()), "glcm_x": float(rng.normal())})
    table = pd.DataFrame(rows)
    table.loc[1, "glcm_x"] = np.nan  # a missing feature on one lesion of A
    return table


def _reference(table: pd.DataFrame, method: str) -> dict[str, dict[str, float]]:
    out = {}
    for pid, group in table.groupby("patient_id"):
        w = group["morph_volume"].to_numpy()
        ref = {}
        for f in FEATURES:
            x = group[f].to_numpy()
            ok = ~np.isnan(x)
            if method == "largest":
                ref[f] = x[np.argmax(w)]
            elif method == "max":
                ref[f] = np.nanmax(x)
            else:
                ref[f] = np.sum(x[ok] * w[ok]) / np.sum(w[ok])
        out[pid] = ref
    return out


@pytest.mark.parametrize("method", ["largest", "weighted", "max"])
def test_aggregation_matches_reference_loops(lesions, method):
    result = aggregate_lesions(lesions, FEATURES, method=method)
    assert list(result["patient_id"]) == ["A", "B", "C"]
    assert list(result["n_lesions"]) == [3, 1, 2]
    assert result["total_volume"].to_numpy() == pytest.approx(
        lesions.groupby("patient_id")["morph_volume"].sum().to_numpy())
    reference = _reference(lesions, method)
    for _, row in result.iterrows():
        for f in FEATURES:
            assert row[f] == pytest.approx(reference[row["patient_id"]][f], nan_ok=True), (method, f)
    assert list(result["centre"]) == ["cA", "cB", "cC"]


def test_largest_keeps_the_chosen_lesion_id(lesions):
    result = aggregate_lesions(lesions, FEATURES, method="largest")
    a = lesions[lesions.patient_id == "A"]
    assert result.loc[0, "lesion_id"] == a.loc[a.morph_volume.idxmax(), "lesion_id"]


def test_groups_by_modality_and_file_roundtrip(lesions, tmp_path):
    both = pd.concat([lesions.assign(modality="CT"), lesions.assign(modality="PET")])
    result = aggregate_lesions(both, FEATURES, method="max")
    assert len(result) == 6 and set(result["modality"]) == {"CT", "PET"}
    src = tmp_path / "f.csv"
    lesions.to_csv(src, index=False)
    written = aggregate_file(src, tmp_path / "p.parquet", method="weighted")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "p.parquet"), written)


def test_errors_name_the_fix(lesions):
    with pytest.raises(ConfigError, match="one of largest, weighted, max"):
        aggregate_lesions(lesions, FEATURES, method="mean")
    with pytest.raises(ConfigError, match="--volume-feature"):
        aggregate_lesions(lesions.drop(columns="morph_volume"), ["stat_mean"])
