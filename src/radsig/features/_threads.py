"""Two threads for one case's feature work, shared by the IBSI engine and PyRadiomics mode.

The C kernels (texture matrices, convex hull, bounding volumes, filters) and NumPy's inner loops
and FFTs release the GIL, so independent parts of one case (feature families, derived images)
run side by side on a second core.
"""

from __future__ import annotations

import os
import threading


def run_threads(jobs, workers: int) -> list:
    """Results of the callables *jobs* run by *workers* threads, started in list order (put the
    longest first), returned in list order.

    A few lines of ``threading`` rather than ``concurrent.futures`` (whose import pulls in
    ``logging``: ~5 ms of a short process). The first exception, in job order, is raised after
    all jobs have ended.
    """
    results: list = [None] * len(jobs)
    errors: list = [None] * len(jobs)
    if workers <= 1 or len(jobs) <= 1:
        for k, job in enumerate(jobs):
            try:
                results[k] = job()
            except BaseException as exc:  # noqa: BLE001 - the same order as with threads
                errors[k] = exc
                break
    else:
        pending = iter(range(len(jobs)))
        lock = threading.Lock()

        def work():
            while True:
                with lock:
                    k = next(pending, None)
                if k is None:
                    return
                try:
                    results[k] = jobs[k]()
                except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                    errors[k] = exc

        threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return results


def worker_threads() -> int:
    """Threads for one case: ``RADSIG_THREADS`` if set, else up to 2 of the CPUs this process
    may use (more brings little: the per-family work is short and partly holds the GIL)."""
    env = os.environ.get("RADSIG_THREADS")
    if env:
        return max(int(env), 1)
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(min(n, 2), 1)
