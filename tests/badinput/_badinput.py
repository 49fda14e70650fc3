"""Helpers of the bad-input catalogue (imported by its tests; see conftest.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

REPO = Path(__file__).resolve().parents[2]
IBSI_PARAMS = REPO / "params" / "ibsi"


class Result:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr

    @property
    def errors(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.startswith("error: ")]

    @property
    def warnings(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.startswith("warning: ")]


def assert_error(result: Result, *needles: str, code: int = 2) -> str:
    """Exit *code*, exactly one ``error:`` line holding every needle, no traceback."""
    assert result.code == code, (result.code, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.errors) == 1, result.stderr
    other = [ln for ln in result.stderr.splitlines()
             if ln.strip() and not ln.startswith(("error: ", "warning: "))]
    assert not other, result.stderr  # no raw Python warning lines or source paths
    line = result.errors[0]
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def assert_warning(result: Result, *needles: str, code: int = 0) -> str:
    """Exit *code* and one ``warning:`` line holding every needle."""
    assert result.code == code, (result.code, result.stderr)
    assert "Traceback" not in result.stderr
    hits = [ln for ln in result.warnings if all(n in ln for n in needles)]
    assert hits, result.stderr
    other = [ln for ln in result.stderr.splitlines()
             if ln.strip() and not ln.startswith(("error: ", "warning: "))]
    assert not other, result.stderr
    return hits[0]


def write(image: sitk.Image, path: Path) -> Path:
    sitk.WriteImage(image, str(path))
    return path


def like(reference: sitk.Image, array: np.ndarray) -> sitk.Image:
    out = sitk.GetImageFromArray(array)
    out.CopyInformation(reference)
    return out


def truncate(path: Path, keep: float | int) -> Path:
    """Keep the first *keep* bytes (or that fraction) of *path*, as a cut download does."""
    raw = path.read_bytes()
    n = int(len(raw) * keep) if isinstance(keep, float) else keep
    path.write_bytes(raw[:n])
    return path


