from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("demo_runs", Path(__file__).with_name("demo_runs.py"))
demo_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_runs)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """Output folder of a small demo run (shared within the session)."""
    return demo_runs.small_demo(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="session")
def demo_negative_dir(tmp_path_factory) -> Path:
    """Output folder of a small negative-control demo run."""
    return demo_runs.small_demo(tmp_path_factory.getbasetemp(), negative_control=True)
