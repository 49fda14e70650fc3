"""Where radsig writes: missing, read-only or wrong-kind output paths and unknown suffixes are an
``error:`` before any work; writes are atomic, so an earlier output survives a failed run."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from _badinput import assert_error

from radsig.io.output import write_table


@pytest.fixture
def slow_guard(monkeypatch):
    """Fail the test if the extraction starts: output checks must come first."""
    import radsig.preprocess.pipeline as pipeline

    def boom(*a, **k):
        raise AssertionError("extraction ran before the output check")

    # extract_case_rows imports prepare_arrays from the pipeline at each call (lazy imports)
    monkeypatch.setattr(pipeline, "prepare_arrays", boom)


def test_out_folder_missing(cli, tmp_path, case, quick, slow_guard):
    assert_error(cli("extract", case[0], case[1], "--params", quick, "--out",
                     tmp_path / "no" / "f.csv"), "does not exist")


def test_out_is_a_folder(cli, tmp_path, case, quick, slow_guard):
    (tmp_path / "dir.csv").mkdir()
    assert_error(cli("extract", case[0], case[1], "--params", quick, "--out", tmp_path / "dir.csv"),
                 "dir.csv", "is a folder")


def test_out_parent_is_a_file(cli, tmp_path, case, quick, slow_guard):
    (tmp_path / "file").write_text("x")
    assert_error(cli("extract", case[0], case[1], "--params", quick, "--out",
                     tmp_path / "file" / "f.csv"), "is a file, not a folder")


def test_out_unknown_suffix(cli, tmp_path, case, quick, slow_guard):
    assert_error(cli("extract", case[0], case[1], "--params", quick, "--out", tmp_path / "f.xlsx"),
                 "f.xlsx", "unknown output format")
    assert not (tmp_path / "f.xlsx").exists()


def test_out_folder_read_only(cli, tmp_path, case, quick, slow_guard, monkeypatch):
    """(Tests run as root, which may write anywhere: the permission answer is simulated.)"""
    ro = tmp_path / "ro"
    ro.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(ro) else real(p, mode))
    assert_error(cli("extract", case[0], case[1], "--params", quick, "--out", ro / "f.csv"),
                 "not writable")


def test_earlier_output_intact_after_a_failed_run(cli, tmp_path, case, quick):
    out = tmp_path / "f.csv"
    assert cli("extract", case[0], case[1], "--params", quick, "--out", out).code == 0
    before = out.read_bytes()
    bad = tmp_path / "cut.nii.gz"
    bad.write_bytes(case[0].read_bytes()[:200])
    assert_error(cli("extract", bad, case[1], "--params", quick, "--out", out), "cut.nii.gz")
    assert out.read_bytes() == before


def test_write_failing_part_way_leaves_the_old_file(tmp_path, monkeypatch):
    out = tmp_path / "t.csv"
    write_table(pd.DataFrame({"a": [1, 2]}), out)
    before = out.read_bytes()

    class Broken(pd.DataFrame):
        def to_csv(self, path, **kw):
            with open(path, "w") as fh:
                fh.write("a\n1\n")  # half the table, then the disk is full
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_table(Broken({"a": [1, 2, 3]}), out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]  # no temporary file left


@pytest.mark.parametrize("suffix,reader", [(".csv", pd.read_csv), (".tsv", lambda p: pd.read_csv(p, sep="\t")),
                                           (".parquet", pd.read_parquet), (".csv.gz", pd.read_csv)])
def test_each_suffix_writes_its_format(tmp_path, suffix, reader):
    table = pd.DataFrame({"feature": ["a", "b"], "value": [1.5, 2.5]})
    path = write_table(table, tmp_path / f"t{suffix}")
    pd.testing.assert_frame_equal(reader(path), table)


def test_cohort_extract_out_unknown_suffix(cli, tmp_path, case, quick):
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"patient_id": ["p1"], "image": [case[0]], "mask": [case[1]]}).to_csv(manifest, index=False)
    assert_error(cli("cohort", "extract", manifest, "--params", quick, "--out", tmp_path / "t.xlsx",
                     "--no-progress"), "t.xlsx", "unknown output format")
    assert not (tmp_path / ".radsig-cache").exists()


def test_cohort_extract_out_folder_missing(cli, tmp_path, case, quick):
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"patient_id": ["p1"], "image": [case[0]], "mask": [case[1]]}).to_csv(manifest, index=False)
    assert_error(cli("cohort", "extract", manifest, "--params", quick, "--out",
                     tmp_path / "none" / "t.parquet", "--no-progress"), "does not exist")


def test_cohort_aggregate_out_unknown_suffix(cli, tmp_path):
    table = tmp_path / "f.csv"
    pd.DataFrame({"patient_id": ["a"], "morph_volume": [1.0]}).to_csv(table, index=False)
    assert_error(cli("cohort", "aggregate", table, "--out", tmp_path / "p.xlsx"), "p.xlsx",
                 "unknown output format")


def test_predict_out_folder_missing(cli, tmp_path, case):
    """Checked before the model is even read."""
    assert_error(cli("predict", tmp_path / "model.json", case[0], case[1], "--out",
                     tmp_path / "none" / "p.csv"), "does not exist")


def test_study_out_is_a_file(cli, tmp_path):
    (tmp_path / "out").write_text("x")
    (tmp_path / "study.yaml").write_text("name: x\n")
    assert_error(cli("study", tmp_path / "study.yaml", "--out", tmp_path / "out", "--quiet"),
                 "is a file, not a folder")


@pytest.mark.parametrize("command", [["demo"], ["example", "mcrc_petct"]])
def test_demo_and_example_out_parent_missing(cli, tmp_path, command):
    assert_error(cli(*command, "--out", tmp_path / "a" / "b", "--quiet"), "does not exist")
