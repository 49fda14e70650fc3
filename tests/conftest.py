"""Shared test fixtures: the test data folder, a CLI runner and a small image factory.

Every reference file the tests read lives in ``tests/data/`` (see ``tests/data/SOURCES.md``);
nothing is read from outside the clone. A missing file is a failure naming the file, never a
skip: :func:`data_file` and ``test_every_listed_data_file_is_present`` see to it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"


def data_file(relative: str | Path) -> Path:
    """``tests/data/<relative>``; a missing file fails the calling test with its path."""
    path = DATA / relative
    if not path.exists():
        pytest.fail(f"test data file missing: {path} (see tests/data/SOURCES.md)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    """The test data folder ``tests/data`` (IBSI phantoms, IBSI-2 maps, real public data).

    Laid out like the development data folder it was copied from (``ibsi/``, ``ibsi2/``,
    ``realdata/…``), so a test names a file the same way in either.
    """
    if not DATA.is_dir():
        pytest.fail(f"test data folder missing: {DATA}", pytrace=False)
    return DATA


@pytest.fixture(scope="session")
def sts(tmp_path_factory) -> Path:
    """The soft-tissue-sarcoma DICOM/NIfTI cases, unpacked from their ``.tar.xz`` archives.

    DICOM slices compress ~3x but no reader takes them compressed, so they are kept as
    archives and unpacked once per session; the folder holds ``STS_002/`` and ``STS_001_raw/``.
    """
    import tarfile

    out = tmp_path_factory.mktemp("sts_soft_tissue_sarcoma")
    for case in ("STS_002", "STS_001_raw"):
        archive = data_file(f"realdata/sts_soft_tissue_sarcoma/{case}.tar.xz")
        with tarfile.open(archive) as tar:
            tar.extractall(out, filter="data")
    return out


def _run_cli(*args: str, cwd: str | Path | None = None, timeout: float = 600,
             env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.setdefault("MPLBACKEND", "Agg")
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "radsig", *map(str, args)],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
    )


class CliResult:
    """What ``radsig ARGS…`` returned and printed; unpacks as ``(code, stdout, stderr)``."""

    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr

    @property
    def returncode(self) -> int:
        return self.code

    def __iter__(self):
        return iter((self.code, self.stdout, self.stderr))


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run ``radsig ARGS…`` in this process through :func:`radsig.cli.main.main` (the console
    script's code path without ~1 s of interpreter start per call); returns a :class:`CliResult`.
    Every warning is shown (none is deduplicated away by an earlier test)."""
    import warnings

    from radsig.cli import main as cli_main

    def run(*args) -> CliResult:
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
        return CliResult(code, out.out, out.err)

    return run


@pytest.fixture
def run_cli():
    """Run ``radsig ARGS…`` in a subprocess with this checkout's ``src`` first on the path."""
    return _run_cli


def make_image(shape=(12, 14, 16), spacing=(1.0, 1.0, 1.0), seed=42, radius=4.0, labels=1):
    """A seeded (image, mask) pair of SimpleITK images: noisy background, a ball-shaped ROI.

    ``shape`` and ``spacing`` are (z, y, x) like NumPy; returns sitk images.
    """
    import SimpleITK as sitk

    rng = np.random.default_rng(seed)
    img = rng.normal(40.0, 10.0, size=shape).astype(np.float32)
    zz, yy, xx = np.indices(shape)
    c = [(s - 1) / 2 for s in shape]
    ball = ((zz - c[0]) ** 2 + (yy - c[1]) ** 2 + (xx - c[2]) ** 2) <= radius**2
    img[ball] += rng.normal(60.0, 20.0, size=ball.sum())
    mask = ball.astype(np.uint8) * labels
    image = sitk.GetImageFromArray(img)
    image.SetSpacing(tuple(float(s) for s in spacing[::-1]))
    m = sitk.GetImageFromArray(mask)
    m.CopyInformation(image)
    return image, m


@pytest.fixture
def image_factory():
    """Factory of small seeded (image, mask) SimpleITK pairs; see :func:`make_image`."""
    return make_image
