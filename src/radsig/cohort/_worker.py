"""What runs in a worker (process pool, Dask worker or inline): one case → one record.

Kept import-light at module level so a spawned worker can set its thread limits in
:func:`init_worker` before NumPy/SimpleITK load. Every outcome, including an unexpected bug in a
feature family, comes back as a plain dict; only ``KeyboardInterrupt``/``SystemExit`` propagate.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from radsig.cohort.manifest import Case, failure_record

# RADSIG_THREADS: one case's feature families / derived images in this many threads
# (radsig.features._threads); with as many workers as cores, more only oversubscribed them
# (160 cases, --jobs 2 on 2 cores: 11.0 s with one thread per case, 11.8-12.6 s with two)
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "RADSIG_THREADS")


@dataclass(frozen=True)
class CaseTask:
    """Everything a worker needs for one case (picklable; sent to processes and Dask)."""

    case: Case
    settings: Any
    settings_hash: str
    cache_root: str | None
    extractor: Callable | None
    extractor_name: str
    version: str


def die_with_parent(parent: int | None) -> None:
    """End this process when *parent* dies, even by ``kill -9`` (which runs no clean-up there).

    Linux: the kernel's parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``, through ctypes:
    no library wraps it in the standard library); elsewhere a daemon thread that watches the
    parent id. A parent already gone before the call ends the process at once. Cache entries are
    written atomically, so a killed worker leaves no partial file.
    """
    import signal

    if parent is None:
        return
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:  # 1 = PR_SET_PDEATHSIG
                if os.getppid() != parent:
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="radsig-parent-watch").start()


def init_worker(threads: int, parent: int | None = None) -> None:
    """Process-pool initializer: die with the parent, limit native threads and let the parent
    handle Ctrl-C.

    A worker ignores SIGINT so an interrupted run finishes (and caches) the case it is on
    while the parent stops handing out new ones.
    """
    import signal

    die_with_parent(parent)

    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import SimpleITK as sitk

    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    import radsig.features  # noqa: F401 - workers start importing while the parent reads the manifest

    _limit_loaded_thread_pools(threads)


def one_thread_per_case() -> None:
    """On a Dask worker (``client.run``): each of its threads runs a case, so a case's feature
    work runs in one thread (unless the worker's environment says otherwise)."""
    os.environ.setdefault("RADSIG_THREADS", "1")


def preload_engine() -> None:
    """Import the default extractor and every feature family (and the SciPy/scikit-image modules
    they load), so workers forked afterwards start with them loaded; ~0.5 s, once per process."""
    from radsig.features import (
        extractor,  # noqa: F401
        registry,
    )

    for family in registry.FAMILY_MODULES:
        registry.get_family(family)


def ready() -> int:
    """A no-op task: submitted first so that a pool starts its workers at once."""
    return os.getpid()


def _limit_loaded_thread_pools(threads: int) -> None:
    """Limit BLAS/OpenMP pools that were loaded before the environment variables were set.

    Unpickling this module's initializer already imports NumPy (through pandas), so its
    OpenBLAS pool was sized from the core count before :func:`init_worker` ran; the variables
    only reach libraries loaded later. threadpoolctl (a scikit-learn dependency) resizes the
    loaded ones; without it the variables are all there is.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn requires it
        return
    threadpool_limits(limits=threads)


def _peak_rss_mb() -> float:
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _default_extractor() -> Callable:
    from radsig.features import extract_case

    return extract_case


def _to_wide(long_table) -> dict[str, float]:
    from radsig.features import to_wide

    return to_wide(long_table)


def _fail(case: Case, err: BaseException, stage: str, path: Any = None) -> dict:
    message = getattr(err, "message", None) or str(err) or type(err).__name__
    stage = getattr(err, "stage", None) or stage
    path = getattr(err, "path", None) or path
    return failure_record(patient_id=case.patient_id, lesion_id=case.lesion_id,
                          modality=case.modality, row=case.row, stage=stage,
                          input=str(path) if path is not None else None,
                          error_type=type(err).__name__, message=message)


class _WarningRouter:
    """Per-thread warning capture (``warnings.catch_warnings`` is not thread-safe).

    ``catch_warnings(record=True)`` swaps the process-global ``warnings.showwarning``: with two
    cases running in threads of one Dask worker, one case's warnings land in the other's list
    (or are lost, and the global hook is left pointing at a finished case). Instead, while any
    thread captures, one global hook routes each warning to the list of the thread that
    raised it; warnings of other threads go to the previous hook. The global state is set when
    the first capture starts and restored when the last one ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._active = 0
        self._saved: tuple[Any, list] | None = None

    def _show(self, message, category, filename, lineno, file=None, line=None) -> None:
        sink = getattr(self._local, "sink", None)
        if sink is not None:
            sink.append(warnings.WarningMessage(message, category, filename, lineno, file, line))
        elif self._saved is not None:
            self._saved[0](message, category, filename, lineno, file, line)

    @contextmanager
    def capture(self) -> Iterator[list]:
        """Record every warning raised by this thread inside the block (filter ``always``)."""
        with self._lock:
            if self._active == 0:
                self._saved = (warnings.showwarning, warnings.filters[:])
                warnings.showwarning = self._show
                warnings.simplefilter("always")
            self._active += 1
        sink: list = []
        outer = getattr(self._local, "sink", None)
        self._local.sink = sink
        try:
            yield sink
        finally:
            self._local.sink = outer
            with self._lock:
                self._active -= 1
                if self._active == 0 and self._saved is not None:
                    showwarning, filters = self._saved
                    warnings.showwarning = showwarning
                    warnings.filters[:] = filters
                    warnings._filters_mutated()  # noqa: SLF001 - what catch_warnings does too
                    self._saved = None


_WARNINGS = _WarningRouter()


def _extract(task: CaseTask) -> tuple[Any, list[str]]:
    """The long table and the warnings (e.g. a family reported missing) of one case."""
    import pandas as pd

    extractor = task.extractor or _default_extractor()
    case = task.case
    with _WARNINGS.capture() as caught:
        table = extractor(str(case.image), str(case.mask), task.settings, label=case.label,
                          roi=case.roi, case=case.name)
    messages = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    if not isinstance(table, pd.DataFrame) or "feature" not in table or "value" not in table:
        raise TypeError(f"extractor {task.extractor_name} returned {type(table).__name__}, "
                        "expected a long DataFrame with feature/value columns")
    return table, messages


def _store(cache, key: str, long_table, messages: list[str], task: CaseTask) -> None:
    import json

    case = task.case
    meta = {"patient_id": case.patient_id, "case": case.name, "image": str(case.image),
            "mask": str(case.mask), "settings_hash": task.settings_hash,
            "version": task.version, "warnings": json.dumps(messages)}
    try:
        cache.put(key, long_table, meta)
    except OSError as err:  # a full disk must not lose the features just computed
        warnings.warn(f"case {case.name}: could not write the cache entry ({err}); the case "
                      "will be recomputed on the next run", RuntimeWarning, stacklevel=2)


def run_case(task: CaseTask) -> dict:
    """Extract (or fetch from cache) one case.

    Returns
    -------
    dict
        ``status`` (``"computed"``, ``"cached"`` or ``"failed"``), ``row``, ``features``
        (feature → value) and ``warnings`` or ``failure`` (a failure record), the input
        hashes, the cache key, ``seconds`` (wall) and ``cpu_seconds`` of the case, ``pid`` and
        ``peak_rss_mb`` of the worker.
    """
    from radsig.cohort.cache import CaseCache, FileHasher, case_key

    start, cpu_start = time.perf_counter(), time.process_time()
    case = task.case
    cache = CaseCache(task.cache_root) if task.cache_root else None
    out: dict[str, Any] = {"row": case.row, "pid": os.getpid(), "key": None,
                           "image_hash": None, "mask_hash": None}
    try:
        hasher = cache.hasher if cache else FileHasher(None)
        out["image_hash"] = hasher.hash_path(case.image, case=case.name, role="image")
        out["mask_hash"] = hasher.hash_path(case.mask, case=case.name, role="mask")
        key = case_key(image_hash=out["image_hash"], mask_hash=out["mask_hash"],
                       settings_hash=task.settings_hash, version=task.version, label=case.label,
                       roi=case.roi, extractor=task.extractor_name)
        out["key"] = key
        hit = cache.get(key) if cache else None
        out["status"] = "cached" if hit is not None else "computed"
        if hit is None:
            long_table, out["warnings"] = _extract(task)
            if cache:
                _store(cache, key, long_table, out["warnings"], task)
        else:
            long_table, out["warnings"] = hit
        out["features"] = _to_wide(long_table)
    except Exception as err:  # noqa: BLE001 - a failing case must never stop the cohort
        stage = "input" if out["key"] is None else "extract"
        out["status"] = "failed"
        out["failure"] = _fail(case, err, stage, case.image if stage == "extract" else None)
    out["seconds"] = time.perf_counter() - start
    out["cpu_seconds"] = time.process_time() - cpu_start
    out["peak_rss_mb"] = _peak_rss_mb()
    return out
