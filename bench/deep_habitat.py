"""Per-case CPU time and peak memory of deep and habitat features on the demo cohort.

    python bench/deep_habitat.py [--data DIR] [--cases 60] [--out bench/deep_habitat.json]

Without ``--data`` a demo cohort (``radsig.synth.make_demo_cohort``, n=80) is generated in a
temporary folder. Settings are the demo study's (``src/radsig/study/demo/study.yaml``). Each
family runs in a fresh process (spawn), so its peak resident memory (``ru_maxrss``) is its own;
the table gives the fit (training cases) and the per-case extraction (CPU seconds from
``time.process_time``, wall seconds) separately. Torch runs on one thread, as in the cohort
engine's workers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _manifest(data: Path, cohort: str, modality: str):
    import pandas as pd

    man = pd.read_csv(data / f"{cohort}_manifest.csv")
    for col in ("image", "mask"):
        man[col] = [str(data / p) for p in man[col]]
    return man[man["modality"] == modality]


def _study():
    from radsig.config.study import load_study

    return load_study(ROOT / "src/radsig/study/demo/study.yaml")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _run(family: str, data: str, n_cases: int, queue) -> None:
    import torch
    import yaml

    torch.set_num_threads(1)
    data = Path(data)
    st = _study()
    mod = (st.features.deep.modalities if family == "deep" else st.features.habitat.modalities)[0].upper()
    train = _manifest(data, "training", mod)
    cases = _manifest(data, "external", mod).head(n_cases)
    out = Path(tempfile.mkdtemp())
    base = _rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    if family == "deep":
        from radsig.deep.cohort import deep_extractor, deep_settings, train_deep_model
        from radsig.deep.crops import CropSpec

        d = st.features.deep
        w = train_deep_model(train, out, spec=CropSpec(size_mm=d.size_mm, n_voxels=d.n_voxels, modality=mod,
                                                        window=tuple(d.window), suv_max=d.suv_max),
                             backbone={"dims": 2, "in_channels": 3, "width": d.width, "n_features": d.n_features},
                             epochs=d.epochs, seed=st.seed)
        settings, extractor = deep_settings(w), deep_extractor
    else:
        from radsig.habitat.cohort import fit_habitat_model, habitat_extractor, habitat_settings

        h = st.features.habitat
        raw = yaml.safe_load((ROOT / "src/radsig/study/demo/features.yaml").read_text())
        raw.pop("basic", None)
        model = fit_habitat_model(train, radius_mm=h.radius_mm, k_range=tuple(h.k_range), method=h.method,
                                  n_supervoxels=h.n_supervoxels, random_state=st.seed)
        settings, extractor = habitat_settings(model, ibsi=raw, maps_dir=out / "maps"), habitat_extractor
    fit = {"cases": len(train), "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    after_fit = _rss_mb()
    extractor(cases["image"].iloc[0], cases["mask"].iloc[0], settings, label=1, case="warm-up")
    walls, cpus = [], []
    for row in cases.itertuples():
        t, c = time.perf_counter(), time.process_time()
        table = extractor(row.image, row.mask, settings, label=1, case=row.patient_id)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    queue.put({"family": family, "modality": mod, "fit": fit, "n_features": len(table), "cases": len(cases),
               "per_case_cpu_s_mean": sum(cpus) / len(cpus), "per_case_cpu_s_max": max(cpus),
               "per_case_wall_s_mean": sum(walls) / len(walls),
               "rss_after_imports_mb": base, "peak_rss_fit_mb": after_fit, "peak_rss_total_mb": _rss_mb()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="folder of a demo cohort (radsig demo --out X → X/data)")
    ap.add_argument("--cases", type=int, default=60, help="external-cohort cases to time")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "deep_habitat.json")
    args = ap.parse_args()
    data = args.data
    if data is None:
        from radsig.synth import make_demo_cohort

        data = Path(tempfile.mkdtemp()) / "data"
        make_demo_cohort(data, n=80, seed=20240601)
    ctx = mp.get_context("spawn")
    results = []
    for family in ("deep", "habitat"):
        q = ctx.Queue()
        p = ctx.Process(target=_run, args=(family, str(data), args.cases, q))
        p.start()
        results.append(q.get())
        p.join()
    doc = {"data": str(data), "python": sys.version.split()[0], "results": results}
    args.out.write_text(json.dumps(doc, indent=1))
    for r in results:
        print(f"{r['family']:<8} fit {r['fit']['cases']} training cases: {r['fit']['cpu_s']:.1f} s CPU "
              f"({r['fit']['wall_s']:.1f} s wall); per case {r['per_case_cpu_s_mean'] * 1000:.0f} ms CPU "
              f"(max {r['per_case_cpu_s_max'] * 1000:.0f}), {r['per_case_wall_s_mean'] * 1000:.0f} ms wall; "
              f"{r['n_features']} features; peak RSS {r['peak_rss_total_mb']:.0f} MB "
              f"(after imports {r['rss_after_imports_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
