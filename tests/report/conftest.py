from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("demo_runs", Path(__file__).parents[1] / "study" / "demo_runs.py")
demo_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_runs)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """Output folder of ``radsig demo`` at its default size (shared within the session)."""
    return demo_runs.full_demo(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def demo_cli(demo_dir, tmp_path_factory) -> dict:
    """Return code, stdout, stderr and wall time of the ``radsig demo`` run behind ``demo_dir``."""
    return demo_runs.cli_log(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def demo_negative_dir(demo_dir, tmp_path_factory) -> Path:
    """Output folder of the negative-control demo run (same images, shared feature cache)."""
    return demo_runs.negative_demo(tmp_path_factory.getbasetemp(), demo_dir)
