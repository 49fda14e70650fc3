"""Cohort runs: workers outlive a killed parent, --cache/--out checked before any work, corrupt or
text-polluted feature tables in ``cohort aggregate``, failing cases counted (exit 1)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from _badinput import REPO, assert_error, truncate, write


def _manifest(tmp_path, rows) -> Path:
    path = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    out, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - out
        out |= frontier
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_kill_9_of_the_parent_ends_the_workers(tmp_path, image_factory):
    """kill -9 of a ``--jobs 2`` run: the workers end too (they kept running, 200 MB each)."""
    rows = []
    for i in range(12):
        image, mask = image_factory(shape=(40, 48, 48), seed=i, radius=14.0)
        rows.append({"patient_id": f"P{i}", "image": write(image, tmp_path / f"i{i}.nii.gz"),
                     "mask": write(mask, tmp_path / f"m{i}.nii.gz")})
    manifest = _manifest(tmp_path, rows)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    parent = subprocess.Popen(
        [sys.executable, "-m", "radsig", "cohort", "extract", str(manifest), "--params",
         str(REPO / "params" / "ibsi" / "default_ct.yaml"), "--out", str(tmp_path / "f.parquet"),
         "--jobs", "2", "--no-progress"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while time.monotonic() < deadline and len(workers) < 2:
            workers = _descendants(parent.pid)
            time.sleep(0.1)
        assert len(workers) >= 2, "the pool's workers did not start"
        time.sleep(1.0)  # let them start on a case
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in workers):
            time.sleep(0.1)
        left = [p for p in workers if _alive(p)]
        assert not left, f"workers still running after the parent was killed: {left}"
    finally:
        for p in _descendants(parent.pid) if parent.poll() is None else ():
            os.kill(p, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()


def test_cache_is_a_file(cli, tmp_path, case, quick):
    manifest = _manifest(tmp_path, [{"patient_id": "p1", "image": case[0], "mask": case[1]}])
    (tmp_path / "cache").write_text("not a folder")
    assert_error(cli("cohort", "extract", manifest, "--params", quick, "--out",
                     tmp_path / "t.parquet", "--cache", tmp_path / "cache", "--no-progress"),
                 "--cache", "is a file, not a folder")
    assert not (tmp_path / "t.parquet").exists()


def test_cache_checked_before_the_manifest(cli, tmp_path, quick):
    (tmp_path / "cache").write_text("x")
    assert_error(cli("cohort", "extract", tmp_path / "missing.csv", "--params", quick, "--out",
                     tmp_path / "t.parquet", "--cache", tmp_path / "cache", "--no-progress"),
                 "--cache")


def test_aggregate_corrupt_parquet(cli, tmp_path):
    table = tmp_path / "f.parquet"
    pd.DataFrame({"patient_id": ["a", "a"], "morph_volume": [1.0, 2.0]}).to_parquet(table)
    truncate(table, 0.5)
    out = tmp_path / "p.parquet"
    assert_error(cli("cohort", "aggregate", table, "--out", out), "f.parquet",
                 "cannot read the feature table")
    assert not out.exists()


def test_aggregate_not_a_parquet(cli, tmp_path):
    table = tmp_path / "f.parquet"
    table.write_text("patient_id,morph_volume\na,1\n")
    assert_error(cli("cohort", "aggregate", table, "--out", tmp_path / "p.csv"), "f.parquet",
                 "Parquet")


def test_aggregate_text_in_a_feature_column(cli, tmp_path):
    table = tmp_path / "f.csv"
    pd.DataFrame({"patient_id": ["a", "a", "b"], "lesion_id": ["1", "2", "1"],
                  "morph_volume": [1.0, 2.0, 3.0],
                  "stat_mean": ["4.5", "n/a (failed)", "3.0"]}).to_csv(table, index=False)
    out = tmp_path / "p.csv"
    assert_error(cli("cohort", "aggregate", table, "--out", out), "f.csv", "'stat_mean'",
                 "'n/a (failed)'", "text")
    assert not out.exists()


def test_aggregate_parquet_text_in_a_named_feature_column(cli, tmp_path):
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    df = pd.DataFrame({"patient_id": ["a"], "lesion_id": ["1"], "morph_volume": [1.0],
                       "stat_mean": ["high"]})
    arrow = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(
        {b"radsig.feature_columns": json.dumps(["morph_volume", "stat_mean"]).encode()})
    pq.write_table(arrow, tmp_path / "f.parquet")
    assert_error(cli("cohort", "aggregate", tmp_path / "f.parquet", "--out", tmp_path / "p.csv"),
                 "stat_mean", "text")


def test_aggregate_missing_table(cli, tmp_path):
    assert_error(cli("cohort", "aggregate", tmp_path / "none.parquet", "--out", tmp_path / "p.csv"),
                 "none.parquet", "not found")


def test_failing_case_completes_with_exit_1(cli, tmp_path, case, quick):
    """A truncated image in a cohort: the run completes, exit 1, the failure names case and cause."""
    cut = truncate(write(case[2], tmp_path / "cut.nii.gz"), 0.6)
    manifest = _manifest(tmp_path, [{"patient_id": "good", "image": case[0], "mask": case[1]},
                                    {"patient_id": "bad", "image": cut, "mask": case[1]}])
    out = tmp_path / "t.csv"
    res = cli("cohort", "extract", manifest, "--params", quick, "--out", out, "--no-progress")
    assert res.code == 1, res.stderr
    assert "Traceback" not in res.stderr
    failures = pd.read_csv(tmp_path / "t.failures.csv")
    row = failures.iloc[0].astype(str).str.cat(sep=" ")
    assert "bad" in row and "truncated" in row
    assert list(pd.read_csv(out)["patient_id"]) == ["good"]


def test_multi_label_mask_in_a_cohort_warns_per_case(cli, tmp_path, case, quick):
    """A case's warnings reach the user as ``warning: case ID: …`` and the provenance file."""
    import json

    import SimpleITK as sitk

    arr = sitk.GetArrayFromImage(case[3])
    arr[0, 0:2, 0:2] = 3
    mask = sitk.GetImageFromArray(arr)
    mask.CopyInformation(case[3])
    mpath = write(mask, tmp_path / "two.nii.gz")
    manifest = _manifest(tmp_path, [{"patient_id": "p7", "image": case[0], "mask": mpath}])
    res = cli("cohort", "extract", manifest, "--params", quick, "--out", tmp_path / "t.parquet",
              "--no-progress")
    assert res.code == 0, res.stderr
    assert any(w.startswith("warning: case p7") and "two.nii.gz" in w and "2 labels (1, 3)" in w
               for w in res.warnings), res.stderr
    prov = json.loads((tmp_path / "t.provenance.json").read_text())
    assert any("2 labels (1, 3)" in w for w in prov["inputs"][0]["warnings"])


def test_empty_settings_file_in_a_cohort(cli, tmp_path, case):
    manifest = _manifest(tmp_path, [{"patient_id": "p1", "image": case[0], "mask": case[1]}])
    (tmp_path / "s.yaml").write_text("")
    assert_error(cli("cohort", "extract", manifest, "--params", tmp_path / "s.yaml", "--out",
                     tmp_path / "t.parquet", "--no-progress"), "s.yaml", "empty")


def test_jobs_zero_is_a_one_line_error(cli, tmp_path, quick):
    line = assert_error(cli("cohort", "extract", tmp_path / "m.csv", "--params", quick, "--out",
                            tmp_path / "t.parquet", "--jobs", "0"), "--jobs")
    # typer < 0.29 states click's range ("0 is not in the range x>=1"), 0.29 pydantic's
    assert "x>=1" in line or "greater than or equal to 1" in line, line
