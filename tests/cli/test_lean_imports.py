"""One ``radsig extract`` imports only what its settings need; ``radsig --help`` imports little.

Each check runs the command in a fresh interpreter (``-c`` wrapper calling the console entry
point) and then lists the heavy modules present in ``sys.modules``; no timings are asserted.
The CSV the command writes without pandas is compared byte for byte with pandas' ``to_csv``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import yaml

from radsig.cli.extract import write_csv

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "scipy", "scipy.ndimage", "scipy.optimize", "dask", "distributed",
         "matplotlib", "torch", "sklearn", "SimpleITK", "pywt", "skimage", "rich", "pydantic")

_WRAPPER = """
import json, sys
args, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.argv = ["radsig"] + args
from radsig.cli.main import main
code = 0
try:
    main()
except SystemExit as exit_:
    code = exit_.code if isinstance(exit_.code, int) else 1
heavy = sorted(m for m in watched if m in sys.modules)
print("\\n" + json.dumps({"code": code, "heavy": heavy}))
"""


def _run(*args) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, json.dumps([str(a) for a in args]),
                           json.dumps(HEAVY)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, proc.stderr
    return result


@pytest.fixture
def nifti_case(tmp_path, image_factory):
    image, mask = image_factory(shape=(40, 64, 64), spacing=(2.0, 0.8, 0.8))
    image = sitk.Cast(image * 4.0, sitk.sitkInt16)  # HU-like, inside default_ct.yaml's range
    sitk.WriteImage(image, str(tmp_path / "ct.nii.gz"))
    sitk.WriteImage(mask, str(tmp_path / "gtv.nii.gz"))
    return tmp_path / "ct.nii.gz", tmp_path / "gtv.nii.gz"


def test_help_imports_little():
    result = _run("--help")
    assert result["heavy"] == []


def test_pyradiomics_extract_imports_no_heavy_library(nifti_case, tmp_path):
    image, mask = nifti_case
    params = tmp_path / "s1.yaml"
    params.write_text(yaml.safe_dump({
        "setting": {"resampledPixelSpacing": [1, 1, 1], "interpolator": "sitkBSpline",
                    "binWidth": 25},
        "imageType": {"Original": {}, "LoG": {"sigma": [1.0]}, "Wavelet": {}},
        "featureClass": {c: None for c in ("shape", "firstorder", "glcm", "glrlm", "glszm",
                                           "gldm", "ngtdm")}}))
    out = tmp_path / "f.csv"
    result = _run("extract", image, mask, "--params", params, "--out", out)
    assert result["heavy"] == []
    table = pd.read_csv(out)
    assert len(table) == 107 + 9 * 93 and table["value"].notna().all()  # original, LoG, 8 wavelets


def test_ibsi_extract_imports_no_table_or_model_library(nifti_case, tmp_path):
    image, mask = nifti_case
    out = tmp_path / "f.csv"
    result = _run("extract", image, mask, "--params", REPO / "params/ibsi/default_ct.yaml",
                  "--out", out)
    # the ROI mesh needs scikit-image's marching cubes; no pydantic (the settings are checked
    # dataclasses), no SciPy (NumPy resampling and FFT, the convex hull's C kernel) and no
    # SimpleITK (the NIfTI reader)
    from radsig.features import _mesh

    allowed = {"skimage"} | (set() if _mesh._chull is not None
                                         else {"scipy", "scipy.optimize"})  # no C compiler: Qhull
    assert set(result["heavy"]) <= allowed, result["heavy"]
    assert len(pd.read_csv(out)) == 215


@pytest.mark.parametrize("sep", [",", "\t"])
def test_csv_writer_matches_pandas(sep):
    rows = [("a", "fam", "X1", "", 1.5), ("b,c", "fam", "", "ITBB", float("nan")),
            ('q"uote', "", "", "", 0.1 + 0.2), ("big", "", "", "", 1e22),
            ("tiny", "", "", "", -1.234e-300), ("inf", "", "", "", float("inf")),
            ("neg0", "", "", "", -0.0), ("int", "", "", "", 31624.0),
            ("np", "", "", "", np.float64(2.0) / 3)]
    columns = ["feature", "family", "ibsi_code", "aggregation_code", "value"]
    mine, ref = io.StringIO(), io.StringIO()
    write_csv(mine, rows, columns, sep=sep)
    pd.DataFrame(rows, columns=columns).to_csv(ref, index=False, sep=sep)
    assert mine.getvalue() == ref.getvalue()
    wide = {r[0]: float(r[4]) for r in rows}
    mine, ref = io.StringIO(), io.StringIO()
    write_csv(mine, [tuple(wide.values())], list(wide), sep=sep)
    pd.DataFrame([wide]).to_csv(ref, index=False, sep=sep)
    assert mine.getvalue() == ref.getvalue()


def test_gc_tuned_only_when_radsig_is_the_program():
    """``python -m radsig`` / the console script tune the GC; a program calling main() is left
    alone (pytest here)."""
    import gc

    from radsig.cli import main as cli_main

    assert not cli_main._is_program()
    code = ("import gc, runpy, sys\n"
            "sys.argv = ['radsig', '--version']\n"
            "try:\n"
            "    runpy.run_module('radsig', run_name='__main__', alter_sys=True)\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(gc.get_freeze_count() > 0, gc.get_threshold()[0])\n")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-2:] == ["True", "10000"]
    assert gc.get_threshold()[0] != 10000


def test_command_table_names_every_command_of_each_module():
    """``radsig <command>`` registers only COMMANDS[command]'s module: the table must say which
    module registers each command, and name them all."""
    import importlib

    import typer
    from typer.main import get_command

    from radsig.cli.main import COMMANDS, app

    for module in set(COMMANDS.values()):
        one = typer.Typer()
        one.callback()(lambda: None)
        importlib.import_module(f"radsig.cli.{module}").register(one)
        names = set(get_command(one).commands)
        assert names == {c for c, m in COMMANDS.items() if m == module}, module
    assert set(get_command(app).commands) == set(COMMANDS)


def test_one_command_registers_only_its_module(nifti_case, tmp_path):
    image, mask = nifti_case
    code = ("import sys; sys.argv = ['radsig', 'extract', 'x']; import radsig.cli.main as m; "
            "m._is_program = lambda: True; print(sorted(m._modules_to_register()))")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "['extract']", out.stderr
    result = _run("extract", image, mask, "--out", tmp_path / "f.csv")  # still works in full
    assert result["code"] == 0


def test_extract_keeps_freed_memory_for_reuse():
    """`radsig extract` asks glibc to keep freed blocks (no page faults to get them back): a
    loop allocating and freeing a few MB of arrays (as an extraction's pieces and FFT buffers)
    then faults a few pages, not ~1,500 per round (glibc trims the freed heap top)."""
    import platform
    import subprocess
    import sys

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc's mallopt only")
    code = """
import os, resource, numpy as np
os.environ.pop("GLIBC_TUNABLES", None)
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(40):
        a, b, c = np.ones(1 << 19), np.ones(1 << 19), np.ones(1 << 18)  # 4, 4 and 2 MB
        del a, b, c
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
plain = faults()
from radsig.cli.main import _keep_freed_memory
_keep_freed_memory()
faults()  # the first block comes from the kernel once
print(plain, faults())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={k: v for k, v in __import__("os").environ.items()
                                          if k != "GLIBC_TUNABLES"})
    plain, kept = map(int, out.stdout.split())
    assert plain > 40 * 1000 and kept < 200, (plain, kept)
