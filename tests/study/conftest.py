from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("demo_runs", Path(__file__).with_name("demo_runs.py"))
demo_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_runs)


def pytest_collection_finish(session):
    """Serial session: start the demo run now if a collected test needs it (it runs in a subprocess
    while the other tests run). Under xdist every worker collects every test, so there the run
    starts lazily, on the worker that gets the 'demo' group."""
    if os.environ.get("PYTEST_XDIST_WORKER") or session.config.getoption("collectonly"):
        return
    if any("demo_dir" in getattr(item, "fixturenames", ()) for item in session.items):
        demo_runs.start_full_demo(session.config._tmp_path_factory.getbasetemp())


def pytest_sessionfinish(session):
    demo_runs.stop_background()


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
