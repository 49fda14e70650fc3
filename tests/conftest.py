"""Shared test fixtures: where ../shared lives, a CLI runner and a small image factory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RADSIG_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """The read-only ``../shared`` data folder (IBSI phantoms, real data)."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder not found at {SHARED} (set RADSIG_SHARED)")
    return SHARED


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
