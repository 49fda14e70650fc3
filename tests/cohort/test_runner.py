"""extract_cohort: table, failures, provenance, cache/resume, process pool and Dask back-ends."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import _radsig_cohort_toy as toy
import numpy as np
import pandas as pd
import pytest

from radsig.cohort import extract_cohort, load_manifest
from radsig.cohort._atomic import TMP_SUFFIX
from radsig.cohort.cache import CaseCache

HERE = Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"
FAST = {"delay": 0.0}


def _run(manifest, out, **kw):
    kw.setdefault("progress", False)
    return extract_cohort(manifest, kw.pop("settings", FAST), out, extractor=toy.toy_extract, **kw)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return toy.make_cohort(tmp_path_factory.mktemp("cohort"), 6)


def test_table_matches_direct_extraction(cohort, tmp_path):
    result = _run(cohort, tmp_path / "f.parquet", cache=tmp_path / "c")
    man = load_manifest(cohort)
    assert result.counts == {"cases": 6, "ok": 6, "computed": 6, "cached": 0, "failed": 0}
    assert result.summary.startswith("completed: 6 of 6")
    assert list(result.table["patient_id"]) == [c.patient_id for c in man.cases]
    assert list(result.table.columns[:4]) == ["patient_id", "modality", "centre", "age"]
    assert result.feature_columns == ["stat_mean", "stat_max", "morph_volume"]
    for case, (_, row) in zip(man.cases, result.table.iterrows(), strict=True):
        ref = toy.toy_extract(case.image, case.mask)
        assert row[result.feature_columns].to_numpy(float) == pytest.approx(ref["value"].to_numpy())
    on_disk = pd.read_parquet(tmp_path / "f.parquet")
    pd.testing.assert_frame_equal(on_disk, result.table)
    assert pd.read_csv(tmp_path / "f.failures.csv").empty
    assert not list(tmp_path.rglob(f"*{TMP_SUFFIX}"))


def test_provenance_records_hashes_settings_and_versions(cohort, tmp_path):
    result = _run(cohort, tmp_path / "f.parquet", cache=tmp_path / "c", settings={"scale": 2.0})
    prov = json.loads((tmp_path / "f.provenance.json").read_text())
    assert prov == json.loads(json.dumps(result.provenance, default=str))
    assert prov["settings"]["values"] == {"scale": 2.0}
    assert set(prov["versions"]) >= {"radsig", "numpy", "SimpleITK", "pandas"}
    first = prov["inputs"][0]
    expected = hashlib.blake2b(Path(first["image"]).read_bytes(), digest_size=32).hexdigest()
    assert first["image_blake2b"] == expected
    assert prov["started"] <= prov["finished"]
    assert prov["counts"]["ok"] == 6


def test_rerun_is_served_from_cache_and_settings_change_recomputes(cohort, tmp_path):
    first = _run(cohort, tmp_path / "a.parquet", cache=tmp_path / "c")
    again = _run(cohort, tmp_path / "b.parquet", cache=tmp_path / "c")
    assert (again.counts["computed"], again.counts["cached"]) == (0, 6)
    pd.testing.assert_frame_equal(first.table, again.table)
    other = _run(cohort, tmp_path / "c.parquet", cache=tmp_path / "c", settings={"scale": 3.0})
    assert (other.counts["computed"], other.counts["cached"]) == (6, 0)
    assert np.allclose(other.table["stat_mean"], 3.0 * first.table["stat_mean"])
    assert CaseCache(tmp_path / "c").n_entries() == 12


def test_changed_input_file_is_recomputed(tmp_path):
    manifest = toy.make_cohort(tmp_path, 3)
    _run(manifest, tmp_path / "a.parquet")
    rows = pd.read_csv(manifest)
    toy.write_case(tmp_path / "data", "p001", seed=999)  # same path, new content
    again = _run(manifest, tmp_path / "b.parquet")
    assert (again.counts["computed"], again.counts["cached"]) == (1, 2)
    assert again.table.loc[1, "patient_id"] == rows.loc[1, "patient_id"]


def test_failures_are_listed_and_the_rest_completes(tmp_path):
    manifest = toy.make_cohort(tmp_path, 4)
    data = tmp_path / "data"
    (data / "corrupt.nii.gz").write_bytes(b"not a nifti file at all")
    empty_img, empty_seg = toy.write_case(data, "empty", seed=3, radius=0.0)
    zero = toy.sitk.Image(toy.sitk.ReadImage(str(empty_seg)))
    toy.sitk.WriteImage(zero * 0, str(empty_seg))
    rows = pd.read_csv(manifest)
    extra = pd.DataFrame([
        {"patient_id": "MISSING", "image": "data/nope.nii.gz", "mask": "data/p000_seg.nii.gz"},
        {"patient_id": "CORRUPT", "image": "data/corrupt.nii.gz", "mask": "data/p000_seg.nii.gz"},
        {"patient_id": "EMPTY", "image": "data/empty_img.nii.gz", "mask": "data/empty_seg.nii.gz"},
        {"patient_id": "P002", "image": "data/p003_img.nii.gz", "mask": "data/p003_seg.nii.gz",
         "modality": "CT"},
    ])
    pd.concat([rows, extra]).to_csv(manifest, index=False)
    result = _run(manifest, tmp_path / "f.parquet")
    assert list(result.table["patient_id"]) == ["P000", "P001", "P003"]
    failures = pd.read_csv(tmp_path / "f.failures.csv")
    by_id = {pid: f for pid, f in failures.groupby("patient_id")}
    assert sorted(by_id) == ["CORRUPT", "EMPTY", "MISSING", "P002"]
    missing = by_id["MISSING"].iloc[0]
    assert (missing.stage, missing.error_type) == ("input", "ImageReadError")
    assert "image file not found" in missing.message and missing.input.endswith("nope.nii.gz")
    corrupt = by_id["CORRUPT"].iloc[0]
    assert corrupt.error_type == "ImageReadError" and "cannot read image" in corrupt.message
    empty = by_id["EMPTY"].iloc[0]
    assert empty.error_type == "EmptyMaskError" and empty.stage == "mask"
    assert list(by_id["P002"]["row"]) == [3, 8]
    assert set(by_id["P002"]["error_type"]) == {"DuplicateCaseError"}
    assert result.counts["failed"] == 5
    assert result.summary.startswith("completed with 5 failures: 3 of 8")


def test_keyboard_interrupt_propagates_and_writes_no_table(cohort, tmp_path):
    calls = []

    def interrupting(image, mask, settings=None, **kw):
        calls.append(image)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return toy.toy_extract(image, mask, settings, **kw)

    with pytest.raises(KeyboardInterrupt):
        extract_cohort(cohort, FAST, tmp_path / "f.parquet", cache=tmp_path / "c",
                       extractor=interrupting, progress=False)
    assert not (tmp_path / "f.parquet").exists()
    assert CaseCache(tmp_path / "c").n_entries() == 2


def test_sigkill_midway_then_resume_equals_uninterrupted(tmp_path):
    n = 8
    manifest = toy.make_cohort(tmp_path, n)
    out, cache = tmp_path / "killed.parquet", tmp_path / "cache"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), str(HERE)]))
    child = subprocess.Popen([sys.executable, str(HERE / "_run_toy_cohort.py"), str(manifest),
                              str(out), str(cache), "0.25", "1"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while CaseCache(cache).n_entries() < 3 and time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    done_before = CaseCache(cache).n_entries()
    assert 3 <= done_before < n
    assert not out.exists() and not list(tmp_path.glob("killed.*"))
    resumed = _run(manifest, out, cache=cache, settings={"delay": 0.25})
    assert (resumed.counts["cached"], resumed.counts["computed"]) == (done_before, n - done_before)
    reference = _run(manifest, tmp_path / "ref.parquet", cache=tmp_path / "ref-cache")
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(tmp_path / "ref.parquet"))
    assert reference.counts["computed"] == n


def _with_a_missing_case(manifest: Path) -> Path:
    rows = pd.read_csv(manifest)
    gone = {"patient_id": "GONE", "image": "data/nope.nii.gz", "mask": "data/p000_seg.nii.gz",
            "modality": "CT"}
    pd.concat([rows, pd.DataFrame([gone])]).to_csv(manifest, index=False)
    return manifest


def _warnings_by_patient(result) -> dict[str, list[str]]:
    return {x["patient_id"]: x["warnings"] for x in result.provenance["inputs"]
            if x.get("patient_id")}


def _expected_warnings(n: int) -> dict[str, list[str]]:
    expected = {f"P{i:03d}": [f"UserWarning: toy warning for p{i:03d}_img.nii.gz"] for i in range(n)}
    return expected | {"GONE": []}


def test_process_pool_and_dask_process_cluster_give_the_jobs1_table(tmp_path):
    """jobs=2 and a real 2-process Dask LocalCluster: the jobs-1 table, failures and warnings."""
    from distributed import LocalCluster

    manifest = _with_a_missing_case(toy.make_cohort(tmp_path, 6))
    warn = {"warn": True}
    serial = _run(manifest, tmp_path / "j1.parquet", cache=False, settings=warn)
    assert _warnings_by_patient(serial) == _expected_warnings(6)
    assert list(serial.failures["patient_id"]) == ["GONE"]
    for method in ("fork", "spawn"):  # workers forked from this process, and spawned
        os.environ["RADSIG_START_METHOD"] = method
        try:
            pooled = _run(manifest, tmp_path / f"{method}.parquet", cache=False, jobs=2,
                          settings=warn)
        finally:
            del os.environ["RADSIG_START_METHOD"]
        pd.testing.assert_frame_equal(serial.table, pooled.table)
        pd.testing.assert_frame_equal(serial.failures, pooled.failures)
        assert _warnings_by_patient(pooled) == _expected_warnings(6)
        workers = {int(pid) for pid in pooled.provenance["execution"]["peak_rss_mb_per_worker"]}
        assert workers and os.getpid() not in workers
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        dask = _run(manifest, tmp_path / "dask.parquet", cache=tmp_path / "c", settings=warn,
                    scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(serial.table, dask.table)
    pd.testing.assert_frame_equal(serial.failures, dask.failures)
    assert _warnings_by_patient(dask) == _expected_warnings(6)
    assert dask.provenance["execution"]["scheduler"].startswith("dask:")
    workers = {int(pid) for pid in dask.provenance["execution"]["peak_rss_mb_per_worker"]}
    assert workers and os.getpid() not in workers  # ran in the cluster's worker processes


def test_workers_run_a_case_in_as_many_threads_as_their_share_of_cores(tmp_path):
    """Process-pool workers get os.cpu_count() // jobs threads per case (RADSIG_THREADS), a Dask
    worker thread one: two feature threads per case in each of two workers on two cores only
    oversubscribed them."""
    from distributed import LocalCluster

    manifest = toy.make_cohort(tmp_path, 2)
    pooled = _run(manifest, tmp_path / "p.parquet", cache=False, jobs=2,
                  settings={"threads": True})
    assert set(pooled.table["case_threads"]) == {float(max(1, (os.cpu_count() or 1) // 2))}
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                      dashboard_address=None) as cluster:
        dask = _run(manifest, tmp_path / "d.parquet", cache=False, settings={"threads": True},
                    scheduler=cluster.scheduler_address)
    assert set(dask.table["case_threads"]) == {1.0}


def test_threaded_dask_worker_attributes_warnings_to_their_own_case(tmp_path):
    """Two cases run at once in threads of one Dask worker: each keeps its own warnings."""
    from distributed import LocalCluster

    manifest = _with_a_missing_case(toy.make_cohort(tmp_path, 4))
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster:
        dask = _run(manifest, tmp_path / "dask.parquet", cache=False,
                    settings={"warn": True, "delay": 0.2}, scheduler=cluster.scheduler_address)
    assert _warnings_by_patient(dask) == _expected_warnings(4)
    assert list(dask.failures["patient_id"]) == ["GONE"]
    assert list(dask.table["patient_id"]) == ["P000", "P001", "P002", "P003"]


def test_inline_run_uses_one_itk_and_blas_thread_and_restores_them(tmp_path, monkeypatch):
    for var in ("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "OMP_NUM_THREADS",
                "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    manifest = toy.make_cohort(tmp_path, 2)
    seen = []

    def probe(image, mask, settings=None, **kw):
        seen.append(toy.thread_pools())
        return toy.toy_extract(image, mask, settings, **kw)

    before = toy.thread_pools()
    extract_cohort(manifest, FAST, tmp_path / "f.parquet", extractor=probe, progress=False,
                   cache=False)
    assert [set(pools.values()) for pools in seen] == [{1}, {1}]
    assert toy.thread_pools() == before


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_pool_workers_run_itk_and_blas_single_threaded(method):
    """No oversubscription with jobs > 1: NumPy's OpenBLAS is loaded before the initializer
    runs (inherited from the parent, or while unpickling it), so the environment variables
    alone would leave it at one thread per core."""
    import concurrent.futures as cf
    import multiprocessing

    from radsig.cohort._worker import init_worker

    with cf.ProcessPoolExecutor(1, initializer=init_worker, initargs=(1,),
                                mp_context=multiprocessing.get_context(method)) as pool:
        pools = pool.submit(toy.thread_pools).result()
    assert pools["itk"] == 1
    assert set(pools.values()) == {1}, pools


def test_workers_fork_only_while_no_other_thread_runs(monkeypatch):
    """Forking while another thread holds a lock (the progress bar writing to stderr) would
    leave that lock held in the worker: spawn then; an explicit choice wins; typos are errors."""
    import threading

    from radsig.cohort import runner
    from radsig.exceptions import ConfigError

    monkeypatch.delenv("RADSIG_START_METHOD", raising=False)
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert runner._start_method() == ("fork" if sys.platform.startswith("linux") else "spawn")
    monkeypatch.setattr(threading, "active_count", lambda: 2)
    assert runner._start_method() == "spawn"
    monkeypatch.setenv("RADSIG_START_METHOD", "forkserver")
    assert runner._start_method() == "forkserver"
    monkeypatch.setenv("RADSIG_START_METHOD", "frok")
    with pytest.raises(ConfigError, match="RADSIG_START_METHOD"):
        runner._start_method()


def test_forked_workers_give_the_engines_jobs1_table(tmp_path, monkeypatch):
    """The real engine (preloaded in the parent, then forked) gives the inline run's table."""
    monkeypatch.delenv("RADSIG_START_METHOD", raising=False)
    manifest = toy.make_cohort(tmp_path, 3)
    params = {"interpolation": {"spacing": [1.0, 1.0, 1.0]},
              "discretisation": {"method": "fbn", "bin_number": 8}}
    serial = extract_cohort(manifest, params, tmp_path / "j1.parquet", progress=False, cache=False)
    monkeypatch.setenv("RADSIG_START_METHOD", "fork")
    pooled = extract_cohort(manifest, params, tmp_path / "j2.parquet", jobs=2, progress=False,
                            cache=False)
    assert serial.counts["ok"] == 3 and len(serial.feature_columns) > 100
    pd.testing.assert_frame_equal(serial.table, pooled.table)


@pytest.mark.slow
def test_a_worker_crash_fails_only_its_case(tmp_path):
    manifest = toy.make_cohort(tmp_path, 6)
    result = extract_cohort(manifest, FAST, tmp_path / "f.parquet", jobs=2, progress=False,
                            extractor=toy.crashing_extract, cache=tmp_path / "c")
    assert list(result.table["patient_id"]) == ["P000", "P002", "P003", "P004", "P005"]
    (failure,) = result.failures.to_dict("records")
    assert (failure["patient_id"], failure["stage"]) == ("P001", "worker")
    assert "died twice" in failure["message"]


def test_progress_reporter_sees_every_case_and_rich_bar_runs(tmp_path, capsys):
    from radsig.cohort.progress import RichProgress

    manifest = toy.make_cohort(tmp_path, 3)

    class Recorder:
        def start(self, total, already_failed=0):
            self.total, self.seen = total, []

        def update(self, record):
            self.seen.append(record["status"])

        def stop(self):
            self.stopped = True

    rec = Recorder()
    _run(manifest, tmp_path / "a.parquet", progress=rec)
    assert (rec.total, rec.seen, rec.stopped) == (3, ["computed"] * 3, True)
    _run(manifest, tmp_path / "b.parquet", progress=True)
    err = capsys.readouterr().err
    assert "3/3" in err and "0 failed" in err and "3 cached" in err
    assert isinstance(RichProgress().description, str)


def test_bad_scheduler_address_is_a_config_error(cohort, tmp_path):
    from radsig.exceptions import ConfigError

    with pytest.raises(ConfigError, match="cannot connect to the Dask scheduler"):
        _run(cohort, tmp_path / "f.parquet", scheduler="nonsense-protocol://nowhere:1")
    assert not (tmp_path / "f.parquet").exists()


def test_no_pool_is_started_when_every_row_fails_in_the_manifest(tmp_path, monkeypatch):
    """Rows rejected by the manifest never reach a worker: no process pool is started for them."""
    from radsig.cohort import runner

    pd.DataFrame({"patient_id": ["A", "B"], "image": ["a.nii.gz", ""], "mask": ["", "b.nii.gz"]}
                 ).to_csv(tmp_path / "manifest.csv", index=False)

    def no_pool(*args, **kwargs):
        raise AssertionError("a process pool was started for no case")

    monkeypatch.setattr(runner.cf, "ProcessPoolExecutor", no_pool)
    result = _run(tmp_path / "manifest.csv", tmp_path / "f.parquet", jobs=2, cache=False)
    assert result.counts["failed"] == 2 and result.table.empty
    assert set(result.failures["stage"]) == {"manifest"}
