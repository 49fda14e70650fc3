"""``radsig example <design>``: generate a published design's synthetic cohort and run its study file.

The study files live in the repository's ``examples/`` folder (``examples/<design>.yaml``); the
cohort is written to ``OUT/data`` next to a copy of the study file and its feature settings, and
the study outputs (``report.html``, ``results.json``, ``model.json`` …) to ``OUT``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml

from radsig.exceptions import ConfigError
from radsig.study.runner import Progress, StudyRun, run_study
from radsig.synth.designs import DESIGNS, make_design_cohort


def examples_dir() -> Path:
    """``$RADSIG_EXAMPLES`` if set, else ``examples/`` of the source checkout."""
    env = os.environ.get("RADSIG_EXAMPLES")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "examples"


def study_file(design: str) -> Path:
    path = examples_dir() / f"{design}.yaml"
    if design not in DESIGNS:
        raise ConfigError(f"unknown design {design!r}; available: {', '.join(DESIGNS)}")
    if not path.is_file():
        raise ConfigError(f"study file of design {design!r} not found: {path} "
                          "(set RADSIG_EXAMPLES to the folder holding the examples' YAML files)")
    return path


def run_example(design: str, out: str | Path, *, n_scale: float = 1.0, seed: int = 20240611,
                negative_control: bool = False, overrides: dict | None = None,
                progress: Progress | None = None, cache_dir: str | Path | None = None) -> StudyRun:
    """Generate ``design``'s cohort into ``out/data`` and run its study file into ``out``.

    ``overrides`` replaces top-level keys of the study file (e.g. ``{"bootstrap": 100}``, a shorter
    ``models`` list, or ``{"features": {...}}``) in the copy that is run; the tests use it to keep
    the reduced-size runs short. ``cache_dir`` is a feature cache shared with other runs (see
    :func:`radsig.study.runner.run_study`): the negative control has the same images as the run
    with the planted signal, so with a shared cache it extracts (and trains) nothing again.
    """
    src = study_file(design)
    out = Path(out)
    data = out / "data"
    cohort = make_design_cohort(
        design, data, n_scale=n_scale, seed=seed, negative_control=negative_control,
        progress=(lambda d, t: progress("generate cohort", d, t)) if progress else None)
    spec = yaml.safe_load(src.read_text(encoding="utf-8"))
    if overrides:
        spec.update(overrides)
        (data / "study.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    else:
        shutil.copyfile(src, data / "study.yaml")
    settings = spec["features"]["settings"]
    shutil.copyfile(src.parent / settings, data / Path(settings).name)
    notes = [f"Synthetic cohort of design {design!r} at {n_scale:g} × the published cohort sizes "
             f"({cohort.n_patients} patients, seed {seed}). Numbers differ from the paper: the data are simulated."]
    if negative_control:
        notes.append("Negative control: the immune latent behind every outcome was drawn independently of the "
                     "images, so image-based AUCs and C-indices should be compatible with 0.5.")
    extra = {"example": {"design": design, "n_patients": cohort.n_patients, "n_scale": n_scale,
                         "seed": seed, "negative_control": negative_control}, "notes": notes}
    return run_study(data / "study.yaml", out, progress=progress, extra=extra, cache_dir=cache_dir)
