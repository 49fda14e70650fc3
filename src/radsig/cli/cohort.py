"""``radsig cohort extract`` and ``radsig cohort aggregate``.

Exit codes of ``cohort extract``: 0 every case extracted; 1 completed with failures (listed in
``<out stem>.failures.csv``, the table holds the other cases); 2 invalid input (manifest,
settings, options), nothing run; 130 interrupted (finished cases are cached: rerun the same
command to resume).
"""

from __future__ import annotations

from pathlib import Path

import typer

cohort_app = typer.Typer(help="Extract features for a whole cohort; combine lesions per patient.",
                         no_args_is_help=True)


@cohort_app.command("extract")
def extract(
    manifest: Path = typer.Argument(..., help="CSV/Parquet: patient_id, image, mask "
                                    "[, label|roi, modality, lesion_id, centre, …]."),
    params: Path = typer.Option(..., "--params", help="Settings or PyRadiomics parameter YAML."),
    out: Path = typer.Option(..., "--out", help="Feature table (.parquet, or .csv)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Worker processes on this machine."),
    scheduler: str = typer.Option(None, "--scheduler",
                                  help="Dask scheduler address (tcp://host:8786); overrides --jobs."),
    cache: Path = typer.Option(None, "--cache",
                               help="Per-case cache folder [default: .radsig-cache beside --out]."),
    csv: bool = typer.Option(False, "--csv", help="Also write the table as CSV."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Live progress bar."),
) -> None:
    """Extract every case of MANIFEST into one table; failing cases are listed, never fatal.

    Exit code 0: all cases done; 1: completed with failures (see <out>.failures.csv);
    2: invalid input; 130: interrupted (rerun the same command to resume from the cache).
    """
    from radsig.cohort import extract_cohort

    try:
        result = extract_cohort(manifest, params, out, jobs=jobs, scheduler=scheduler,
                                cache=cache, progress=progress, csv=csv)
    except KeyboardInterrupt:
        typer.secho("interrupted: finished cases are cached; rerun the same command to resume",
                    err=True)
        raise typer.Exit(130) from None
    _print_case_warnings(result.provenance.get("inputs", []))
    typer.echo(result.summary)
    typer.echo(f"table: {result.paths['table']}")
    if result.n_failed:
        typer.echo(f"failures: {result.paths['failures']}")
        raise typer.Exit(1)


def _print_case_warnings(inputs: list[dict], limit: int = 20) -> None:
    """The cases' warnings (recorded in the provenance file) as ``warning:`` lines, one per case
    and message; past *limit*, a count."""
    lines = []
    for rec in inputs:
        for text in rec.get("warnings") or []:
            text = " ".join(str(text).split())
            lines.append(text if text.startswith("case ") else f"case {rec.get('patient_id')}: {text}")
    for line in lines[:limit]:
        typer.secho(f"warning: {line}", err=True, fg=typer.colors.YELLOW)
    if len(lines) > limit:
        typer.secho(f"warning: {len(lines) - limit} more case warning(s) in the provenance file",
                    err=True, fg=typer.colors.YELLOW)


@cohort_app.command("aggregate")
def aggregate(
    features: Path = typer.Argument(..., help="Feature table from `radsig cohort extract`."),
    out: Path = typer.Option(..., "--out", help="Per-patient table (.parquet or .csv)."),
    method: str = typer.Option("largest", "--method",
                               help="largest | weighted (volume-weighted mean) | max."),
    volume_feature: str = typer.Option(None, "--volume-feature",
                                       help="Lesion volume column [default: morph_volume, or "
                                            "PyRadiomics shape volume]."),
) -> None:
    """Combine a patient's lesions into one row (per modality when there is one)."""
    from radsig.cohort.aggregate import aggregate_file

    table = aggregate_file(features, out, method=method, volume_feature=volume_feature)
    typer.echo(f"{len(table)} patient rows ({method}) written to {out}")


def register(app: typer.Typer) -> None:
    """Add the ``cohort`` command group to *app*."""
    app.add_typer(cohort_app, name="cohort")
