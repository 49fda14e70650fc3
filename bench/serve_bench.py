"""Throughput of ``radsig serve`` (a benchmark, not a test).

Starts ``radsig serve MODEL`` on a free loopback port and measures, end to end from a client:

* feature-level scoring: ``POST /v1/score`` with one patient's features + clinical values (JSON),
  from ``--clients`` threads with keep-alive connections for ``--seconds``; requests/s (goal ≥ 300
  on 2 cores);
* image scoring: ``POST /v1/score`` with NIfTI uploads, ``--repeats`` times: one demo patient's CT
  (CT-only models), the same patient's CT + PET (every model), and a full-size synthetic CT
  (512 × 512 × 120, bench/bench.py's ``make_case``) scored by the CT models; median seconds (goal
  ≤ 1.5 s for one CT case).

Without ``--model`` it runs ``radsig demo`` first (~2 min). The client runs on the same machine as
the server, so on a 2-core machine the two share the cores (and any other load on the machine).

    python bench/serve_bench.py --model radsig_demo/model.json --out bench/serve_runs.json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _env() -> dict:
    e = dict(os.environ, MPLBACKEND="Agg")
    e["PYTHONPATH"] = str(REPO / "src") + os.pathsep + e.get("PYTHONPATH", "")
    return e


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(model: Path, workers: int) -> tuple[subprocess.Popen, int]:
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "radsig", "serve", str(model), "--port", str(port),
                             "--workers", str(workers), "--max-request-mb", "256"], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("radsig serve did not start")


def feature_body(model_dir: Path) -> bytes:
    import pandas as pd

    doc = json.loads((model_dir / "model.json").read_text())
    feats = pd.read_csv(model_dir / "features" / "external_features.csv", index_col=0)
    clin = pd.read_csv(model_dir / "data" / "external_clinical.csv").set_index(doc["id_column"])
    pid = feats.index[0]
    names = sorted(doc["training_summary"]["features"])
    return json.dumps({"features": {f: float(feats.loc[pid, f]) for f in names},
                       "clinical": {c: getattr(v, "item", lambda v=v: v)() for c in doc["clinical_columns"]
                                    for v in [clin.loc[pid, c]]}}).encode()


def server_cpu(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) used so far by the server and its worker processes."""
    import psutil

    p = psutil.Process(proc.pid)
    total = 0.0
    for q in [p, *p.children(recursive=True)]:
        try:
            t = q.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def feature_throughput(port: int, body: bytes, clients: int, seconds: float) -> dict:
    counts, errors, lat = [0] * clients, [0] * clients, [[] for _ in range(clients)]
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop:
            t = time.perf_counter()
            conn.request("POST", "/v1/score", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            lat[i].append(time.perf_counter() - t)
            if r.status == 200:
                counts[i] += 1
            else:
                errors[i] += 1
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    all_lat = sorted(x for li in lat for x in li)
    return {"requests": sum(counts), "errors": sum(errors), "seconds": round(wall, 2),
            "requests_per_s": round(sum(counts) / wall, 1),
            "latency_ms_median": round(1000 * statistics.median(all_lat), 2),
            "latency_ms_p95": round(1000 * all_lat[int(0.95 * (len(all_lat) - 1))], 2)}


def _multipart(files: dict) -> tuple[bytes, str]:
    b = "radsig" + uuid.uuid4().hex
    parts = [f'--{b}\r\nContent-Disposition: form-data; name="{k}"; filename="{k}.nii.gz"\r\n'
             "Content-Type: application/octet-stream\r\n\r\n".encode() + v + b"\r\n" for k, v in files.items()]
    return b"".join(parts) + f"--{b}--\r\n".encode(), f"multipart/form-data; boundary={b}"


def image_times(port: int, files: dict, repeats: int) -> dict:
    body, ctype = _multipart(files)
    times, scored = [], None
    for _ in range(repeats + 1):  # the first request is a warm-up, not counted
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        t = time.perf_counter()
        conn.request("POST", "/v1/score", body, {"Content-Type": ctype})
        r = conn.getresponse()
        data = json.loads(r.read())
        times.append(time.perf_counter() - t)
        conn.close()
        if r.status != 200:
            raise SystemExit(f"image request failed: {r.status} {data}")
        scored = sorted(data["predictions"])
    times = times[1:]
    return {"upload_mb": round(len(body) / 2**20, 2), "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3), "max_s": round(max(times), 3), "repeats": repeats, "models_scored": scored}


def full_size_ct(tmp: Path) -> dict:
    sys.path.insert(0, str(HERE))
    import SimpleITK as sitk
    from bench import SPACING, make_case

    vol, mask = make_case(40.0, seed=1)
    out = {}
    for name, arr in (("CT_image", vol.astype("int16")), ("CT_mask", mask)):
        img = sitk.GetImageFromArray(arr)
        img.SetSpacing(tuple(float(s) for s in SPACING))
        p = tmp / f"{name}.nii.gz"
        sitk.WriteImage(img, str(p), True)
        out[name] = p.read_bytes()
    return out


def ct_ibsi_model(model: Path, out_dir: Path) -> Path | None:
    """The demo model reduced to its models on CT IBSI features only (no deep / habitat family):
    the usual single-CT signature, to time IBSI extraction of a full-size CT on its own."""
    sys.path.insert(0, str(REPO / "src"))
    from radsig.study import modelling as mdl

    doc = json.loads(model.read_text())
    fam = ("CT_deep", "CT_hab", "CT_ith")
    keep = [m for m in doc["models"] if not mdl.model_columns(m) and mdl.model_features(m)
            and all(f.startswith("CT_") and not f.startswith(fam) for f in mdl.model_features(m))]
    if not keep:
        return None
    sub = {k: v for k, v in doc.items() if k not in ("extra_features", "checksum")}
    sub.update(models=keep, modalities=["CT"], clinical_columns=[])
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.json"
    try:  # a checksummed model file when radsig's serializer writes study models
        from radsig.models.serialize import write_model_file
    except ImportError:
        path.write_text(json.dumps(sub))
    else:
        write_model_file({k: v for k, v in sub.items() if k not in ("format", "format_version", "content")},
                         path, content="study")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, help="model.json of a finished demo run (default: run radsig demo)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="radsig-serve-bench-") as tmp:
        tmp = Path(tmp)
        model = args.model
        if model is None:
            subprocess.run([sys.executable, "-m", "radsig", "demo", "--out", str(tmp / "demo"), "-q"], env=_env(),
                           check=True)
            model = tmp / "demo" / "model.json"
        mdir = model.parent
        man = __import__("pandas").read_csv(mdir / "data" / "external_manifest.csv")
        rows = man[man["patient_id"] == man["patient_id"].iloc[0]].set_index("modality")
        read = lambda mod, part: (mdir / "data" / rows.loc[mod, part]).read_bytes()  # noqa: E731
        ct = {"CT_image": read("CT", "image"), "CT_mask": read("CT", "mask")}
        petct = {**ct, "PET_image": read("PET", "image"), "PET_mask": read("PET", "mask")}
        big = full_size_ct(tmp)
        result = {"machine": {"cpus": os.cpu_count(), "load_avg_1m_before": os.getloadavg()[0],
                              "python": platform.python_version(), "note": "client and server share the machine"}}
        proc, port = start(model, args.workers)
        try:
            c0, k0 = server_cpu(proc), time.process_time()
            feat = feature_throughput(port, feature_body(mdir), args.clients, args.seconds)
            cpu_ms = 1000 * (server_cpu(proc) - c0) / max(feat["requests"], 1)
            result["features"] = {"workers": args.workers, "clients": args.clients, **feat,
                                  "server_cpu_ms_per_request": round(cpu_ms, 3),
                                  "client_cpu_ms_per_request": round(1000 * (time.process_time() - k0)
                                                                     / max(feat["requests"], 1), 3),
                                  "implied_requests_per_s_server_alone_on_2_cores": round(2000 / cpu_ms, 1)}
            for key, files in (("images_demo_ct", ct), ("images_demo_pet_ct", petct),
                               ("images_full_size_ct_512x512x120", big)):
                c0 = server_cpu(proc)
                result[key] = image_times(port, files, args.repeats)
                result[key]["server_cpu_s_per_request"] = round((server_cpu(proc) - c0) / (args.repeats + 1), 3)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        sub = ct_ibsi_model(model, tmp / "ct_ibsi")
        if sub is not None:
            proc, port = start(sub, args.workers)
            try:
                c0 = server_cpu(proc)
                key = "images_full_size_ct_512x512x120_ct_ibsi_model"
                result[key] = image_times(port, big, args.repeats)
                result[key]["server_cpu_s_per_request"] = round((server_cpu(proc) - c0) / (args.repeats + 1), 3)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        result["machine"]["load_avg_1m_after"] = os.getloadavg()[0]
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
