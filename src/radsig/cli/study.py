"""``radsig study``, ``radsig demo``, ``radsig predict`` and ``radsig validate-study``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer


class _Progress:
    """A rich progress bar per stage, on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console(stderr=True)
        self.bar = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=self.console, transient=False)
        self.tasks: dict[str, int] = {}

    def __enter__(self) -> _Progress:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(stage, total=max(total, 1))
        self.bar.update(self.tasks[stage], completed=done if total > 1 or done else 1, total=max(total, 1))


def _summary(run, started: float) -> None:
    res = run.results["models"]
    lines = []
    for name, m in res.items():
        for c, met in m["cohorts"].items():
            key = "auc" if "auc" in met else "c_index"
            if met.get(key):
                r = met[key]
                lines.append(f"  {name:<16} {c:<14} {key} {r['estimate']:.3f} "
                             f"({r['ci_low']:.3f}–{r['ci_high']:.3f})")
    typer.echo("\n".join(lines))
    typer.echo(f"done in {time.perf_counter() - started:.0f} s")
    typer.echo(f"report: {run.report_path.resolve()}")


def study(
    study_file: Path = typer.Argument(..., help="Study file (YAML)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Run a whole study: features, models on training, validation, report.html, model.json."""
    from radsig.io.output import check_output_folder
    from radsig.study.runner import run_study, validate

    started = time.perf_counter()
    check_output_folder(out, create=False)  # a bad --out fails now, not after the extraction
    validate(study_file)  # fail on a bad study file before any progress display or work
    if quiet:
        run = run_study(study_file, out)
    else:
        with _Progress() as progress:
            run = run_study(study_file, out, progress=progress)
    _summary(run, started)


def demo(
    out: Path = typer.Option(Path("radsig_demo"), "--out", "-o", help="Output folder."),
    n: int = typer.Option(320, "--n", help="Number of synthetic patients (all cohorts)."),
    seed: int = typer.Option(20240601, "--seed", help="Random seed of the synthetic cohort."),
    negative_control: bool = typer.Option(
        False, "--negative-control", help="Switch the phenotype → image link off (AUCs should be ≈ 0.5)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Generate a synthetic multi-centre immunotherapy PET/CT cohort and run the demo study on it."""
    from radsig.io.output import check_output_folder
    from radsig.study.demo import run_demo

    check_output_folder(out, create=False)
    started = time.perf_counter()
    if quiet:
        run = run_demo(out, n=n, seed=seed, negative_control=negative_control)
    else:
        with _Progress() as progress:
            run = run_demo(out, n=n, seed=seed, negative_control=negative_control, progress=progress)
    _summary(run, started)


def example(
    design: str = typer.Argument(..., help="mcrc_petct, crlm_ct_survival, nsclc_pdl1, npc_ihc or hcc_habitat_ensemble."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    n_scale: float = typer.Option(1.0, "--n-scale", help="Fraction of the published cohort sizes (0-1]."),
    seed: int = typer.Option(20240611, "--seed", help="Random seed of the synthetic cohort."),
    negative_control: bool = typer.Option(
        False, "--negative-control", help="Images carry no outcome information (AUC/C-index should be ≈ 0.5)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Generate a published design's synthetic cohort and run its study file (examples/<design>.yaml)."""
    from radsig.io.output import check_output_folder
    from radsig.study.examples import run_example

    check_output_folder(out, create=False)
    started = time.perf_counter()
    kw = dict(n_scale=n_scale, seed=seed, negative_control=negative_control)
    if quiet:
        run = run_example(design, out, **kw)
    else:
        with _Progress() as progress:
            run = run_example(design, out, progress=progress, **kw)
    _summary(run, started)


def predict(
    model: Path = typer.Argument(..., help="model.json written by `radsig study`."),
    image: Optional[Path] = typer.Argument(None, help="Image file (single-modality models)."),
    mask: Optional[Path] = typer.Argument(None, help="Mask file."),
    manifest: Optional[Path] = typer.Option(None, "--manifest", help="CSV: patient_id, modality, image, mask."),
    clinical: Optional[Path] = typer.Option(None, "--clinical", help="Clinical table for nomograms."),
    modality: Optional[str] = typer.Option(None, "--modality", help="Modality of IMAGE."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write predictions CSV here."),
    allow_intensity_shift: bool = typer.Option(
        False, "--allow-intensity-shift",
        help="Score images whose ROI intensities lie far outside the training images (warn instead of refusing)."),
    features: Optional[Path] = typer.Option(None, "--features", help="Feature table (CSV/Parquet) instead of images."),
) -> None:
    """Score new patients with a frozen model: Rad-score, probability / risk, risk group."""
    import warnings

    from radsig.exceptions import ConfigError, RadsigWarning
    from radsig.study.predict import predict as _predict

    if manifest is None and features is None and (image is None or mask is None):
        raise ConfigError("give IMAGE and MASK, --manifest FILE or --features TABLE")
    if out is not None:
        from radsig.io.output import check_output_file, write_table

        check_output_file(out, suffixes={".csv": "csv"})  # before any (slow) extraction
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RadsigWarning)
        table = _predict(model, manifest=manifest, image=image, mask=mask, modality=modality,
                         clinical=clinical, allow_intensity_shift=allow_intensity_shift,
                         features=features)
    for w in caught:  # one `warning:` line each, radsig's and the libraries' alike (no source paths)
        typer.echo(f"warning: {' '.join(str(w.message).split())}", err=True)
    if out is not None:
        write_table(table, out)  # whole or not at all (temporary file + rename)
        typer.echo(f"predictions: {out.resolve()} ({len(table)} patients)")
    else:
        typer.echo(table.to_csv(index=False), nl=False)


def validate_study(study_file: Path = typer.Argument(..., help="Study file (YAML).")) -> None:
    """Check a study file, every path, column and class, before any extraction."""
    from radsig.study.extra_features import skip_unavailable_families
    from radsig.study.runner import validate

    spec, data, settings = validate(study_file)
    # a family whose package is missing: one warning line (the study skips it)
    spec, _notes = skip_unavailable_families(spec, source=str(study_file))
    for name, cd in data.items():
        what = f"{cd.features.shape[1]:>4} table features" if cd.features is not None else f"{len(cd.manifest):>4} images"
        typer.echo(f"  {name:<14} {cd.role:<13} {len(cd.clinical):>4} patients, {what}")
    typer.echo(f"study file OK: {study_file} ({len(spec.models)} models, extractor {settings.extractor})")


def register(app: typer.Typer) -> None:
    """Add this module's commands to *app*."""
    app.command("study")(study)
    app.command("demo")(demo)
    app.command("example")(example)
    app.command("predict")(predict)
    app.command("validate-study")(validate_study)
