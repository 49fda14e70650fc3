"""The catalogue of bad input: helpers shared by its test files.

Each test gives radsig one kind of bad or suspicious input and checks what a user sees: the exit
status, one ``error: …`` line naming the file / key / case and the cause (no traceback), no
partial output with earlier output intact — or, for valid but suspicious input, the named
``warning: …`` line. Commands run in this process through :func:`radsig.cli.main.main` (the same
code path as the console script, without ~1 s of interpreter start per call); the few checks that
need a real process (kill -9) use the ``run_cli`` fixture.
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

sys.path.insert(0, str(Path(__file__).parent))  # the tests import _badinput

from _badinput import Result, write  # noqa: E402


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run ``radsig ARGS…`` in this process; returns a :class:`Result`."""
    from radsig.cli import main as cli_main

    def run(*args) -> Result:
        monkeypatch.setattr(sys, "argv", ["radsig", *map(str, args)])
        cli_main._shown.clear()
        capsys.readouterr()
        code = 0
        saved = warnings.showwarning
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("always")
                try:
                    cli_main.main()
                except SystemExit as exit_:
                    code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        finally:
            warnings.showwarning = saved
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


@pytest.fixture
def case(tmp_path, image_factory):
    """A good (image, mask) pair written as .nii.gz; (image path, mask path, image, mask)."""
    image, mask = image_factory()
    return (write(image, tmp_path / "img.nii.gz"), write(mask, tmp_path / "msk.nii.gz"),
            image, mask)


@pytest.fixture
def sts_copy(sts, tmp_path):
    """A writable copy of one STS case folder: ``sts_copy("STS_002/CT/dicom")``."""
    def copy(rel: str) -> Path:
        dest = tmp_path / rel.replace("/", "_")
        shutil.copytree(sts / rel, dest)
        for p in [dest, *dest.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        return dest
    return copy


@pytest.fixture
def quick(tmp_path):
    """A settings file computing one small family (the input checks do not depend on it)."""
    path = tmp_path / "quick.yaml"
    path.write_text("families: [intensity_statistics, morphology]\n")
    return path
