"""One small demo run per test session, shared by tests/study and tests/report."""

from __future__ import annotations

from pathlib import Path

SMALL_N = 160
SMALL_N_NEGATIVE = 120


def small_demo(base: Path, *, negative_control: bool = False, n: int | None = None) -> Path:
    """Run ``radsig demo`` once (in-process) into ``base`` and return the output folder."""
    n = n or (SMALL_N_NEGATIVE if negative_control else SMALL_N)
    out = base / (f"demo_neg_{n}" if negative_control else f"demo_{n}")
    if not (out / "results.json").is_file():
        from radsig.study.demo import run_demo

        run_demo(out, n=n, negative_control=negative_control)
    return out
