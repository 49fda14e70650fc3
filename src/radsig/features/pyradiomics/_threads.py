"""Two-thread execution of one case's shape and derived-image rows (PyRadiomics mode).

The C kernels (matrices, LoG, wavelet) and NumPy's inner loops release the GIL (SimpleITK's
filters do not), so the derived images of one case run side by side; rows come back in PyRadiomics' order.
"""

from __future__ import annotations

import itertools
import os
import threading

from radsig.features.pyradiomics._neighbourhood import shared_neighbourhood


def parallel_rows(shape, one, tasks, hood, roi_mask, workers) -> list[tuple]:
    """Rows of ``shape()`` then of ``one(task)`` per task, computed in *workers* threads.

    The C kernels and NumPy's loops release the GIL. The ROI's neighbour structure is
    created first, so the workers share one (its parts are built once, under a lock). Images are
    started interleaved by filter (a wavelet and a LoG image side by side, so one thread is not
    left waiting for the other's wavelet transform); rows are put back in PyRadiomics' order.
    """
    rows: list[tuple] = []
    for kw in {id(t[2]): t[2] for t in tasks}.values():
        shared_neighbourhood(hood, roi_mask, kw.get("distances"))
    families: dict[str, list[int]] = {}
    for k, (prefix, _, _) in enumerate(tasks):
        families.setdefault(prefix.split("-")[0], []).append(k)
    order = [k for group in itertools.zip_longest(*families.values()) for k in group
             if k is not None]
    jobs = [lambda task=tasks[order[0]]: one(task), shape]
    jobs += [lambda task=tasks[k]: one(task) for k in order[1:]]
    done = _run_threads(jobs, workers)
    parts = dict(zip(order, [done[0]] + done[2:], strict=True))
    rows += done[1]
    for k in range(len(tasks)):
        rows += parts[k]
    return rows


def _run_threads(jobs, workers: int) -> list:
    """Results of the callables *jobs* run by *workers* threads, started in list order.

    A few lines of ``threading`` rather than ``concurrent.futures`` (whose import pulls in
    ``logging``: ~5 ms of a short process). The first exception, in job order, is raised after
    all jobs have ended.
    """
    results: list = [None] * len(jobs)
    errors: list = [None] * len(jobs)
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


THREADED_MAX_VOXELS = 200_000  # ROI size up to which shape and images run in two threads


def threaded_max_voxels() -> int:
    """ROI size (voxels) up to which a case's images run in two threads. The NumPy matrices keep
    voxel-pair arrays of ~13 × the ROI per image, so two images at once are limited to
    :data:`THREADED_MAX_VOXELS`; the C kernels keep only ROI-sized arrays, so ten times more."""
    from radsig.features.pyradiomics._matrices import _C

    return THREADED_MAX_VOXELS * (10 if _C is not None else 1)


def workers_for_images() -> int:
    """Threads for the derived images: ``RADSIG_THREADS`` if set, else up to 2 of the CPUs this
    process may use (more brings little: the per-image work is short and partly holds the GIL)."""
    env = os.environ.get("RADSIG_THREADS")
    if env:
        return max(int(env), 1)
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(min(n, 2), 1)
