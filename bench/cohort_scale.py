"""Cohort scale: ``radsig cohort extract`` over many distinct gzipped CT-like cases, --jobs 2, and
the same cohort through a Dask LocalCluster (same table?).

Usage (repository root)::

    python bench/cohort_scale.py --cases 1000 --shape 100,256,256

Cases come from ``cohort_bench.write_cohort`` (seeded per case, so no two images are alike and
no cache can hit): int16 gzipped NIfTI, 0.8 × 0.8 × 2.5 mm, air outside an elliptic body, one
lobulated lesion of random radius (``--radius``) at a jittered centre. Both runs use
``params/ibsi/default_ct.yaml`` (215 IBSI features), a fresh output folder and an empty cache:

- ``--jobs 2``: the console script of ``bench/.venv-radsig`` (this checkout's ``src/`` first on
  ``PYTHONPATH``), timed from ``Popen`` to exit, with the CPU time of the command and its workers;
- Dask: a ``LocalCluster`` (2 worker processes, 1 thread each) started first (its start-up is
  not timed), then the same command with ``--scheduler ADDRESS``.

The two tables are compared value by value. Results go to ``cohort_scale.json`` and stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))


_CLUSTER = """
import sys
from distributed import LocalCluster
with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                  dashboard_address=None) as cluster:
    print(cluster.scheduler_address, flush=True)
    sys.stdin.read()  # until the benchmark closes it
"""


def _run(cmd: list[str], env: dict) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s_local": cpu, "load1_before": load,
            "load1_after": os.getloadavg()[0], "stdout": proc.stdout.strip()[-500:]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--shape", default="100,256,256", help="z,y,x voxels")
    ap.add_argument("--radius", default="8,22", help="lesion radius range, mm")
    ap.add_argument("--work", type=Path, default=HERE / "results" / "cohort_scale")
    ap.add_argument("--params", type=Path, default=REPO / "params" / "ibsi" / "default_ct.yaml")
    ap.add_argument("--radsig-bin", default=str(HERE / ".venv-radsig/bin/radsig"))
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "cohort_scale.json")
    args = ap.parse_args(argv)
    from cohort_bench import write_cohort

    shape = tuple(int(v) for v in args.shape.split(","))
    radius = tuple(float(v) for v in args.radius.split(","))
    data = args.work / f"cases_{'x'.join(map(str, shape))}"
    t0 = time.perf_counter()
    manifest = write_cohort(data, args.cases, shape=shape, radius_mm=radius)
    table = pd.read_csv(manifest).head(args.cases)
    manifest = data / f"manifest_{args.cases}.csv"
    table.to_csv(manifest, index=False)
    sizes = [(data / f).stat().st_size for f in table["image"]]
    print(f"{args.cases} cases ready in {time.perf_counter() - t0:.0f} s "
          f"(images {np.mean(sizes) / 1e6:.1f} MB gzipped on average)", flush=True)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1")
    results = {"cases": args.cases, "shape_zyx": shape, "radius_mm": radius,
               "mean_gz_mb": float(np.mean(sizes) / 1e6), "params": str(args.params)}
    outs = {}
    for name in ("jobs2", "dask") if not args.no_dask else ("jobs2",):
        folder = args.work / f"out_{name}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        out = folder / "features.parquet"
        cmd = [args.radsig_bin, "cohort", "extract", str(manifest), "--params", str(args.params),
               "--out", str(out), "--no-progress"]
        if name == "jobs2":
            results[name] = _run(cmd + ["--jobs", "2"], env)
        else:
            # the cluster runs in radsig's environment too (its workers must import the same
            # NumPy/SciPy as the --jobs run: another SciPy's FFT differs in the last bits)
            cluster = subprocess.Popen(
                [str(Path(args.radsig_bin).parent / "python"), "-c", _CLUSTER], env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            try:
                address = cluster.stdout.readline().strip()
                results[name] = _run(cmd + ["--scheduler", address], env)
                results[name]["note"] = "CPU of the Dask workers not included (other processes)"
            finally:
                cluster.stdin.close()
                cluster.wait(timeout=60)
        outs[name] = pd.read_parquet(out)
        r = results[name]
        print(f"{name}: {r['wall_s']:.1f} s wall, {args.cases / r['wall_s']:.2f} cases/s, "
              f"load {r['load1_before']:.1f} -> {r['load1_after']:.1f}", flush=True)
    if "dask" in outs:
        a, b = outs["jobs2"], outs["dask"]
        key = [c for c in ("patient_id", "lesion_id", "feature") if c in a.columns]
        a = a.sort_values(key).reset_index(drop=True) if key else a
        b = b.sort_values(key).reset_index(drop=True) if key else b
        same_shape = a.shape == b.shape and list(a.columns) == list(b.columns)
        num = a.select_dtypes("number").columns
        equal = bool(same_shape and a.drop(columns=num).equals(b.drop(columns=num))
                     and np.array_equal(a[num].to_numpy(float), b[num].to_numpy(float),
                                        equal_nan=True))
        results["tables_equal"] = equal
        results["table_shape"] = list(a.shape)
        print(f"tables equal: {equal} ({a.shape})")
    args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
