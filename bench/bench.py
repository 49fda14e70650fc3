"""Benchmark radsig's PyRadiomics mode against PyRadiomics on synthetic CT cases.

Usage (from the repository root)::

    python3 -m venv bench/.venv-pyradiomics
    bench/.venv-pyradiomics/bin/pip install pyradiomics-bhklab==3.1.4
    python3 -m venv bench/.venv-radsig                 # radsig's dependencies, clean like the above
    bench/.venv-radsig/bin/pip install .
    python bench/bench.py --out bench/results          # generate cases, run both, report

Cases: 512×512×120 CT volumes, spacing 0.8×0.8×2.5 mm, int16 HU (body, lungs, spine, noise),
each with one lobulated tumour of about 20, 40 or 80 mm diameter. Images are written as
uncompressed NIfTI, masks as gzipped NIfTI; both tools read the same files.

Settings: S1 = resample to 1 mm (B-spline), bin width 25, shape + firstorder + glcm + glrlm +
glszm + gldm + ngtdm (107 features); S2 = S1 + Wavelet (coif1, 8 decompositions) + LoG sigma
1–5 mm (1,316 features).

Each tool runs ``--repeats`` times (default 3) per case and setting, in its own process and its
own virtual environment, alternating with the other tool; medians are reported (every run is in
``results.json``). radsig's code is this checkout's ``src/``. Reported: whole-process wall time, extraction time (as timed inside the process), peak resident memory of
the process (its ``VmHWM``, read by the process itself at the end), and the largest relative difference over all features.
radsig's optional C texture kernels are built in place first (``setup.py build_ext --inplace``);
``--no-c-kernels`` times the NumPy-only path; each row records which one ran.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHAPE = (120, 512, 512)  # z, y, x
SPACING = (0.8, 0.8, 2.5)  # x, y, z (SimpleITK order)
TUMOURS = {"small": 20.0, "medium": 40.0, "large": 80.0}
CLASSES = ["shape", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm"]
SETTINGS = {
    "S1": {"setting": {"resampledPixelSpacing": [1, 1, 1], "interpolator": "sitkBSpline",
                       "binWidth": 25, "additionalInfo": False},
           "imageType": {"Original": {}}, "featureClass": {c: None for c in CLASSES}},
    "S2": {"setting": {"resampledPixelSpacing": [1, 1, 1], "interpolator": "sitkBSpline",
                       "binWidth": 25, "additionalInfo": False},
           "imageType": {"Original": {}, "Wavelet": {"wavelet": "coif1"},
                         "LoG": {"sigma": [1.0, 2.0, 3.0, 4.0, 5.0]}},
           "featureClass": {c: None for c in CLASSES}},
}


def make_case(diameter_mm: float, seed: int):
    """A synthetic CT volume (int16, z/y/x) and its tumour mask (uint8)."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    nz, ny, nx = SHAPE
    sx, sy, sz = SPACING
    y = (np.arange(ny) - ny / 2) * sy
    x = (np.arange(nx) - nx / 2) * sx
    yy, xx = np.meshgrid(y, x, indexing="ij")
    plane = np.full((ny, nx), -1000.0, dtype=np.float32)
    plane[(xx / 170) ** 2 + (yy / 125) ** 2 <= 1] = 40.0
    for cx in (-75.0, 75.0):
        plane[((xx - cx) / 60) ** 2 + ((yy + 5) / 85) ** 2 <= 1] = -850.0
    plane[(xx ** 2 + (yy - 95) ** 2) <= 18 ** 2] = 450.0
    vol = np.broadcast_to(plane, SHAPE).astype(np.float32)
    vol = vol + rng.normal(0.0, 18.0, size=SHAPE).astype(np.float32)
    # lobulated tumour in the right lung, centred in the volume along z
    r0 = diameter_mm / 2
    half = int(np.ceil(1.4 * r0 / min(sx, sy))) + 2
    halfz = int(np.ceil(1.4 * r0 / sz)) + 2
    cz, cy, cx = nz // 2, ny // 2 - int(5 / sy), nx // 2 - int(75 / sx)
    zs = slice(max(cz - halfz, 0), min(cz + halfz, nz))
    ys, xs = slice(cy - half, cy + half), slice(cx - half, cx + half)
    z = (np.arange(zs.start, zs.stop) - cz) * sz
    yv = (np.arange(ys.start, ys.stop) - cy) * sy
    xv = (np.arange(xs.start, xs.stop) - cx) * sx
    Z, Y, X = np.meshgrid(z, yv, xv, indexing="ij")
    r = np.sqrt(Z ** 2 + Y ** 2 + X ** 2) + 1e-9
    theta, phi = np.arccos(Z / r), np.arctan2(Y, X)
    radius = r0 * (1 + 0.12 * np.sin(3 * phi) * np.sin(theta) ** 2 + 0.08 * np.cos(2 * theta)
                   + 0.06 * np.sin(5 * phi + 2 * theta))
    tumour = r <= radius
    texture = ndimage.gaussian_filter(rng.normal(0, 1, size=tumour.shape), 1.5) * 120
    core = np.clip(1 - r / radius, 0, 1)
    values = 35.0 + texture - 60 * (core > 0.7) + rng.normal(0, 12, size=tumour.shape)
    sub = vol[zs, ys, xs].copy()
    sub[tumour] = values[tumour]
    vol = np.ascontiguousarray(vol)
    vol[zs, ys, xs] = sub
    mask = np.zeros(SHAPE, dtype=np.uint8)
    mask[zs, ys, xs] = tumour
    return np.clip(np.round(vol), -1024, 3071).astype(np.int16), mask


def write_cases(folder: Path, names=None, image_suffix: str = ".nii") -> dict[str, tuple[Path, Path]]:
    """The synthetic cases (seeded, reused when present): image as ``image_suffix`` (``.nii`` for
    the library-call benchmark, ``.nii.gz`` for the command line's), mask gzipped NIfTI."""
    import SimpleITK as sitk

    folder.mkdir(parents=True, exist_ok=True)
    cases = {}
    for k, (name, diameter) in enumerate(TUMOURS.items()):
        if names is not None and name not in names:
            continue
        image_path = folder / f"{name}_image{image_suffix}"
        mask_path = folder / f"{name}_mask.nii.gz"
        if not (image_path.exists() and mask_path.exists()):
            vol, mask = make_case(diameter, seed=100 + k)
            for arr, path in ((vol, image_path), (mask, mask_path)):
                img = sitk.GetImageFromArray(arr)
                img.SetSpacing(SPACING)
                img.SetOrigin((-204.8, -204.8, -150.0))
                sitk.WriteImage(img, str(path), useCompression=path.name.endswith(".gz"))
        cases[name] = (image_path, mask_path)
    return cases


def write_params(folder: Path) -> dict[str, Path]:
    import yaml

    out = {}
    for name, params in SETTINGS.items():
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(params, sort_keys=False))
        out[name] = path
    return out


def run_tool(cmd: list[str], env: dict) -> dict:
    """Run one process; its wall time (peak memory comes from the process's own VmHWM)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[1]} failed ({proc.returncode}):\n{err[-3000:]}")
    return {"wall_s": wall}


def compare(ref: dict, mine: dict) -> dict:
    diffs = {}
    for name, b in ref.items():
        v = mine.get(name, np.nan)
        if b == 0:
            diffs[name] = 0.0 if v == 0 else abs(v)
        else:
            diffs[name] = abs(v - b) / abs(b)
    arr = np.array(list(diffs.values()), dtype=float)
    worst = max(diffs, key=lambda k: (np.nan_to_num(diffs[k], nan=np.inf)))
    return {"n_ref": len(ref), "n_radsig": len(mine), "missing": len(set(ref) - set(mine)),
            "max_rel": float(np.nanmax(arr)) if arr.size else 0.0, "worst": worst,
            "n_nan": int(np.isnan(arr).sum()), "n_above_1e-4": int((arr > 1e-4).sum()),
            "median_rel": float(np.nanmedian(arr)) if arr.size else 0.0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--cases", nargs="*", default=list(TUMOURS))
    ap.add_argument("--settings", nargs="*", default=list(SETTINGS))
    ap.add_argument("--pyradiomics-python", default=str(HERE / ".venv-pyradiomics/bin/python"))
    ap.add_argument("--radsig-python", default=None,
                    help="interpreter for radsig (default: bench/.venv-radsig/bin/python if it "
                         "exists, else this one); radsig itself comes from this checkout's src/")
    ap.add_argument("--repeats", type=int, default=3,
                    help="runs per tool, case and setting (alternating tools); medians reported")
    ap.add_argument("--no-compile", action="store_true",
                    help="do not byte-compile radsig's sources before timing")
    ap.add_argument("--no-c-kernels", action="store_true",
                    help="time radsig without its optional C texture kernels (NumPy only)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    cases = write_cases(out / "cases")
    params = write_params(out)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), OMP_NUM_THREADS="1")
    # Each tool runs in its own clean virtual environment: a shared interpreter's site-packages
    # may run code at every start-up (.pth files; on this machine one imports certifi, ~40 ms)
    # that PyRadiomics' venv does not pay.
    radsig_python = args.radsig_python or (str(HERE / ".venv-radsig/bin/python")
                                           if (HERE / ".venv-radsig/bin/python").exists()
                                           else sys.executable)
    # Byte-compile radsig's sources first, as installing a package does (PyRadiomics and the
    # libraries both tools import are installed, with bytecode): a checkout run with
    # PYTHONDONTWRITEBYTECODE=1 would otherwise compile ~60 ms of radsig source in every process.
    if not args.no_compile:
        subprocess.run([radsig_python, "-m", "compileall", "-q", str(REPO / "src" / "radsig")],
                       check=True)
    # radsig's optional C kernels, built next to the sources (as ``pip install -e .`` does);
    # without a compiler radsig runs its NumPy matrices and the table says so.
    if not args.no_c_kernels:
        built = subprocess.run([radsig_python, "setup.py", "-q", "build_ext", "--inplace"],
                               cwd=REPO, check=False, capture_output=True, text=True)
        if built.returncode != 0:
            print("warning: could not build radsig's C kernels (needs a C compiler and setuptools "
                  "in the radsig environment); timing the NumPy path:\n" + built.stderr[-800:],
                  file=sys.stderr)
    else:
        env["RADSIG_NO_CKERNELS"] = "1"
    results = []
    for case in args.cases:
        image, mask = cases[case]
        for data in (image, mask):  # same warm page cache for both tools
            data.read_bytes()
        for setting in args.settings:
            row = {"case": case, "setting": setting}
            runs: dict[str, list[dict]] = {"pyradiomics": [], "radsig": []}
            for _ in range(max(1, args.repeats)):
                for tool, python, script in (
                        ("pyradiomics", args.pyradiomics_python, HERE / "_run_pyradiomics.py"),
                        ("radsig", radsig_python, HERE / "_run_radsig.py")):
                    json_out = out / f"{case}_{setting}_{tool}.json"
                    stats = run_tool([python, str(script), str(image), str(mask),
                                      str(params[setting]), str(json_out)], env)
                    data = json.loads(json_out.read_text())
                    runs[tool].append(dict(stats, extract_s=data["extract_s"],
                                           import_s=data["import_s"], peak_mib=data["peak_mib"]))
                    if "c_kernels" in data:
                        row["radsig_c_kernels"] = data["c_kernels"]
                    row[f"{tool}_features"] = data["features"]
            for tool, tool_runs in runs.items():  # medians over the repeats, and every run
                row[tool] = {k: float(np.median([r[k] for r in tool_runs])) for k in tool_runs[0]}
                row[tool]["runs"] = tool_runs
            row["diff"] = compare(row.pop("pyradiomics_features"), row.pop("radsig_features"))
            results.append(row)
            print(json.dumps(row), flush=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(markdown(results))
    return 0


def markdown(results: list[dict]) -> str:
    lines = ["| case | setting | features | PyRadiomics process / extraction (s) | radsig process / "
             "extraction (s) | speed-up process / extraction | peak MiB PyRadiomics / radsig | "
             "max rel. diff (worst feature) | features > 1e-4 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        p, m, d = r["pyradiomics"], r["radsig"], r["diff"]
        lines.append(
            f"| {r['case']} | {r['setting']} | {d['n_ref']} | {p['wall_s']:.2f} / "
            f"{p['extract_s']:.2f} | {m['wall_s']:.2f} / {m['extract_s']:.2f} | "
            f"{p['wall_s'] / m['wall_s']:.1f}× / {p['extract_s'] / m['extract_s']:.1f}× | "
            f"{p['peak_mib']:.0f} / {m['peak_mib']:.0f} | {d['max_rel']:.1e} ({d['worst']}) | "
            f"{d['n_above_1e-4']} |")
    used = {r.get("radsig_c_kernels") for r in results}
    if used != {True}:
        lines.append("\nradsig ran without its C kernels in some rows (no compiler, no setuptools in "
                     "its environment, or --no-c-kernels): see radsig_c_kernels in results.json")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
