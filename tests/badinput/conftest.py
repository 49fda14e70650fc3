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
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the tests import _badinput

from _badinput import Result, write  # noqa: E402


@pytest.fixture
def cli(cli):
    """The root ``cli`` runner, its result as a :class:`Result` (with the catalogue's helpers)."""

    def run(*args) -> Result:
        return Result(*cli(*args))

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
