"""Cohort throughput: ``radsig cohort extract`` with --jobs 1 vs --jobs 2 on a synthetic cohort.

Writes a seeded cohort of CT-like cases (NIfTI), then runs the real CLI (fresh process each
time, no cache, so every case is computed) for each configuration, in rotating order, for a few
repeats: ``j1`` (--jobs 1), ``j1-itkN`` (--jobs 1 with ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=N,
which radsig respects; without it --jobs 1 runs SimpleITK on one thread since this change and
on all cores before it), ``j2`` (--jobs 2) and, when its virtual environment
exists, PyRadiomics' batch mode (``pyradiomics batch.csv --jobs N``, ``pyrad-j1``/``pyrad-j2``).
Wall time is measured around the whole command (start-up and worker spawn included); peak RSS
is each process's VmHWM, sampled every 0.1 s (radsig also records its workers' in the provenance
sidecar). Before each run the script waits (up to --max-wait s) for the machine to be idle and
records the load; ``foreign_cpu_s`` is the CPU time other processes used during the run
(/proc/stat minus the run's own). A run during which they used more than --max-foreign CPUs on
average is repeated (up to --attempts; rejected runs are kept in the JSON). A **control** runs a
pure-Python loop alone and two copies in two processes: its throughput ratio is the ceiling of
any 2-process workload on this machine at that moment. Results go to
``bench/results/cohort.json`` and a Markdown table on stdout.

Usage: python bench/cohort_bench.py [--cases 40] [--repeats 2] [--params params/ibsi/default_ct.yaml]
       [--configs j1,j1-itk2,j2,pyrad-j1,pyrad-j2] [--src DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

ROOT = Path(__file__).resolve().parents[1]


def write_cohort(folder: Path, n: int, seed: int = 2024, shape=(40, 96, 96),
                 radius_mm=(16.0, 24.0)) -> Path:
    """*n* CT-like cases: soft tissue, one lobulated lesion (radius in *radius_mm*) near the centre.

    Small shapes are all soft tissue; from 256 voxels in-plane a scan looks like a CT slice
    stack: air (-1000 HU) outside an elliptic body. Files already there are reused.
    """
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    zz, yy, xx = np.ogrid[:shape[0], :shape[1], :shape[2]]
    spacing = np.array([2.0, 0.8, 0.8]) if shape[1] < 256 else np.array([2.5, 0.8, 0.8])
    body = None
    if shape[1] >= 256:
        body = (((yy - shape[1] / 2) / (0.36 * shape[1])) ** 2
                + ((xx - shape[2] / 2) / (0.45 * shape[2])) ** 2) <= 1.0
    for i in range(n):
        img_path, seg_path = folder / f"c{i:03d}_ct.nii.gz", folder / f"c{i:03d}_seg.nii.gz"
        rows.append({"patient_id": f"C{i:03d}", "image": img_path.name, "mask": seg_path.name,
                     "modality": "CT", "centre": "AB"[i % 2]})
        if img_path.exists() and seg_path.exists():
            continue
        rng = np.random.default_rng(seed + i)
        img = rng.normal(40.0, 20.0, size=shape)
        if body is not None:
            img = np.where(body, img, -1000.0 + rng.normal(0.0, 5.0, size=shape))
        r = rng.uniform(*radius_mm)
        c = np.array(shape) / 2 + rng.uniform(-4, 4, size=3)
        d = np.sqrt(((zz - c[0]) * spacing[0]) ** 2 + ((yy - c[1]) * spacing[1]) ** 2
                    + ((xx - c[2]) * spacing[2]) ** 2)
        wobble = 1.0 + 0.15 * np.sin(3 * np.arctan2(yy - c[1], xx - c[2]))
        lesion = d <= r * wobble
        img[lesion] += rng.normal(60.0, 25.0, size=int(lesion.sum()))
        image = sitk.GetImageFromArray(img.astype(np.int16))
        image.SetSpacing(tuple(float(s) for s in spacing[::-1]))
        mask = sitk.GetImageFromArray(lesion.astype(np.uint8))
        mask.CopyInformation(image)
        sitk.WriteImage(image, str(img_path))
        sitk.WriteImage(mask, str(seg_path))
    manifest = folder / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    return manifest


PYRAD_PYTHON = Path("/work/pyrad/bench/.venv-pyradiomics/bin/python")
#: PyRadiomics settings as close as it gets to default_ct.yaml (1 mm linear resampling,
#: resegmentation [-1000, 400] HU, bin width 25 HU, all default feature classes; 107 features)
PYRAD_PARAMS = {"setting": {"resampledPixelSpacing": [1, 1, 1], "interpolator": "sitkLinear",
                            "padDistance": 10, "resegmentRange": [-1000, 400], "binWidth": 25,
                            "additionalInfo": False},
                "imageType": {"Original": {}},
                "featureClass": {c: None for c in ("shape", "firstorder", "glcm", "glrlm",
                                                   "glszm", "gldm", "ngtdm")}}


def _busy_cpu_s() -> float:
    """CPU seconds all processes of the machine have used (from /proc/stat)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def others_running(seconds: float = 1.0) -> float:
    """Mean number of runnable processes other than this one, sampled over *seconds*."""
    samples = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with open("/proc/stat") as fh:
            for line in fh:
                if line.startswith("procs_running"):
                    samples.append(int(line.split()[1]) - 1)
        time.sleep(0.05)
    return float(np.mean(samples))


def wait_idle(max_wait: float, threshold: float = 0.5) -> dict:
    """Wait until other processes use less than *threshold* CPUs (at most *max_wait* s)."""
    start = time.monotonic()
    while True:
        busy0, t0 = _busy_cpu_s(), time.monotonic()
        others = others_running(2.0)
        cpus_used = (_busy_cpu_s() - busy0) / (time.monotonic() - t0)
        if cpus_used < threshold or time.monotonic() - start > max_wait:
            return {"waited_s": round(time.monotonic() - start, 1),
                    "cpus_busy_before": round(cpus_used, 2), "others_running_before": others,
                    "load_avg_1min": os.getloadavg()[0]}
        time.sleep(3.0)


def _watch_peaks(proc: subprocess.Popen, peaks: dict[int, float]) -> None:
    """Until *proc* exits: the high-water RSS (VmHWM, MB) of it and each descendant, by pid."""
    import psutil

    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            family = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        for p in family:
            try:
                with open(f"/proc/{p.pid}/status") as fh:
                    for line in fh:
                        if line.startswith("VmHWM:"):
                            peaks[p.pid] = max(peaks.get(p.pid, 0.0), int(line.split()[1]) / 1024)
            except OSError:
                pass
        time.sleep(0.1)


def _timed(cmd: list[str], env: dict) -> tuple[float, float, float, subprocess.CompletedProcess,
                                                dict[int, float]]:
    """Wall s, CPU s (all child processes), foreign CPU s during the run, the process, and the
    peak RSS (MB) of each of its processes (sampled every 0.1 s)."""
    import threading

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy0 = _busy_cpu_s()
    start = time.perf_counter()
    popen = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    peaks: dict[int, float] = {}
    watcher = threading.Thread(target=_watch_peaks, args=(popen, peaks), daemon=True)
    watcher.start()
    stdout, stderr = popen.communicate()
    wall = time.perf_counter() - start
    watcher.join()
    proc = subprocess.CompletedProcess(cmd, popen.returncode, stdout, stderr)
    busy = _busy_cpu_s() - busy0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, max(0.0, busy - cpu), proc, peaks


def run(manifest: Path, params: Path, out: Path, config: str, src: Path) -> dict:
    jobs = int(config.split("-")[0][1:])
    env = dict(os.environ, PYTHONPATH=str(src))
    if "-itk" in config:  # e.g. j1-itk2: SimpleITK threads set explicitly (radsig respects it)
        env["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = config.split("-itk")[1]
    cmd = [sys.executable, "-m", "radsig", "cohort", "extract", str(manifest), "--params",
           str(params), "--out", str(out), "--jobs", str(jobs), "--cache", str(out) + ".cache",
           "--no-progress"]
    subprocess.run(["rm", "-rf", str(out) + ".cache"], check=True)
    wall, cpu, foreign, proc, _ = _timed(cmd, env)
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    prov = json.loads(out.with_name(out.stem + ".provenance.json").read_text())
    seconds = [x["seconds"] for x in prov["inputs"] if x.get("seconds")]
    case_cpu = [x["cpu_seconds"] for x in prov["inputs"] if x.get("cpu_seconds")]
    return {"config": config, "jobs": jobs, "wall_s": wall, "cpu_s_all_processes": cpu,
            "foreign_cpu_s": foreign,
            "median_case_cpu_s": float(np.median(case_cpu)), "cases": prov["counts"]["ok"],
            "cases_per_min": 60.0 * prov["counts"]["ok"] / wall,
            "median_case_s": float(np.median(seconds)),
            "peak_rss_mb_per_worker": prov["execution"]["peak_rss_mb_per_worker"],
            "load_avg_1min": os.getloadavg()[0]}


def run_pyradiomics(batch: Path, params: Path, out: Path, config: str) -> dict:
    """PyRadiomics' own batch mode (``pyradiomics batch.csv --jobs N``) in its venv."""
    jobs = int(config.split("-j")[1])
    cmd = [str(PYRAD_PYTHON.parent / "pyradiomics"), str(batch), "--param", str(params),
           "--out", str(out), "--format", "csv", "--jobs", str(jobs),
           "--logging-level", "ERROR"]
    out.unlink(missing_ok=True)
    wall, cpu, foreign, proc, peaks = _timed(cmd, dict(os.environ))
    if proc.returncode != 0 or not out.exists():
        raise SystemExit(f"pyradiomics failed ({proc.returncode}): {proc.stderr[-2000:]}")
    table = pd.read_csv(out)
    n = len(table)
    n_features = sum(1 for c in table.columns if c.startswith("original_"))
    return {"config": config, "jobs": jobs, "wall_s": wall, "cpu_s_all_processes": cpu,
            "foreign_cpu_s": foreign, "cases": n, "features": n_features,
            "cases_per_min": 60.0 * n / wall,
            # every process of the run (with --jobs 2: the parent and its pool workers)
            "peak_rss_mb_per_process": {str(k): round(v, 1) for k, v in peaks.items()},
            "load_avg_1min": os.getloadavg()[0]}


def _burn(n: int) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return time.perf_counter() - start


def control_speedup(n: int = 20_000_000) -> dict:
    """What 2 processes gain over 1 on this machine *right now*, for pure CPU work.

    A pure-Python loop timed alone in one process, then two copies at once in two processes
    (pools started and warmed before timing). Throughput ratio = 2 × alone / parallel: 2.0 on
    two idle, independent cores.
    """
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        pool.map(_burn, [1000, 1000])
        alone = pool.apply(_burn, (n,))
        start = time.perf_counter()
        each = pool.map(_burn, [n, n])
        both = time.perf_counter() - start
    return {"alone_s": alone, "parallel_each_s": each, "parallel_wall_s": both,
            "speedup": 2.0 * alone / both}


def _row(label: str, rs: list[dict]) -> str:
    best = min(rs, key=lambda r: r["wall_s"])
    all_walls = ", ".join(f"{r['wall_s']:.1f}" for r in rs)
    if "peak_rss_mb_per_worker" in best:
        rss = sorted({v for r in rs for v in r["peak_rss_mb_per_worker"].values()})
        rss_text = f"{min(rss):.0f}–{max(rss):.0f} per worker"
        case = f"{best['median_case_s']:.2f} | {best['median_case_cpu_s']:.2f}"
    else:
        peaks = sorted(v for r in rs for v in r["peak_rss_mb_per_process"].values())
        rss_text = f"{peaks[0]:.0f}–{peaks[-1]:.0f} per process" if peaks else "n/a"
        case = "– | –"
    foreign = ", ".join(f"{r['foreign_cpu_s']:.1f}" for r in rs)
    return (f"| {label} | {best['wall_s']:.1f} / {all_walls} | {best['cases_per_min']:.1f} | "
            f"{case} | {best['cpu_s_all_processes']:.1f} | {rss_text} | {foreign} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--shape", default="40,96,96",
                        help="voxels z,y,x of each case (e.g. 80,512,512: CT-sized slices)")
    parser.add_argument("--params", type=Path, default=ROOT / "params" / "ibsi" / "default_ct.yaml")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "results" / "cohort_work")
    parser.add_argument("--configs", default="j1,j1-itk2,j2,pyrad-j1,pyrad-j2")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="radsig sources to run")
    parser.add_argument("--max-wait", type=float, default=120.0,
                        help="seconds to wait for an idle machine before each run")
    parser.add_argument("--max-foreign", type=float, default=0.1,
                        help="rerun a run when other processes used more than this many CPUs "
                             "on average during it")
    parser.add_argument("--attempts", type=int, default=4, help="runs per configuration at most")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cohort.json")
    args = parser.parse_args()
    configs = [c for c in args.configs.split(",") if c]
    if not PYRAD_PYTHON.exists():
        configs = [c for c in configs if not c.startswith("pyrad")]
        print(f"PyRadiomics not found at {PYRAD_PYTHON}: its batch mode is skipped", flush=True)
    shape = tuple(int(v) for v in args.shape.split(","))
    manifest = write_cohort(args.work / "data", args.cases, shape=shape)
    batch = args.work / "data" / "pyradiomics_batch.csv"
    rows = pd.read_csv(manifest)
    pd.DataFrame({"Image": [str(args.work / "data" / p) for p in rows["image"]],
                  "Mask": [str(args.work / "data" / p) for p in rows["mask"]]}).to_csv(batch, index=False)
    pyrad_params = args.work / "pyradiomics_params.yaml"
    import yaml

    pyrad_params.write_text(yaml.safe_dump(PYRAD_PARAMS, sort_keys=False))
    results, rejected = [], []
    for rep in range(args.repeats):
        order = configs[rep % len(configs):] + configs[:rep % len(configs)]
        if rep % 2:
            order = order[::-1]
        for config in order:
            out = args.work / f"{config}_r{rep}.{'csv' if config.startswith('pyrad') else 'parquet'}"
            for attempt in range(1, args.attempts + 1):
                idle = wait_idle(args.max_wait)
                if config.startswith("pyrad"):
                    res = run_pyradiomics(batch, pyrad_params, out, config)
                else:
                    res = run(manifest, args.params, out, config, args.src)
                res |= {"repeat": rep, "attempt": attempt, "idle_check": idle}
                res["control"] = control_speedup()
                clean = res["foreign_cpu_s"] <= args.max_foreign * res["wall_s"]
                print(json.dumps(res), flush=True)
                if clean or attempt == args.attempts:
                    res["clean"] = clean
                    results.append(res)
                    break
                rejected.append(res)
    tables = {c: pd.read_parquet(args.work / f"{c}_r0.parquet") for c in configs
              if not c.startswith("pyrad")}
    ref = tables.get("j1")
    for table in tables.values():
        pd.testing.assert_frame_equal(ref if ref is not None else table, table)
    by = {c: [r for r in results if r["config"] == c] for c in configs}
    best = {c: min(r["wall_s"] for r in rs) for c, rs in by.items()}
    summary = {"cases": args.cases, "shape": list(shape), "params": str(args.params.relative_to(ROOT)),
               "src": str(args.src), "cpu_count": os.cpu_count(), "results": results,
               "best_wall_s": best, "tables_identical": True,
               "control_speedups": [r["control"]["speedup"] for r in results],
               "rejected_runs": rejected}
    if "j2" in best and any(c.startswith("j1") for c in best):
        best_j1 = min(v for c, v in best.items() if c.startswith("j1"))
        summary["speedup_j2_vs_best_j1"] = best_j1 / best["j2"]
    if "j1" in by and "j2" in by:  # medians: what a typical pair of runs gives
        summary["speedup_j2_median"] = (float(np.median([r["wall_s"] for r in by["j1"]]))
                                        / float(np.median([r["wall_s"] for r in by["j2"]])))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, indent=2))
    print("\n| run | wall s (best / all) | cases/min (best) | median wall s per case | "
          "median CPU s per case | CPU s, all processes | peak RSS MB | foreign CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for c, rs in by.items():
        print(_row(c, rs))
    for c in best:
        if c != "j1" and "j1" in best:
            print(f"j1 / {c} wall (best of {args.repeats}): {best['j1'] / best[c]:.2f}x")
    if "speedup_j2_median" in summary:
        print(f"j1 / j2 wall (median of {args.repeats}): {summary['speedup_j2_median']:.2f}x")
    if "speedup_j2_vs_best_j1" in summary:
        print(f"j2 vs best jobs-1 configuration: {summary['speedup_j2_vs_best_j1']:.2f}x")
    controls = summary["control_speedups"]
    loads = [r["load_avg_1min"] for r in results]
    print(f"control (pure-Python loop, 2 processes vs 1, after each run): "
          f"{min(controls):.2f}-{max(controls):.2f}x (median {np.median(controls):.2f}); "
          f"load average {min(loads):.2f}-{max(loads):.2f}; CPUs busy before runs "
          f"{min(r['idle_check']['cpus_busy_before'] for r in results):.2f}-"
          f"{max(r['idle_check']['cpus_busy_before'] for r in results):.2f}")


if __name__ == "__main__":
    main()
