"""The demo runs shared by tests/study and tests/report (one of each per test session / xdist worker).

* :func:`full_demo` runs ``radsig demo`` exactly as the README says (CLI, default size), once; the
  study and report tests all read its outputs, and ``test_full_size_demo_cli`` checks its stdout
  and wall time.
* :func:`negative_demo` is the negative control on the same images (``run_demo(negative_control=True)``),
  sharing the full run's feature cache, so nothing is extracted again; it fits only the models
  whose chance-level performance the tests check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
GROUP = "demo"  # xdist group of every test that uses these runs (one worker runs them all)
NEGATIVE_MODELS = ("radiomics", "ensemble")


def full_demo(base: Path) -> Path:
    """``radsig demo --out base/demo`` in a subprocess; stdout, stderr, return code and wall time
    are kept in ``base/demo_cli.json``."""
    out = base / "demo"
    log = base / "demo_cli.json"
    if not log.is_file():
        env = dict(os.environ, MPLBACKEND="Agg")
        env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
        started = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", "radsig", "demo", "--out", str(out)], env=env,
                             capture_output=True, text=True, timeout=900)
        log.write_text(json.dumps({"returncode": res.returncode, "stdout": res.stdout,
                                   "stderr": res.stderr[-4000:], "elapsed": time.perf_counter() - started}))
    return out


def cli_log(base: Path) -> dict:
    return json.loads((base / "demo_cli.json").read_text())


def negative_demo(base: Path, full: Path) -> Path:
    """Negative control of the demo on the same images, reusing ``full``'s feature cache."""
    out = base / "demo_negative"
    if not (out / "results.json").is_file():
        from radsig.study.demo import demo_files, run_demo

        spec = yaml.safe_load(demo_files()[0].read_text())
        models = [m for m in spec["models"] if m["name"] in NEGATIVE_MODELS]
        biology = {**spec["biology"], "models": ["radiomics"]}
        overrides = {"models": models, "comparisons": [["ensemble", "radiomics"]], "biology": biology,
                     "features": {**spec["features"], "families": ["ibsi"]}}
        run_demo(out, negative_control=True, overrides=overrides, cache_dir=full / "features" / "cache")
    return out
