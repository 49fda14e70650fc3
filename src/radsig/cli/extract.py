"""``radsig extract``: IBSI features of one image and mask."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

_HELP = """Extract IBSI features of one image and its ROI mask.

IMAGE and MASK are NIfTI, NRRD or MHA/MHD files on the same grid; IMAGE may also be a DICOM series folder and MASK an RTSTRUCT or DICOM SEG file (choose the ROI with --roi NAME or regex). Settings come from a YAML file (radsig IBSI settings, or a PyRadiomics parameter file); without --params the defaults are used. The table is written as CSV, or Parquet when --out ends in .parquet; without --out it is printed as CSV.

Examples:

\b
  radsig extract ct.nii.gz gtv.nii.gz --params params/ibsi/config_c.yaml --out features.csv
  radsig extract ct.nrrd labels.nrrd --label 2 --format wide --out features.parquet
  radsig extract image.nii.gz mask.nii.gz --params params/ibsi/dig_phantom.yaml
  radsig extract CT_SERIES_DIR RS.dcm --roi "GTV.*" --params params/ibsi/default_ct.yaml
"""


def _write(rows: list[tuple], columns: list[str], out: Optional[Path]) -> None:
    """The table as CSV/TSV (the ``csv`` module, in pandas' ``to_csv`` format: NaN as an empty
    field, floats as ``repr``) or Parquet (pandas)."""
    import sys

    from radsig.io.output import write_table

    suffix = "" if out is None else out.name.lower()
    if suffix.endswith((".parquet", ".pq", ".csv.gz")):
        import pandas as pd

        write_table(pd.DataFrame(rows, columns=columns), out)  # atomic
        return
    if out is None:
        write_csv(sys.stdout, rows, columns)
        return
    from radsig._atomic import atomic_write

    def _write_csv(tmp) -> None:
        with open(tmp, "w", newline="") as fh:
            write_csv(fh, rows, columns, sep="\t" if suffix.endswith(".tsv") else ",")

    atomic_write(out, _write_csv)  # whole or not at all: an earlier output is never half-overwritten


def _field(value):
    if isinstance(value, float) and value != value:
        return ""  # pandas writes NaN as an empty field
    return value


def write_csv(fh, rows, columns, sep: str = ",") -> None:
    """*rows* under *columns* as ``DataFrame(rows, columns=columns).to_csv(fh, index=False,
    sep=sep)`` writes them (tested byte for byte), without importing pandas."""
    import csv

    writer = csv.writer(fh, delimiter=sep, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_field(v) for v in row] for row in rows)


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

    from radsig.config import load_settings
    from radsig.exceptions import ConfigError
    from radsig.features.extractor import COLUMNS, extract_case_rows
    from radsig.io.output import check_output_file

    if fmt not in ("long", "wide"):
        raise ConfigError(f"--format must be 'long' or 'wide', got {fmt!r}")
    if out is not None:
        check_output_file(out)  # before any work: a bad --out is an error in the first second
    settings = load_settings(params)
    rows, _ = extract_case_rows(image, mask, settings, label=label, roi=roi)
    columns = COLUMNS
    if fmt == "wide":  # one row, one column per feature (as ``to_wide``)
        wide = {str(r[0]): float(r[4]) for r in rows}
        columns, rows = list(wide), [tuple(wide.values())]
    _write(rows, columns, out)


def register(app: typer.Typer) -> None:
    """Add ``extract`` to *app*."""
    app.command("extract", help=_HELP)(extract_command)
