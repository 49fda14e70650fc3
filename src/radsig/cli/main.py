"""The ``radsig`` command: one typer app; each command group lives in its own module.

A command module exposes ``register(app)``; this file only wires them and turns
:class:`radsig.exceptions.RadsigError` into a one-line message with exit code 2.
"""

from __future__ import annotations

import sys

import typer

from radsig import __version__
from radsig.cli import cohort as _cohort
from radsig.cli import dicom as _dicom
from radsig.cli import extract as _extract
from radsig.cli import serve as _serve
from radsig.cli import study as _study

app = typer.Typer(
    name="radsig",
    help=(
        "radsig: from a cohort's scans and outcomes to a validated radiomics signature.\n\n"
        "Examples:\n\n"
        "  radsig demo --out radsig_demo\n\n"
        "  radsig extract image.nii.gz mask.nii.gz --params params/ibsi/config_c.yaml --out f.csv"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"radsig {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """radsig: radiomics signatures for immunotherapy response and prognosis."""


for _module in (_extract, _dicom, _cohort, _study, _serve):
    _module.register(app)


def main() -> None:
    """Entry point of the ``radsig`` console script."""
    from radsig.exceptions import RadsigError

    try:
        app()
    except RadsigError as err:
        typer.secho(f"error: {err}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    except KeyboardInterrupt:
        typer.secho("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
