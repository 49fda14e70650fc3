"""``radsig extract``: IBSI features of one image and mask."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

_HELP = """Extract IBSI features of one image and its ROI mask.

IMAGE and MASK are NIfTI, NRRD or MHA/MHD files on the same grid; IMAGE may also be a DICOM series folder and MASK an RTSTRUCT or DICOM SEG file (choose the ROI with --roi NAME or regex). Settings come from a YAML file (radsig IBSI settings, or a PyRadiomics parameter file); without --params the defaults are used. The table is written as CSV, or Parquet when --out ends in .parquet; without --out it is printed as CSV.

Examples:

  radsig extract ct.nii.gz gtv.nii.gz --params params/ibsi/config_c.yaml --out features.csv

  radsig extract ct.nrrd labels.nrrd --label 2 --format wide --out features.parquet

  radsig extract image.nii.gz mask.nii.gz --params params/ibsi/dig_phantom.yaml

  radsig extract CT_SERIES_DIR RS.dcm --roi "GTV.*" --params params/ibsi/default_ct.yaml
"""


def _write(table, out: Optional[Path]) -> None:
    import sys

    from radsig.io.output import write_table

    if out is None:
        table.to_csv(sys.stdout, index=False)
        return
    write_table(table, out)


def extract_command(
    image: Path = typer.Argument(..., help="Image file (NIfTI, NRRD, MHA/MHD)."),
    mask: Path = typer.Argument(..., help="ROI mask / label map on the image's grid."),
    params: Optional[Path] = typer.Option(None, "--params", "-p",
                                          help="Settings YAML (e.g. params/ibsi/config_c.yaml)."),
    label: Optional[int] = typer.Option(None, "--label", "-l",
                                        help="ROI label in the mask (default: all non-zero)."),
    roi: Optional[str] = typer.Option(None, "--roi", "-r",
                                      help="ROI name or regex in an RTSTRUCT / SEG mask."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Output file: .csv or .parquet (default: stdout)."),
    fmt: str = typer.Option("long", "--format", "-f",
                            help="long: one row per feature; wide: one row, one column each."),
) -> None:
    """Extract IBSI features of one image and mask."""
    import warnings

    import pandas as pd

    from radsig.config import load_settings
    from radsig.exceptions import ConfigError, RadsigWarning
    from radsig.features import extract_case, to_wide
    from radsig.io.output import check_output_file

    if fmt not in ("long", "wide"):
        raise ConfigError(f"--format must be 'long' or 'wide', got {fmt!r}")
    if out is not None:
        check_output_file(out)  # before any work: a bad --out is an error in the first second
    settings = load_settings(params)
    with warnings.catch_warnings():
        warnings.simplefilter("always", RadsigWarning)  # each case's warnings, every time
        table = extract_case(image, mask, settings, label=label, roi=roi)
    if fmt == "wide":
        table = pd.DataFrame([to_wide(table)])
    _write(table, out)


def register(app: typer.Typer) -> None:
    """Add ``extract`` to *app*."""
    app.command("extract", help=_HELP)(extract_command)
