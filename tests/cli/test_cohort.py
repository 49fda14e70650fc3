"""``radsig cohort extract|aggregate`` from the command line."""

from __future__ import annotations

import pandas as pd
import pytest


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


@pytest.mark.slow
def test_extract_end_to_end_with_the_engine(run_cli, tmp_path):
    """Real extractor and params file: failures listed (exit 1), rerun served from the cache."""
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parents[1] / "cohort"
    sys.path.insert(0, str(here))
    import _radsig_cohort_toy as toy

    from radsig.features import extract_case

    params = Path(__file__).resolve().parents[2] / "params" / "ibsi" / "default_ct.yaml"
    manifest = toy.make_cohort(tmp_path, 2)
    (tmp_path / "data" / "bad.nii.gz").write_bytes(b"garbage")
    rows = pd.read_csv(manifest)
    bad = {"patient_id": "BAD", "image": "data/bad.nii.gz", "mask": "data/p000_seg.nii.gz"}
    pd.concat([rows, pd.DataFrame([bad])]).to_csv(manifest, index=False)
    out = tmp_path / "f.parquet"
    args = ("cohort", "extract", manifest, "--params", params, "--out", out, "--no-progress")
    first = run_cli(*args, "--csv")
    assert first.returncode == 1, first.stderr
    assert "completed with 1 failures: 2 of 3 cases extracted (2 computed, 0 from cache)" in first.stdout
    failures = pd.read_csv(tmp_path / "f.failures.csv")
    assert failures["patient_id"].tolist() == ["BAD"]
    assert failures.loc[0, "error_type"] == "ImageReadError"
    table = pd.read_parquet(out)
    assert (tmp_path / "f.csv").is_file() and (tmp_path / "f.provenance.json").is_file()
    ref = extract_case(tmp_path / "data" / "p001_img.nii.gz", tmp_path / "data" / "p001_seg.nii.gz",
                       str(params))
    expected = dict(zip(ref["feature"], ref["value"], strict=True))
    got = table.set_index("patient_id").loc["P001"]
    for name in ("stat_mean", "morph_volume", "ih_entropy"):
        if name in expected:
            assert got[name] == pytest.approx(expected[name], nan_ok=True), name
    second = run_cli(*args)
    assert second.returncode == 1
    assert "(0 computed, 2 from cache)" in second.stdout
    pd.testing.assert_frame_equal(pd.read_parquet(out), table)


@pytest.mark.slow
def test_ctrl_c_with_a_process_pool_exits_130_and_resumes(tmp_path):
    """SIGINT mid-run (--jobs 2): exit 130, no table, in-flight cases finish into the cache."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(repo / "tests" / "cohort"))
    import _radsig_cohort_toy as toy

    from radsig.cohort.cache import CaseCache

    n = 40  # enough cases that the interrupt always lands mid-run (a case takes ~0.1 s)
    manifest, cache, out = toy.make_cohort(tmp_path, n), tmp_path / "c", tmp_path / "f.parquet"
    cmd = [sys.executable, "-m", "radsig", "cohort", "extract", str(manifest), "--params",
           str(repo / "params" / "ibsi" / "default_ct.yaml"), "--out", str(out), "--cache",
           str(cache), "--no-progress"]
    env = dict(os.environ, PYTHONPATH=str(repo / "src"))
    child = subprocess.Popen([*cmd, "--jobs", "2"], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while CaseCache(cache).n_entries() < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    done = CaseCache(cache).n_entries()
    assert 1 <= done < n, f"{done} of {n} cases were cached when the interrupt arrived"
    assert child.returncode == 130 and "rerun the same command to resume" in err
    assert not out.exists()
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({n - done} computed, {done} from cache)" in resumed.stdout
