"""``radsig demo``: generate the synthetic cohort, then run the shipped demo study on it."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from radsig.study.runner import Progress, StudyRun, run_study
from radsig.synth import make_demo_cohort


def demo_files() -> tuple[Path, Path]:
    """The packaged demo study file and feature settings."""
    base = resources.files("radsig.study") / "demo"
    return Path(str(base / "study.yaml")), Path(str(base / "features.yaml"))


def run_demo(out: str | Path, *, n: int = 320, seed: int = 20240601, negative_control: bool = False,
             progress: Progress | None = None, overrides: dict | None = None,
             cache_dir: str | Path | None = None) -> StudyRun:
    """Write the cohort to ``out/data`` and the study outputs to ``out``.

    ``overrides`` replaces top-level keys of the study file in the copy that is run (e.g. a shorter
    ``models`` list); ``cache_dir`` is a feature cache shared with other runs (see
    :func:`radsig.study.runner.run_study`) — the negative control has the same images as the
    default run, so with a shared cache it extracts nothing again.
    """
    out = Path(out)
    data = out / "data"
    cohort = make_demo_cohort(
        data, n=n, seed=seed, negative_control=negative_control,
        progress=(lambda d, t: progress("generate cohort", d, t)) if progress else None,
    )
    from radsig.synth.biology import make_demo_biology

    make_demo_biology(data, cohort.clinical, seed=seed)  # expression matrix + CD3/CD8 IHC table
    study_file, settings = demo_files()
    if overrides:
        import yaml

        spec = yaml.safe_load(study_file.read_text(encoding="utf-8"))
        spec.update(overrides)
        (data / "study.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    else:
        shutil.copyfile(study_file, data / "study.yaml")
    shutil.copyfile(settings, data / "features.yaml")
    notes = []
    if negative_control:
        notes.append("Negative control: the same images, but the immune phenotype behind every outcome was "
                     "drawn independently of the image latent, so image-based AUCs should be compatible with 0.5.")
    extra = {"demo": {"n_patients": cohort.n_patients, "seed": seed,
                      "negative_control": negative_control}, "notes": notes}
    return run_study(data / "study.yaml", out, progress=progress, extra=extra, cache_dir=cache_dir)
