"""``radsig filter``: the response map of one IBSI-2 filter on an image's own grid."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

_HELP = """Apply an IBSI-2 filter to an image and write its response map.

The map lies on the image's own grid (same size, spacing, origin and direction) as float32: the settings' interpolation, cropping and re-segmentation are not applied. PARAMS is a radsig IBSI settings file whose filters: section holds the IBSI-2 filter (an entry with filter: mean, log, laws, gabor, wavelet or simoncelli); when it holds several, choose one with --filter NAME.

Examples:

  radsig filter tests/data/ibsi2/phase1/phantoms/checkerboard/image.nii.gz --params params/ibsi2/phase1/1a1.yaml --out 1a1.nii.gz

  radsig filter ct.nii.gz --params my_settings.yaml --filter log_s1.5 --out log.nii.gz
"""


def filter_command(
    image: Path = typer.Argument(..., help="Image file (NIfTI, NRRD, MHA/MHD) or DICOM folder."),
    params: Path = typer.Option(..., "--params", "-p",
                                help="IBSI settings YAML with an IBSI-2 filter in filters:."),
    out: Path = typer.Option(..., "--out", "-o", help="Response map file (e.g. .nii.gz)."),
    name: Optional[str] = typer.Option(None, "--filter", help="Which filters: entry to apply "
                                                              "(needed when there are several)."),
) -> None:
    """Apply an IBSI-2 filter and write the response map."""
    import time

    import SimpleITK as sitk

    from radsig.config import load_settings
    from radsig.exceptions import ConfigError
    from radsig.io import read_image
    from radsig.preprocess.ibsi2_filters import filter_image

    settings = load_settings(params)
    img = read_image(image)
    start = time.perf_counter()
    response, used = filter_image(img, settings, name)
    seconds = time.perf_counter() - start
    try:
        sitk.WriteImage(response, str(out))
    except RuntimeError as err:
        raise ConfigError(f"{out}: cannot write the response map "
                          f"({str(err).strip().splitlines()[-1]})") from None
    typer.echo(f"{out}: filter {used}, {response.GetSize()[0]}x{response.GetSize()[1]}x"
               f"{response.GetSize()[2]} voxels, {seconds:.2f} s")


def register(app: typer.Typer) -> None:
    """Add ``filter`` to *app*."""
    app.command("filter", help=_HELP)(filter_command)
