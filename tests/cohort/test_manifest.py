"""Manifest reading and validation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from radsig.cohort.manifest import load_manifest
from radsig.exceptions import ConfigError


def _write(tmp_path: Path, rows: list[dict], name: str = "manifest.csv") -> Path:
    path = tmp_path / name
    frame = pd.DataFrame(rows)
    if name.endswith(".parquet"):
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


def test_relative_paths_resolve_from_manifest_folder(tmp_path):
    sub = tmp_path / "study"
    sub.mkdir()
    path = _write(sub, [{"patient_id": "007", "image": "img/a.nii.gz", "mask": "/abs/m.nii.gz",
                         "label": 2.0, "age": 61}])
    man = load_manifest(path)
    (case,) = man.cases
    assert case.image == sub / "img" / "a.nii.gz"
    assert case.mask == Path("/abs/m.nii.gz")
    assert case.patient_id == "007"  # leading zeros kept: ids are text
    assert case.label == 2
    assert man.carried_columns == ["patient_id", "label", "age"]


def test_parquet_manifest(tmp_path):
    path = _write(tmp_path, [{"patient_id": 1, "image": "a.nii", "mask": "b.nii", "roi": "GTV"}],
                  "m.parquet")
    (case,) = load_manifest(path).cases
    assert (case.patient_id, case.roi, case.label) == ("1", "GTV", None)


@pytest.mark.parametrize("columns, match", [
    (["patient_id", "image"], "missing required column.*mask"),
    (["id", "image", "mask"], "missing required column.*patient_id"),
])
def test_missing_columns_raise(tmp_path, columns, match):
    path = _write(tmp_path, [{c: "x" for c in columns}])
    with pytest.raises(ConfigError, match=match):
        load_manifest(path)


def test_no_rows_and_unknown_type_raise(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("patient_id,image,mask\n")
    with pytest.raises(ConfigError, match="has no rows"):
        load_manifest(empty)
    with pytest.raises(ConfigError, match="unsupported file type"):
        load_manifest(tmp_path / "m.xlsx")
    with pytest.raises(ConfigError, match="not found"):
        load_manifest(tmp_path / "nothing.csv")


def test_row_problems_become_failures(tmp_path):
    rows = [
        {"patient_id": "A", "image": "a.nii", "mask": "am.nii", "lesion_id": "1"},
        {"patient_id": "A", "image": "a.nii", "mask": "am2.nii", "lesion_id": "2"},  # distinct
        {"patient_id": "B", "image": "b.nii", "mask": "bm.nii", "lesion_id": None},
        {"patient_id": "B", "image": "b2.nii", "mask": "bm2.nii", "lesion_id": None},  # dup
        {"patient_id": "C", "image": None, "mask": "cm.nii", "lesion_id": None},
        {"patient_id": "D", "image": "d.nii", "mask": "dm.nii", "label": "x"},
    ]
    man = load_manifest(_write(tmp_path, rows))
    assert [c.row for c in man.cases] == [1, 2]
    failures = {f["row"]: f for f in man.failures}
    assert sorted(failures) == [3, 4, 5, 6]
    assert failures[3]["error_type"] == "DuplicateCaseError"
    assert "rows 3, 4" in failures[3]["message"] and "None of these rows was run" in failures[4]["message"]
    assert "empty image" in failures[5]["message"]
    assert "label must be a non-negative integer" in failures[6]["message"]
    assert all(f["stage"] == "manifest" for f in man.failures)
