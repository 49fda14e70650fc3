"""``radsig dicom ls|convert``: see what a PACS export holds and turn it into NIfTI."""

from __future__ import annotations

from pathlib import Path

import typer

dicom_app = typer.Typer(help="Inspect and convert DICOM series, RTSTRUCT and SEG files.",
                        no_args_is_help=True)


def _overrides(weight, height, sex, dose, injection_time, half_life) -> dict:
    raw = {"weight": weight, "height": height, "sex": sex, "dose": dose,
           "injection_time": injection_time, "half_life": half_life}
    return {k: v for k, v in raw.items() if v is not None}


@dicom_app.command("ls")
def ls(
    folder: Path = typer.Argument(..., help="Folder searched recursively for DICOM files."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the image series and the ROIs of each RTSTRUCT/SEG under FOLDER.

    Example: radsig dicom ls /data/patient001
    """
    import json

    from rich.console import Console
    from rich.table import Table

    from radsig.io.dicom import scan_dicom

    index = scan_dicom(folder)
    if as_json:
        typer.echo(json.dumps({"series": [s.to_dict() for s in index.series],
                               "structures": [s.to_dict() for s in index.structures],
                               "unreadable": [{"path": p, "reason": r} for p, r in index.unreadable]},
                              indent=2))
        return
    table = Table(title=f"DICOM series under {folder}")
    for col in ("patient", "modality", "series UID", "size", "spacing (mm)", "slices",
                "frame of reference", "notes"):
        table.add_column(col)
    for s in index.series:
        notes = []
        if s.uneven_spacing:
            notes.append("uneven spacing")
        if s.gantry_tilt_deg > 0.5:
            notes.append(f"tilt {s.gantry_tilt_deg:.1f}°")
        spacing = f"{s.pixel_spacing[1]:.3g}×{s.pixel_spacing[0]:.3g}×{abs(s.slice_spacing or 0):.3g}"
        table.add_row(s.patient_id, s.modality, s.series_uid, f"{s.columns}×{s.rows}", spacing,
                      str(s.n_slices), s.frame_of_reference, ", ".join(notes))
    console = Console()
    console.print(table)
    for st in index.structures:
        console.print(f"{st.modality} {st.path}: ROIs {', '.join(st.rois)} (frame of reference {st.frame_of_reference})")
    for path, reason in index.unreadable:
        console.print(f"[yellow]skipped {path}: {reason}[/yellow]")


@dicom_app.command("convert")
def convert(
    folder: Path = typer.Argument(..., help="Folder with the image series (and its RTSTRUCT/SEG)."),
    out: Path = typer.Option(..., "--out", help="Case folder to write image.nii.gz, mask.nii.gz, image.json."),
    roi: str = typer.Option(None, "--roi", help="ROI name or regex in the RTSTRUCT/SEG."),
    mask: Path = typer.Option(None, "--mask", help="RTSTRUCT/SEG file (default: the one found in FOLDER)."),
    series: str = typer.Option(None, "--series", help="Series UID when FOLDER holds several."),
    suv: str = typer.Option("bw", "--suv", help="PET normalisation: bw, lbm, bsa or none."),
    suv_weight: float = typer.Option(None, "--suv-weight", help="Patient weight (kg) if the tag is missing."),
    suv_height: float = typer.Option(None, "--suv-height", help="Patient height (m) for lbm/bsa."),
    suv_sex: str = typer.Option(None, "--suv-sex", help="Patient sex (M/F) for lbm."),
    suv_dose: float = typer.Option(None, "--suv-dose", help="Injected dose (Bq)."),
    suv_injection_time: str = typer.Option(None, "--suv-injection-time", help="Injection time HHMMSS."),
    suv_half_life: float = typer.Option(None, "--suv-half-life", help="Half-life (s)."),
    allow_gaps: bool = typer.Option(False, "--allow-gaps",
                                    help="Stack a series with a missing slice at the median "
                                         "spacing (warning) instead of refusing it."),
    skip_unreadable: bool = typer.Option(False, "--skip-unreadable",
                                         help="Go on when files in FOLDER cannot be read as DICOM "
                                              "(warning) instead of refusing."),
) -> None:
    """Write image.nii.gz (+ mask.nii.gz with --roi) and a JSON sidecar of the DICOM metadata.

    Example: radsig dicom convert /data/p001/PET --roi GTV --out cases/p001_pet
    """
    from radsig.io.convert import convert_case

    written = convert_case(folder, out, roi=roi, mask=mask, series_uid=series, suv=suv,
                           suv_overrides=_overrides(suv_weight, suv_height, suv_sex, suv_dose,
                                                    suv_injection_time, suv_half_life),
                           allow_gaps=allow_gaps, skip_unreadable=skip_unreadable)
    for path in written:
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the ``dicom`` command group to *app*."""
    app.add_typer(dicom_app, name="dicom")
