"""The synthetic multi-centre immunotherapy cohort behind ``radsig demo``.

What is planted (and so what a correct study must recover):

* a hidden immune activity ``z ~ N(0, 1)``; phenotype "inflamed" when ``z > 0.3`` else "desert";
* the tumour's CT texture and PET uptake follow an image latent ``s`` equal to ``z`` plus a
  little noise; with ``negative_control=True`` the images stay the same (same seed, same files)
  but the ``z`` behind the outcomes is redrawn independently of ``s``;
* objective response, OS and PFS (with administrative and random censoring) depend on ``z``
  and on clinical factors (ECOG, stage); a CD8-like immune score measures ``z`` with noise;
* four centres with different scanners (spacing, noise, HU offset, PET calibration):
  training and internal validation from centres A and B, external validation from C and an
  immunotherapy cohort from D.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from radsig.synth.phantoms import CENTRES, make_lesion

COHORTS: tuple[tuple[str, str, tuple[str, ...], float], ...] = (
    # name, role, centres, fraction of patients
    ("training", "training", ("A", "B"), 0.44),
    ("internal", "internal", ("A", "B"), 0.19),
    ("external", "external", ("C",), 0.20),
    ("immunotherapy", "immunotherapy", ("D",), 0.17),
)


@dataclass
class DemoCohort:
    """Where the generated data lies."""

    root: Path
    manifests: dict[str, Path] = field(default_factory=dict)
    clinical: dict[str, Path] = field(default_factory=dict)
    n_patients: int = 0
    negative_control: bool = False


def _cohort_sizes(n: int) -> list[int]:
    sizes = [max(12, int(round(n * frac))) for *_, frac in COHORTS]
    sizes[0] += max(0, n - sum(sizes))
    return sizes


def _patients(rng: np.random.Generator, n: int, negative_control: bool, seed: int = 0) -> pd.DataFrame:
    z = rng.standard_normal(n)
    u = rng.standard_normal(n)  # immune infiltration not visible on imaging
    s = z + 0.35 * rng.standard_normal(n)
    if negative_control:  # same image latent (same images), outcomes from an independent immune activity
        z = np.random.default_rng([seed, 7919]).standard_normal(n)
    age = np.clip(rng.normal(63.0, 9.0, n), 30, 88).round()
    sex = rng.choice(["female", "male"], size=n, p=[0.42, 0.58])
    ecog = rng.choice([0, 1], size=n, p=[0.55, 0.45])
    stage = rng.choice(["III", "IV"], size=n, p=[0.4, 0.6])
    stage_iv = (stage == "IV").astype(float)
    cd8 = 0.5 * z + 0.87 * u + 0.3 * rng.standard_normal(n)
    immune_score = np.round(50 + 15 * cd8, 1)
    logit = -0.5 + 2.8 * z + 1.2 * u - 0.8 * ecog - 0.4 * stage_iv
    response = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-logit))).astype(int)
    hazard = (1.0 / 20.0) * np.exp(-0.9 * z - 0.4 * u + 0.5 * stage_iv + 0.35 * ecog)
    os_time = rng.exponential(1.0 / hazard)
    pfs_time = np.minimum(os_time, rng.exponential(1.0 / (2.2 * hazard)))
    censor = np.minimum(rng.uniform(18.0, 60.0, n), rng.exponential(120.0, n))
    return pd.DataFrame({
        "age": age, "sex": sex, "ecog": ecog, "stage": stage,
        "immune_score": immune_score,
        "cd8_core": np.round(np.exp(5.0 + 0.6 * cd8 + 0.3 * rng.standard_normal(n)), 1),
        "cd8_margin": np.round(np.exp(5.6 + 0.6 * cd8 + 0.3 * rng.standard_normal(n)), 1),
        "phenotype": np.where(z > 0.3, "inflamed", "desert"),
        "response": response,
        "os_months": np.round(np.minimum(os_time, censor), 2),
        "os_event": (os_time <= censor).astype(int),
        "pfs_months": np.round(np.minimum(pfs_time, censor), 2),
        "pfs_event": (pfs_time <= censor).astype(int),
        "_s": s, "_z": z,
    })


def _write_case(rng: np.random.Generator, row: pd.Series, images: Path) -> list[dict]:
    # lesion size is independent of every outcome, so the negative control has no image link
    radius = rng.uniform(8.0, 13.0)
    ct, pet, mask = make_lesion(rng, CENTRES[row["centre"]], s=float(row["_s"]), radius_mm=radius)
    pid = row["patient_id"]
    paths = {k: images / f"{pid}_{k}.nii.gz" for k in ("ct", "pet", "mask")}
    for key, img in (("ct", ct), ("pet", pet), ("mask", mask)):
        sitk.WriteImage(img, str(paths[key]), useCompression=True)
    return [
        {"patient_id": pid, "modality": mod.upper(), "image": f"images/{paths[mod].name}",
         "mask": f"images/{paths['mask'].name}", "label": 1}
        for mod in ("ct", "pet")
    ]


def make_demo_cohort(
    out: str | Path,
    *,
    n: int = 320,
    seed: int = 20240601,
    negative_control: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> DemoCohort:
    """Generate the demo cohort under ``out`` (images, manifests, clinical tables).

    Parameters
    ----------
    out : folder to write into (created); manifests hold paths relative to it.
    n : total number of patients over the four cohorts (at least 48).
    seed : random seed; the same seed gives the same files.
    negative_control : when True the immune activity behind every outcome is redrawn independently
        of the image latent, so no image feature carries information about response or survival;
        the images are the same files as without it (same seed).
    progress : called as ``progress(done, total)`` after each patient.
    """
    from radsig.exceptions import ConfigError

    if n < 48:
        raise ConfigError(f"demo cohort size n={n} is too small; use n >= 48 (default 320)")
    root = Path(out)
    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    sizes = _cohort_sizes(n)
    n = sum(sizes)
    patients = _patients(rng, n, negative_control, seed)
    result = DemoCohort(root=root, n_patients=n, negative_control=negative_control)
    start, done = 0, 0
    for (name, _role, centres, _frac), size in zip(COHORTS, sizes, strict=False):
        block = patients.iloc[start:start + size].copy()
        start += size
        block.insert(0, "patient_id", [f"{name[:3].upper()}{i + 1:04d}" for i in range(size)])
        block.insert(1, "centre", rng.choice(list(centres), size=size))
        rows = []
        for _, row in block.iterrows():
            rows.extend(_write_case(rng, row, images))
            done += 1
            if progress is not None:
                progress(done, n)
        result.manifests[name] = root / f"{name}_manifest.csv"
        result.clinical[name] = root / f"{name}_clinical.csv"
        pd.DataFrame(rows).to_csv(result.manifests[name], index=False)
        block.drop(columns=["_s", "_z"]).to_csv(result.clinical[name], index=False)
    return result
