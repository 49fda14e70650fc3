"""The demo runs shared by tests/study and tests/report (one of each per test session / xdist worker).

* :func:`full_demo` runs ``radsig demo`` exactly as the README says (CLI, default size), once; the
  study and report tests all read its outputs, and ``test_full_size_demo_cli`` checks its stdout
  and wall time. In a serial session (no xdist) tests/study/conftest.py starts it in the background
  as soon as collection shows a test that needs it, so the other tests run meanwhile.
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


def _run_logged(base: Path) -> None:
    """Run the CLI and write ``base/demo_cli.json`` (written last: its presence means "done")."""
    out = base / "demo"
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    started = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "radsig", "demo", "--out", str(out)], env=env,
                         capture_output=True, text=True, timeout=900)
    log = {"returncode": res.returncode, "stdout": res.stdout, "stderr": res.stderr[-4000:],
           "elapsed": time.perf_counter() - started}
    tmp = base / "demo_cli.json.tmp"
    tmp.write_text(json.dumps(log))
    tmp.replace(base / "demo_cli.json")


_BACKGROUND: list[subprocess.Popen] = []


def start_full_demo(base: Path) -> None:
    """Start the demo run in the background (a serial session runs other tests meanwhile)."""
    if (base / "demo_cli.json").is_file() or (base / "demo_cli.pid").is_file():
        return
    proc = subprocess.Popen([sys.executable, __file__, str(base)])
    _BACKGROUND.append(proc)
    (base / "demo_cli.pid").write_text(str(proc.pid))


def stop_background() -> None:
    """End a background demo run that is still going (the session ended early)."""
    for proc in _BACKGROUND:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def full_demo(base: Path) -> Path:
    """``radsig demo --out base/demo`` in a subprocess; stdout, stderr, return code and wall time
    are kept in ``base/demo_cli.json``. Waits for a run started by :func:`start_full_demo`."""
    log, pid_file = base / "demo_cli.json", base / "demo_cli.pid"
    if not log.is_file() and pid_file.is_file():
        pid, deadline = int(pid_file.read_text()), time.monotonic() + 900
        while not log.is_file() and _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.5)
    if not log.is_file():
        _run_logged(base)
    return base / "demo"


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


if __name__ == "__main__":  # the background run of start_full_demo
    _run_logged(Path(sys.argv[1]))
