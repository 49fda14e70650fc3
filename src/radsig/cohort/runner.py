"""Run a cohort: manifest → per-case workers (inline, process pool or Dask) → one feature table.

One code path drives all three back-ends: they are ``concurrent.futures`` executors
(:class:`_InlineExecutor`, :class:`~concurrent.futures.ProcessPoolExecutor` (workers forked from
this process once it has loaded the engine, or spawned; see :func:`_start_method`), and
``distributed.Client.get_executor()``), fed through a bounded window of in-flight cases so
memory stays bounded whatever the cohort size. Each case is isolated in
:func:`radsig.cohort._worker.run_case`; its cache entry is written atomically by the worker as
soon as it finishes, so a run killed at any point resumes with every finished case intact.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import json
import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

import radsig
from radsig._typing import PathLike
from radsig.cohort import _atomic, provenance
from radsig.cohort._worker import CaseTask, init_worker, preload_engine, ready, run_case
from radsig.cohort.cache import FileHasher, _digest_text, default_cache_dir
from radsig.cohort.manifest import Manifest, failure_record, load_manifest
from radsig.exceptions import ConfigError

#: name of the default per-case function (resolved in the workers, so that with ``jobs > 1``
#: the parent never pays for importing the feature engine)
DEFAULT_EXTRACTOR = "radsig.features.extract_case"
FAILURE_COLUMNS = ["patient_id", "lesion_id", "modality", "row", "input", "stage", "error_type",
                   "message"]


@dataclass(frozen=True)
class CohortResult:
    """Outcome of :func:`extract_cohort`.

    Attributes
    ----------
    table : DataFrame
        One row per successful (patient_id, lesion_id, modality): the manifest's columns except
        the image/mask paths, then one column per feature.
    failures : DataFrame
        One row per failed manifest row (columns of ``failures.csv``).
    provenance : dict
        The provenance document also written beside the table.
    feature_columns : list of str
        Which columns of ``table`` are features.
    paths : dict of str to Path
        ``table``, ``failures``, ``provenance`` (and ``csv`` when asked).
    counts : dict of str to int
        ``cases`` (manifest rows), ``ok``, ``computed``, ``cached``, ``failed``.
    """

    table: pd.DataFrame
    failures: pd.DataFrame
    provenance: dict
    feature_columns: list[str]
    paths: dict[str, Path]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def n_failed(self) -> int:
        """Number of manifest rows that failed."""
        return self.counts.get("failed", 0)

    @property
    def summary(self) -> str:
        """One line for the user: ``completed`` or ``completed with N failures``."""
        c = self.counts
        head = "completed" if not c["failed"] else f"completed with {c['failed']} failures"
        return (f"{head}: {c['ok']} of {c['cases']} cases extracted "
                f"({c['computed']} computed, {c['cached']} from cache)")


class _InlineExecutor(cf.Executor):
    """Runs each submitted call at once in this process (``jobs=1``): no pickling, no spawn."""

    def submit(self, fn, /, *args, **kwargs):  # noqa: D102 - concurrent.futures API
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:  # noqa: BLE001 - delivered through the future
            future.set_exception(err)
        return future


def _callable_name(fn: Callable) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _settings_hash(settings: Any) -> str:
    """The engine's hash for settings objects; a canonical-JSON digest for a custom extractor's
    plain settings (dicts, None)."""
    if settings is not None and not isinstance(settings, dict):
        from radsig.config import settings_hash

        return settings_hash(settings)
    canonical = json.dumps(provenance.settings_to_json(settings), sort_keys=True, default=str)
    return _digest_text(canonical)


def _resolve_settings(settings: Any, use_engine: bool) -> tuple[Any, str, str | None]:
    source = None
    if isinstance(settings, (str, os.PathLike)):
        source = str(Path(settings).resolve())
        if not Path(settings).is_file():
            raise ConfigError(f"settings file {source} not found; pass --params with an existing "
                              "YAML file (e.g. params/ibsi/config_c.yaml)")
        from radsig.config import load_settings

        settings = load_settings(settings)
    elif use_engine:  # dict, None (= defaults) or a settings object
        from radsig.config import load_settings

        settings = load_settings(settings)
    return settings, _settings_hash(settings), source


def _connect(address: str):
    from distributed import Client

    try:
        return Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError) as err:
        raise ConfigError(f"cannot connect to the Dask scheduler at {address!r} ({err}); "
                          "check --scheduler (e.g. tcp://host:8786) and that the scheduler "
                          "is running") from err


@contextmanager
def _single_threaded_natives():
    """Run SimpleITK filters, BLAS and OpenMP on one thread for the inline (``jobs=1``) back-end.

    Cases are cropped to the ROI, and on such small volumes ITK's threading costs more than it
    gains (bench/COHORT.md: ``--jobs 1`` is faster and uses less CPU with one ITK thread);
    OpenBLAS's (and any OpenMP pool's) second thread only spins on the engine's small products
    (40 CT-sized cases: same wall time, 25 % less CPU). An explicit
    ``ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS`` or ``OMP/OPENBLAS/MKL_NUM_THREADS`` in the
    environment is respected; the previous settings are restored afterwards.
    """
    from contextlib import ExitStack

    with ExitStack() as stack:
        if not os.environ.get("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"):
            import SimpleITK as sitk

            previous = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
            sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)
            stack.callback(sitk.ProcessObject.SetGlobalDefaultNumberOfThreads, previous)
        if not any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                               "MKL_NUM_THREADS")):
            try:
                from threadpoolctl import threadpool_limits
            except ImportError:  # pragma: no cover - scikit-learn requires it
                pass
            else:
                stack.enter_context(threadpool_limits(limits=1))
        yield


START_METHODS = ("fork", "spawn", "forkserver")


def _start_method() -> str:
    """How worker processes start: ``RADSIG_START_METHOD`` if set, else *fork* where it is safe.

    A forked worker starts in milliseconds with the engine already imported (the parent loads it
    once, :func:`~radsig.cohort._worker.preload_engine`); a spawned one starts a new interpreter
    and imports pandas, SciPy and the engine again (~1 s, then a slower first case). On a 40-case
    cohort that start-up is a tenth of the ``--jobs 2`` wall time (bench/COHORT.md). Forking is
    only safe while this process runs no other thread (a thread holding a lock, e.g. the progress
    bar writing to stderr, would leave that lock held in the child forever), so *spawn* is used
    whenever another thread is alive, and off Linux.
    """
    import sys
    import threading

    env = os.environ.get("RADSIG_START_METHOD", "").strip().lower()
    if env:
        if env not in START_METHODS:
            raise ConfigError(f"RADSIG_START_METHOD={env!r} is not one of {', '.join(START_METHODS)}")
        return env
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


@contextmanager
def _backend(jobs: int, scheduler: Any, preload: bool = True):
    """Yield ``(make_executor, window, label)`` for the chosen back-end.

    *preload*: the default extractor is used, so a forking parent imports the engine first.
    """
    if scheduler is not None:
        from distributed import Client

        client = scheduler if isinstance(scheduler, Client) else _connect(scheduler)
        try:
            threads = max(1, sum(client.nthreads().values()))
            from radsig.cohort._worker import one_thread_per_case

            client.run(one_thread_per_case)
            yield (lambda: client.get_executor(pure=False)), 2 * threads, f"dask:{client.scheduler.address}"
        finally:
            if client is not scheduler:
                client.close()
        return
    if jobs <= 1:
        with _single_threaded_natives():
            yield _InlineExecutor, 1, "inline"
        return
    import multiprocessing

    threads = max(1, (os.cpu_count() or 1) // jobs)

    def make() -> cf.Executor:
        method = _start_method()  # per pool: a replacement pool may start under the progress bar
        if method == "fork" and preload:
            preload_engine()
        pool = cf.ProcessPoolExecutor(max_workers=jobs, initializer=init_worker,
                                      initargs=(threads, os.getpid()),
                                      mp_context=multiprocessing.get_context(method))
        pool.submit(ready)  # start the workers now, before the caller starts any thread
        return pool

    yield make, 2 * jobs, f"processes:{jobs}"


def _crash_record(task: CaseTask, err: BaseException) -> dict:
    case = task.case
    if isinstance(err, cf.BrokenExecutor):
        message = ("the worker process died twice while running this case (crash or out of "
                   "memory); rerun to retry, or lower --jobs. A script that calls extract_cohort "
                   "with jobs > 1 needs an `if __name__ == \"__main__\":` guard")
    else:
        message = f"{type(err).__name__}: {err}"
    return {"row": case.row, "status": "failed", "key": None, "image_hash": None,
            "mask_hash": None, "pid": None, "seconds": None, "peak_rss_mb": None,
            "failure": failure_record(patient_id=case.patient_id, lesion_id=case.lesion_id,
                                      modality=case.modality, row=case.row, stage="worker",
                                      input=str(case.image), error_type=type(err).__name__,
                                      message=message)}


def _drive(make_executor: Callable[[], cf.Executor], tasks: list[CaseTask], window: int,
           on_record: Callable[[dict], None], executor: cf.Executor | None = None) -> None:
    """Run *tasks* with at most *window* in flight (on *executor*, else a new one).

    When a worker process dies, the pool is replaced and the cases it had in flight are retried
    once, each alone (so an innocent case is not blamed for its neighbour); a case that kills
    its worker again is recorded as a ``worker`` failure.
    """
    queue = collections.deque((task, 0) for task in tasks)
    executor = make_executor() if executor is None else executor
    pending: dict[cf.Future, tuple[CaseTask, int]] = {}
    try:
        while queue or pending:
            while queue and len(pending) < window:
                if queue[0][1] and pending:
                    break  # a retried case runs alone, so a second crash is its own
                task, tries = queue.popleft()
                pending[executor.submit(run_case, task)] = (task, tries)
                if tries:
                    break
            done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            lost: list[tuple[CaseTask, int]] = []
            for future in done:
                task, tries = pending.pop(future)
                try:
                    on_record(future.result())
                except cf.BrokenExecutor:
                    lost.append((task, tries))
                except Exception as err:  # noqa: BLE001 - e.g. Dask KilledWorker
                    on_record(_crash_record(task, err))
            if lost:  # a worker died: every case in flight is lost with the pool
                lost += pending.values()
                pending.clear()
                for task, tries in lost:
                    if tries == 0:
                        queue.append((task, 1))
                    else:
                        on_record(_crash_record(task, cf.BrokenExecutor()))
                executor.shutdown(wait=False, cancel_futures=True)
                executor = make_executor()
    except BaseException:
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


def output_paths(out: PathLike, *, csv: bool = False) -> dict[str, Path]:
    """Where :func:`extract_cohort` writes: the table, ``<stem>.failures.csv``,
    ``<stem>.provenance.json`` and, with *csv*, ``<stem>.csv``."""
    out = Path(out).expanduser().resolve()
    paths = {"table": out, "failures": out.with_name(f"{out.stem}.failures.csv"),
             "provenance": out.with_name(f"{out.stem}.provenance.json")}
    if csv and out.suffix.lower() != ".csv":
        paths["csv"] = out.with_suffix(".csv")
    return paths


def _assemble(manifest: Manifest, records: dict[int, dict]) -> tuple[pd.DataFrame, list[str]]:
    ok_rows = sorted(r for r, rec in records.items() if rec["status"] != "failed")
    meta = manifest.table.iloc[[r - 1 for r in ok_rows]][manifest.carried_columns]
    features = pd.DataFrame([records[r]["features"] for r in ok_rows], dtype="float64")
    clash = [c for c in features.columns if c in meta.columns]
    if clash:
        raise ConfigError(f"manifest column(s) {', '.join(clash)} have the name of a feature; "
                          "rename them in the manifest")
    table = pd.concat([meta.reset_index(drop=True), features.reset_index(drop=True)], axis=1)
    return table, [str(c) for c in features.columns]


def _failures_table(manifest: Manifest, records: dict[int, dict]) -> pd.DataFrame:
    rows = list(manifest.failures) + [rec["failure"] for rec in records.values()
                                      if rec["status"] == "failed"]
    table = pd.DataFrame(rows, columns=FAILURE_COLUMNS)
    return table.sort_values("row", kind="stable").reset_index(drop=True)


def _inputs(manifest: Manifest, records: dict[int, dict]) -> list[dict]:
    failed_rows = {f["row"] for f in manifest.failures}
    inputs = []
    for case in manifest.cases:
        rec = records.get(case.row, {})
        inputs.append({"row": case.row, "patient_id": case.patient_id, "lesion_id": case.lesion_id,
                       "modality": case.modality, "image": str(case.image), "mask": str(case.mask),
                       "label": case.label, "roi": case.roi,
                       "image_blake2b": rec.get("image_hash"), "mask_blake2b": rec.get("mask_hash"),
                       "cache_key": rec.get("key"), "status": rec.get("status", "not run"),
                       "seconds": rec.get("seconds"), "cpu_seconds": rec.get("cpu_seconds"),
                       "warnings": rec.get("warnings", [])})
    inputs += [{"row": r, "status": "failed"} for r in sorted(failed_rows)]
    return sorted(inputs, key=lambda x: x["row"])


def _counts(manifest: Manifest, records: dict[int, dict]) -> dict[str, int]:
    status = collections.Counter(rec["status"] for rec in records.values())
    failed = status["failed"] + len(manifest.failures)
    return {"cases": len(manifest.table), "ok": status["computed"] + status["cached"],
            "computed": status["computed"], "cached": status["cached"], "failed": failed}


def _peaks(records: dict[int, dict]) -> dict[str, float]:
    peaks: dict[str, float] = {}
    for rec in records.values():
        if rec.get("pid") is not None and rec.get("peak_rss_mb") is not None:
            key = str(rec["pid"])
            peaks[key] = round(max(peaks.get(key, 0.0), rec["peak_rss_mb"]), 1)
    return peaks


def _make_reporter(progress: Any):
    if progress is True:
        from radsig.cohort.progress import RichProgress

        return RichProgress()
    return progress or None


def _run_tasks(tasks: list[CaseTask], jobs: int, scheduler: Any, reporter: Any, *, total: int,
               already_failed: int) -> tuple[dict[int, dict], str]:
    """Run every task on the chosen back-end; records keyed by manifest row, and its label."""
    records: dict[int, dict] = {}

    def on_record(rec: dict) -> None:
        records[rec["row"]] = rec
        if reporter:
            reporter.update(rec)

    preload = bool(tasks) and tasks[0].extractor is None
    with _backend(jobs, scheduler, preload) as (make_executor, window, label):
        # workers start before the progress bar's thread does (see _start_method)
        executor = make_executor() if tasks else None
        if reporter:
            try:
                reporter.start(total, already_failed=already_failed)
            except BaseException:
                if executor is not None:
                    executor.shutdown(wait=False, cancel_futures=True)
                raise
        try:
            if tasks:
                _drive(make_executor, tasks, window, on_record, executor)
        finally:
            if reporter:
                reporter.stop()
    return records, label


def extract_cohort(manifest: PathLike | pd.DataFrame | Manifest, settings: Any,
                   out: PathLike, *, jobs: int = 1, scheduler: Any = None,
                   cache: PathLike | bool | None = None, progress: Any = True, csv: bool = False,
                   extractor: Callable | None = None) -> CohortResult:
    """Extract features for every case of a manifest; failures are recorded, never fatal.

    Parameters
    ----------
    manifest : path, DataFrame or Manifest
        The cohort (see :mod:`radsig.cohort.manifest`).
    settings : path, dict, settings object or None
        A settings/parameter file or object for :func:`radsig.config.load_settings`.
    out : path
        Feature table (``.parquet``, or ``.csv``). ``<stem>.failures.csv`` and
        ``<stem>.provenance.json`` are written beside it. All writes are atomic.
    jobs : int, default 1
        Worker processes on this machine (1 = in this process).
    scheduler : str or distributed.Client, optional
        Address of a Dask scheduler (or a client); overrides *jobs*.
    cache : path, bool or None
        Per-case cache folder; ``None`` = ``.radsig-cache`` beside *out*; ``False`` = no cache
        (then an interrupted run cannot resume).
    progress : bool or object
        ``True`` = live rich progress bar on stderr; or an object with ``start/update/stop``.
    csv : bool
        Also write the table as CSV.
    extractor : callable, optional
        Per-case function with the signature of :func:`radsig.features.extract_case`
        (default). It must be importable by name in worker processes.

    Returns
    -------
    CohortResult

    Raises
    ------
    ConfigError
        Invalid manifest or settings (nothing is run).
    KeyboardInterrupt
        Re-raised after the in-flight cases are stopped; finished cases stay cached.
    """
    started = provenance.utc_now()
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}")
    from radsig.io.output import check_output_file, check_output_folder

    # where the run writes is checked first: a bad --out or --cache fails before any work
    check_output_file(out, suffixes={".parquet": "parquet", ".pq": "parquet", ".csv": "csv"})
    paths = output_paths(out, csv=csv)
    cache_root = None if cache is False else Path(
        cache if cache not in (None, True) else default_cache_dir(paths["table"])).resolve()
    if cache_root is not None:
        check_output_folder(cache_root, option="--cache")
    man = manifest if isinstance(manifest, Manifest) else load_manifest(manifest)
    settings, settings_hash, source = _resolve_settings(settings, use_engine=extractor is None)
    name = _callable_name(extractor) if extractor else DEFAULT_EXTRACTOR
    if name == "radsig.features.extractor.extract_case":
        name = DEFAULT_EXTRACTOR  # passed explicitly: same cache entries as the default
    tasks = [CaseTask(case=c, settings=settings, settings_hash=settings_hash,
                      cache_root=str(cache_root) if cache_root else None, extractor=extractor,
                      extractor_name=name, version=radsig.__version__) for c in man.cases]
    records, label = _run_tasks(tasks, jobs, scheduler, _make_reporter(progress),
                                total=len(man.table), already_failed=len(man.failures))
    if cache_root:
        _atomic.remove_stale_temporaries(cache_root)
    table, feature_columns = _assemble(man, records)
    failures = _failures_table(man, records)
    counts = _counts(man, records)
    prov = provenance.build(
        manifest_path=str(man.path) if man.path else None,
        manifest_hash=FileHasher(None).hash_path(man.path) if man.path else None,
        settings=settings, settings_hash=settings_hash, settings_source=source, extractor=name,
        out=str(paths["table"]), jobs=jobs, scheduler=label if scheduler is not None else None,
        started=started, finished=provenance.utc_now(), inputs=_inputs(man, records),
        counts=counts, workers=_peaks(records))
    _write_outputs(paths, table, failures, prov, feature_columns)
    return CohortResult(table=table, failures=failures, provenance=prov,
                        feature_columns=feature_columns, paths=paths, counts=counts)


def _write_outputs(paths: dict[str, Path], table: pd.DataFrame, failures: pd.DataFrame,
                   prov: dict, feature_columns: list[str]) -> None:
    """Sidecars first, the table last: the table's presence means the run completed."""
    _atomic.write_csv(paths["failures"], failures)
    _atomic.write_text(paths["provenance"], json.dumps(prov, indent=2, default=str))
    if "csv" in paths:
        _atomic.write_csv(paths["csv"], table)
    if paths["table"].suffix.lower() == ".csv":
        _atomic.write_csv(paths["table"], table)
    else:
        meta = {"radsig.feature_columns": json.dumps(feature_columns),
                "radsig.settings_hash": prov["settings"]["hash"],
                "radsig.version": prov["radsig_version"]}
        _atomic.write_parquet(paths["table"], table, meta)
