"""Test helpers of the cohort tests: a seeded synthetic cohort on disk and a tiny extractor.

Importable by name (``tests/cohort`` is put on ``sys.path`` by conftest) so spawned worker
processes and Dask workers can unpickle ``toy_extract``.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radsig.exceptions import EmptyMaskError, ImageReadError, LabelNotFoundError


def write_case(folder: Path, name: str, seed: int, *, shape=(10, 12, 12), radius=None,
               n_lesions: int = 1) -> tuple[Path, Path]:
    """Write ``<name>_img.nii.gz`` (noisy) and ``<name>_seg.nii.gz`` (balls labelled 1..n)."""
    rng = np.random.default_rng(seed)
    img = rng.normal(100.0, 15.0, size=shape).astype(np.float32)
    mask = np.zeros(shape, dtype=np.uint8)
    zz, yy, xx = np.indices(shape)
    for lesion in range(1, n_lesions + 1):
        r = radius if radius is not None else rng.uniform(2.0, 3.5)
        c = [rng.uniform(r, s - 1 - r) for s in shape]
        ball = (zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2 <= r**2
        mask[ball] = lesion
        img[ball] += rng.normal(50.0 * lesion, 10.0, size=int(ball.sum()))
    image = sitk.GetImageFromArray(img)
    image.SetSpacing((0.8, 0.8, 1.5))
    seg = sitk.GetImageFromArray(mask)
    seg.CopyInformation(image)
    paths = folder / f"{name}_img.nii.gz", folder / f"{name}_seg.nii.gz"
    sitk.WriteImage(image, str(paths[0]))
    sitk.WriteImage(seg, str(paths[1]))
    return paths


def make_cohort(folder: Path, n: int, *, seed: int = 7, relative: bool = True,
                extra: bool = True) -> Path:
    """Write *n* cases and ``manifest.csv`` (relative paths, a carried ``age`` column)."""
    folder = Path(folder)
    (folder / "data").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        img, seg = write_case(folder / "data", f"p{i:03d}", seed + i)
        row = {"patient_id": f"P{i:03d}", "image": img.relative_to(folder) if relative else img,
               "mask": seg.relative_to(folder) if relative else seg, "modality": "CT",
               "centre": "A" if i % 2 else "B"}
        if extra:
            row["age"] = 50 + i
        rows.append(row)
    path = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def toy_extract(image, mask, settings=None, *, label=None, roi=None, case=None) -> pd.DataFrame:
    """Mean, maximum and volume of the ROI: the engine's interface, with its typed errors."""
    settings = settings or {}
    if settings.get("delay"):
        time.sleep(float(settings["delay"]))
    if settings.get("warn"):  # one warning naming the case, after the delay (overlaps in threads)
        warnings.warn(f"toy warning for {Path(image).name}", UserWarning, stacklevel=2)
    try:
        img = sitk.GetArrayFromImage(sitk.ReadImage(str(image)))
        reader = sitk.ReadImage(str(mask))
    except RuntimeError as err:
        raise ImageReadError(f"cannot read image: {str(err).splitlines()[0]}", case=case,
                             path=str(image), stage="read") from err
    seg = sitk.GetArrayFromImage(reader)
    roi_mask = seg == (label or 1) if label is not None else seg > 0
    if label is not None and not roi_mask.any() and seg.any():
        raise LabelNotFoundError(f"label {label} not in mask (found {sorted(set(seg.ravel()) - {0})})",
                                 case=case, path=str(mask), stage="mask")
    if not roi_mask.any():
        raise EmptyMaskError("the mask holds no voxel; check the segmentation", case=case,
                             path=str(mask), stage="mask")
    values = img[roi_mask].astype(np.float64)
    voxel = float(np.prod(reader.GetSpacing()))
    scale = float(settings.get("scale", 1.0))
    rows = [("stat_mean", "statistics", "Q4LE", None, values.mean() * scale),
            ("stat_max", "statistics", "84IY", None, values.max() * scale),
            ("morph_volume", "morphology", "RNU0", None, roi_mask.sum() * voxel)]
    if settings.get("threads"):  # how many threads one case's feature work would get here
        from radsig.features._threads import worker_threads

        rows.append(("case_threads", "execution", "", None, float(worker_threads())))
    return pd.DataFrame(rows, columns=["feature", "family", "ibsi_code", "aggregation_code", "value"])


def crashing_extract(image, mask, settings=None, **kw) -> pd.DataFrame:
    """Kill the worker process (as a segfault or the OOM killer would) for case p001."""
    import os

    if "p001_" in str(image):
        os._exit(3)
    return toy_extract(image, mask, settings, **kw)


def thread_pools() -> dict[str, int]:
    """Threads of SimpleITK and of each loaded BLAS/OpenMP pool in this process."""
    import threadpoolctl

    pools = {d["internal_api"]: d["num_threads"] for d in threadpoolctl.threadpool_info()}
    return pools | {"itk": sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()}
