"""``radsig cohort extract|aggregate`` from the command line."""

from __future__ import annotations

import pandas as pd


def test_extract_invalid_manifest_exits_2_with_message(run_cli, tmp_path):
    manifest = tmp_path / "m.csv"
    pd.DataFrame([{"patient_id": "A", "image": "a.nii"}]).to_csv(manifest, index=False)
    params = tmp_path / "p.yaml"
    params.write_text("{}\n")
    proc = run_cli("cohort", "extract", manifest, "--params", params, "--out", tmp_path / "f.parquet")
    assert proc.returncode == 2
    assert "error: manifest" in proc.stderr and "missing required column(s) mask" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "f.parquet").exists()


def test_extract_missing_params_exits_2(run_cli, tmp_path):
    manifest = tmp_path / "m.csv"
    pd.DataFrame([{"patient_id": "A", "image": "a.nii", "mask": "b.nii"}]).to_csv(manifest, index=False)
    proc = run_cli("cohort", "extract", manifest, "--params", tmp_path / "nope.yaml",
                   "--out", tmp_path / "f.parquet")
    assert proc.returncode == 2 and "settings file" in proc.stderr and "not found" in proc.stderr


def test_aggregate_command_writes_one_row_per_patient(run_cli, tmp_path):
    table = pd.DataFrame({"patient_id": ["A", "A", "B"], "lesion_id": ["1", "2", "1"],
                          "morph_volume": [1.0, 3.0, 2.0], "stat_mean": [10.0, 20.0, 5.0]})
    table.to_csv(tmp_path / "f.csv", index=False)
    proc = run_cli("cohort", "aggregate", tmp_path / "f.csv", "--method", "weighted",
                   "--out", tmp_path / "p.csv")
    assert proc.returncode == 0, proc.stderr
    result = pd.read_csv(tmp_path / "p.csv")
    assert list(result["patient_id"]) == ["A", "B"]
    assert result["stat_mean"].tolist() == [(10.0 * 1 + 20.0 * 3) / 4, 5.0]
