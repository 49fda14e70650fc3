"""The user's path: ``radsig extract`` against ``pyradiomics`` on gzipped NIfTI, whole process.

Usage (from the repository root; the two virtual environments as in ``bench.py``)::

    python bench/cli_bench.py --out bench/results          # small/medium/large × S1/S2/IBSI

Each run is one command as a user types it, timed from ``Popen`` to exit:

- radsig: ``radsig extract IMAGE.nii.gz MASK.nii.gz --params P --out F.csv`` (the console script
  of ``bench/.venv-radsig``, with this checkout's ``src/`` first on ``PYTHONPATH``);
- PyRadiomics: ``pyradiomics IMAGE.nii.gz MASK.nii.gz --param P --out F.csv --format csv``
  (its own console script in ``bench/.venv-pyradiomics``).

Cases are ``bench.py``'s synthetic CT volumes (512 × 512 × 120, 0.8 × 0.8 × 2.5 mm, int16;
tumour of about 20 / 40 / 80 mm), with the image *and* the mask written as gzipped NIfTI.
Settings: S1 and S2 (``bench.py``'s PyRadiomics parameter files; both tools read the same file)
and ``IBSI`` (radsig with ``params/ibsi/default_ct.yaml``: 1 mm linear resampling, re-
segmentation, FBS 25 HU, 215 IBSI features), compared with PyRadiomics on S1. The tools
alternate within each repeat, the order of the two flipping every repeat; medians over
``--repeats`` are reported. Peak memory and CPU time come from GNU ``time`` around each command.
For S1/S2 every feature PyRadiomics writes is compared with radsig's value (largest relative
difference). Every run goes into ``cli_results.json``; the Markdown tables are printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from bench import TUMOURS, compare, write_cases, write_params  # noqa: E402

IBSI_PARAMS = REPO / "params" / "ibsi" / "default_ct.yaml"
TIME = "/usr/bin/time"  # GNU time


def write_gz_cases(folder: Path, names) -> dict[str, tuple[Path, Path]]:
    """bench.py's cases (same seeds), image and mask both gzipped NIfTI."""
    return write_cases(folder, names, image_suffix=".nii.gz")


def run(cmd: list[str], env: dict, report: Path) -> dict:
    """Wall time, CPU time and peak RSS of one command (whole process).

    The command runs under GNU ``time``, which reports its peak RSS and CPU: a child forked (or
    vforked) from this Python process would carry this process's resident set into its own
    ``ru_maxrss`` (Linux keeps the pre-exec high-water mark), ~170 MiB that are not the tool's."""
    start = time.perf_counter()
    proc = subprocess.Popen([TIME, "-f", "%M %U %S", "-o", str(report)] + cmd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    peak_kib, user, system = report.read_text().split()[-3:]
    return {"wall_s": wall, "peak_mib": int(peak_kib) / 1024.0,
            "cpu_s": float(user) + float(system)}


def load_avg() -> float:
    return os.getloadavg()[0]


def pyradiomics_values(path: Path) -> dict[str, float]:
    with open(path, newline="") as fh:
        row = next(csv.DictReader(fh))
    out = {}
    for k, v in row.items():
        if k.startswith(("original_", "wavelet-", "log-sigma")):
            out[k] = float(v)
    return out


def radsig_values(path: Path) -> dict[str, float]:
    with open(path, newline="") as fh:
        return {r["feature"]: float(r["value"]) for r in csv.DictReader(fh)}


def c_kernels(python: str, env: dict) -> bool:
    code = ("from radsig.features.pyradiomics import _matrices; "
            "print(_matrices._C is not None)")
    out = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True)
    return out.stdout.strip() == "True"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--cases", nargs="*", default=list(TUMOURS))
    ap.add_argument("--settings", nargs="*", default=["S1", "S2", "IBSI"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pyradiomics-bin", default=str(HERE / ".venv-pyradiomics/bin/pyradiomics"))
    ap.add_argument("--radsig-bin", default=str(HERE / ".venv-radsig/bin/radsig"))
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--case-dir", default=str(HERE / "results" / "cases_gz"),
                    help="where the gzipped cases are written (reused when present)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    cases = write_gz_cases(Path(args.case_dir), args.cases)
    out.mkdir(parents=True, exist_ok=True)
    params = write_params(out)
    params["IBSI"] = IBSI_PARAMS
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1")
    radsig_python = str(Path(args.radsig_bin).parent / "python")
    if not args.no_compile:  # bytecode, as an installed package has
        subprocess.run([radsig_python, "-m", "compileall", "-q", str(REPO / "src" / "radsig")],
                       check=True)
    kernels = c_kernels(radsig_python, env)
    runs_dir = out / "cli_runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for case in args.cases:
        image, mask = cases[case]
        for data in (image, mask):  # same warm page cache for both tools
            data.read_bytes()
        for setting in args.settings:
            pyr_params = params["S1" if setting == "IBSI" else setting]
            pyr_csv = runs_dir / f"{case}_{setting}_pyradiomics.csv"
            rad_csv = runs_dir / f"{case}_{setting}_radsig.csv"
            cmds = {
                "pyradiomics": [args.pyradiomics_bin, str(image), str(mask), "--param",
                                str(pyr_params), "--out", str(pyr_csv), "--format", "csv"],
                "radsig": [args.radsig_bin, "extract", str(image), str(mask), "--params",
                           str(params[setting]), "--out", str(rad_csv)],
            }
            runs = {"pyradiomics": [], "radsig": []}
            for rep in range(max(1, args.repeats)):
                order = ["pyradiomics", "radsig"] if rep % 2 == 0 else ["radsig", "pyradiomics"]
                for tool in order:
                    for stale in (pyr_csv if tool == "pyradiomics" else rad_csv,):
                        stale.unlink(missing_ok=True)  # pyradiomics appends to an existing file
                    stats = run(cmds[tool], env, runs_dir / "time.txt")
                    stats["load1"] = load_avg()
                    runs[tool].append(stats)
            row = {"case": case, "setting": setting, "c_kernels": kernels,
                   "commands": {k: " ".join(Path(c[0]).name if i == 0 else c[i]
                                            for i in range(len(c))) for k, c in cmds.items()}}
            for tool, tool_runs in runs.items():
                row[tool] = {k: float(np.median([r[k] for r in tool_runs]))
                             for k in ("wall_s", "peak_mib", "cpu_s")}
                row[tool]["runs"] = tool_runs
            row["ratio_runs"] = [p["wall_s"] / r["wall_s"]
                                 for p, r in zip(runs["pyradiomics"], runs["radsig"])]
            mine = radsig_values(rad_csv)
            row["n_radsig"] = len(mine)
            if setting != "IBSI":
                row["diff"] = compare(pyradiomics_values(pyr_csv), mine)
            results.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "commands"}), flush=True)
    (out / "cli_results.json").write_text(json.dumps(results, indent=1))
    print(markdown(results))
    return 0


def markdown(results: list[dict]) -> str:
    """Wall-time medians and their ratio (with the ratio of each alternating pair), and CPU
    time (user + system of the process and its children): on a shared machine the CPU ratio
    moves less than the wall ratio."""
    lines = ["| case | setting | radsig features | wall PyRadiomics / radsig (s) | wall speed-up "
             "(per pair) | CPU PyRadiomics / radsig (s) | CPU ratio | peak MiB PyRadiomics / "
             "radsig | max rel. diff | radsig path | load (1 min) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        p, m = r["pyradiomics"], r["radsig"]
        per_run = ", ".join(f"{x:.1f}" for x in r["ratio_runs"])
        diff = (f"{r['diff']['max_rel']:.1e} ({r['diff']['n_above_1e-4']} > 1e-4)"
                if "diff" in r else "— (IBSI vs S1)")
        if r["setting"] == "IBSI":
            path = ("IBSI engine, prefetched NIfTI, C kernels (all six texture matrices, hull, "
                    "bounding volumes), no SciPy, no pydantic" if r["c_kernels"]
                    else "IBSI engine, prefetched NIfTI, NumPy matrices, Qhull")
        else:
            path = ("fast path (prefetched NIfTI) + C kernels" if r["c_kernels"]
                    else "fast path, NumPy")
        loads = [x["load1"] for x in p["runs"] + m["runs"]]
        lines.append(
            f"| {r['case']} | {r['setting']} | {r['n_radsig']} | {p['wall_s']:.2f} / "
            f"{m['wall_s']:.2f} | **{p['wall_s'] / m['wall_s']:.1f}×** ({per_run}) | "
            f"{p['cpu_s']:.2f} / {m['cpu_s']:.2f} | {p['cpu_s'] / m['cpu_s']:.1f}× | "
            f"{p['peak_mib']:.0f} / {m['peak_mib']:.0f} | {diff} | {path} | "
            f"{min(loads):.1f}–{max(loads):.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
