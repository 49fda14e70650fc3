"""Two-thread execution of one case's shape and derived-image rows (PyRadiomics mode).

The C kernels (matrices, LoG, wavelet) and NumPy's inner loops release the GIL (SimpleITK's
filters do not), so the derived images of one case run side by side; rows come back in PyRadiomics' order.
"""

from __future__ import annotations

import itertools

from radsig.features._threads import run_threads
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
    done = run_threads(jobs, workers)
    parts = dict(zip(order, [done[0]] + done[2:], strict=True))
    rows += done[1]
    for k in range(len(tasks)):
        rows += parts[k]
    return rows


THREADED_MAX_VOXELS = 200_000  # ROI size up to which shape and images run in two threads


def threaded_max_voxels() -> int:
    """ROI size (voxels) up to which a case's images run in two threads. The NumPy matrices keep
    voxel-pair arrays of ~13 × the ROI per image, so two images at once are limited to
    :data:`THREADED_MAX_VOXELS`; the C kernels keep only ROI-sized arrays, so ten times more."""
    from radsig.features.pyradiomics._matrices import _C

    return THREADED_MAX_VOXELS * (10 if _C is not None else 1)
