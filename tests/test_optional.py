"""Optional packages: a missing one is a one-line error naming its extra, and a study without PyTorch
runs without its deep family (one warning line, a note in the report), never a traceback.

"PyTorch missing" is simulated for real: in this process ``sys.modules["torch"] = None`` (Python
then raises ModuleNotFoundError on ``import torch``); in a subprocess a meta path finder refuses
every ``torch`` module. radsig itself only sees the ImportError, as in a core-only install.
"""

from __future__ import annotations

import ast
import importlib.abc
import inspect
import json
import os
import re
import subprocess
import sys
import warnings
from importlib import metadata
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from radsig import _optional
from radsig._optional import MissingExtraError, MissingExtraWarning, install_command, require
from radsig.config.study import load_study
from radsig.exceptions import ConfigError, RadsigError
from radsig.study.demo import demo_files
from radsig.study.extra_features import skip_unavailable_families, without_families

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())

class _NoTorch(importlib.abc.MetaPathFinder):
    """Finds no ``torch`` module, as where PyTorch is not installed (``import torch`` → ModuleNotFoundError)."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


# The same finder in a child process, then the CLI.
NO_TORCH = f"""
import importlib.abc, sys
{inspect.getsource(_NoTorch)}
sys.meta_path.insert(0, _NoTorch())
sys.argv = ["radsig", *sys.argv[1:]]
from radsig.cli.main import main
main()
"""


@pytest.fixture
def no_torch(monkeypatch):
    """``import torch`` fails in this process (radsig's memo of what imports starts empty)."""
    monkeypatch.setattr(_optional, "_MISSING", {})
    for name in [m for m in sys.modules if m == "torch" or m.startswith(("torch.", "radsig.deep."))]:
        monkeypatch.delitem(sys.modules, name)  # imported again (and failing) under the finder
    monkeypatch.setattr(sys, "meta_path", [_NoTorch(), *sys.meta_path])


def _demo_spec(tmp_path, mutate=None):
    doc = yaml.safe_load(demo_files()[0].read_text())
    if mutate:
        mutate(doc)
    return load_study(doc, base_dir=tmp_path)


# --------------------------------------------------------------------------- require / the extras table
def test_require_names_the_extra_and_install_command(no_torch):
    with pytest.raises(MissingExtraError) as info:
        require("torch.nn.functional", "deep")
    err = info.value
    assert isinstance(err, ImportError) and isinstance(err, RadsigError)  # the CLI prints it as `error: ...`
    assert str(err) == "PyTorch is not installed; it is part of radsig's 'deep' extra: pip install \"radsig[deep]\""
    assert (err.module, err.extra, err.reason) == ("torch.nn.functional", "deep", "PyTorch is not installed")
    assert isinstance(err.__cause__, ImportError)


def test_require_returns_the_module_and_keeps_a_broken_install_cause(monkeypatch):
    assert require("json", "deep") is json
    with pytest.raises(ValueError, match="unknown extra"):
        require("json", "no_such_extra")
    broken = ImportError("libtorch_cpu.so: cannot open shared object file")
    monkeypatch.setattr(_optional.importlib, "import_module", lambda name: (_ for _ in ()).throw(broken))
    with pytest.raises(MissingExtraError, match=r"does not import \(ImportError: libtorch_cpu.so"):
        require("torch", "deep")


def test_deep_modules_fail_with_the_extra_not_a_bare_import_error(no_torch):
    import importlib

    for module in ("radsig.deep.backbones", "radsig.deep.extract", "radsig.deep.train", "radsig.deep.weights"):
        with pytest.raises(MissingExtraError, match=re.escape(install_command("deep"))):
            importlib.import_module(module)
    from radsig.deep import CropSpec  # the crop code needs no torch

    assert CropSpec().n_voxels > 0


def test_predict_with_a_deep_model_file_names_the_extra(no_torch, tmp_path):
    """A model file with deep features, scored where PyTorch is missing: the error says what to install."""
    import pandas as pd

    from radsig.study.extra_features import extract_extra_direct

    doc = {"deep": {"PET": {"weights": "deep_PET/deep_weights.json", "sha256": "0" * 64}}}
    man = pd.DataFrame({"patient_id": ["p1"], "modality": ["PET"], "image": ["i.nii.gz"], "mask": ["m.nii.gz"]})
    with pytest.raises(MissingExtraError, match=re.escape('pip install "radsig[deep]"')):
        extract_extra_direct(doc, man, tmp_path, id_column="patient_id")


def _src_imports() -> dict[str, str]:
    """Top-level package of every import (and require()/import_module() call) in src → first file."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "src" / "radsig").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "require"
                  and node.args and isinstance(node.args[0], ast.Constant)):
                names = [node.args[0].value]
            for n in names:
                found.setdefault(n.split(".")[0], str(path.relative_to(REPO)))
    return found


def _installed_by(requirements: list[str]) -> set[str]:
    """Distributions that installing *requirements* brings in (their dependencies too, extras followed)."""
    todo, seen = [Requirement(r) for r in requirements], set()
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = [Requirement(r) for r in metadata.requires(req.name) or []]
        except metadata.PackageNotFoundError:
            continue
        todo += [r for r in reqs if r.marker is None
                 or any(r.marker.evaluate({"extra": e}) for e in (req.extras or {""}))]
    return seen


def test_every_third_party_import_is_a_core_dependency_or_an_extra():
    """What src imports is installed by ``pip install radsig`` or named by an extra via require()."""
    dists = {k: {canonicalize_name(d) for d in v} for k, v in metadata.packages_distributions().items()}
    core = _installed_by(PYPROJECT["project"]["dependencies"])
    extras = PYPROJECT["project"]["optional-dependencies"]
    unexplained = []
    for top, where in _src_imports().items():
        if top in sys.stdlib_module_names or top == "radsig":
            continue
        provided_by = dists.get(top, {canonicalize_name(top)})
        if provided_by & core:
            continue
        declared = [e for e, pkgs in _optional.EXTRAS.items() if top in pkgs]
        if declared and all(provided_by & {canonicalize_name(Requirement(r).name) for r in extras[e]}
                            for e in declared):
            continue
        unexplained.append(f"{top} ({where})")
    assert not unexplained, f"imported by src but neither a core dependency nor an extra in radsig._optional: {unexplained}"
    test_extra = {canonicalize_name(Requirement(r).name) for r in extras["test"]}
    for extra in _optional.EXTRAS:  # every extra of the table exists in pyproject and is in the test extra
        assert {canonicalize_name(Requirement(r).name) for r in extras[extra]} <= test_extra


# --------------------------------------------------------------------------- a study without PyTorch
def test_without_deep_drops_deep_only_models_and_their_references(tmp_path):
    spec = _demo_spec(tmp_path, lambda d: d["models"].append(
        {"name": "deep_nomogram", "kind": "combined", "endpoint": "response", "include": ["deep"],
         "covariates": ["ecog"]}))
    new, gone, narrowed = without_families(spec, {"deep"})
    assert gone == ["deep", "deep_nomogram"] and narrowed == ["fused"]
    assert new.features.families == ["ibsi", "habitat"]
    assert [m.name for m in new.models] == [m.name for m in spec.models if m.name not in gone]
    assert new.model("fused").families == ["ibsi", "habitat"]
    assert ("deep", "radiomics") in spec.comparisons and ("deep", "radiomics") not in new.comparisons
    assert [c for c in new.comparisons] == [c for c in spec.comparisons if "deep" not in c]
    assert "deep" in spec.biology.models and new.biology.models == [m for m in spec.biology.models if m != "deep"]
    assert new.base_dir == spec.base_dir and new.model("radiomics") == spec.model("radiomics")


def test_study_without_torch_warns_once_and_notes_the_install_command(no_torch, tmp_path):
    spec = _demo_spec(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        new, notes = skip_unavailable_families(spec, source="study.yaml")
    lines = [str(w.message) for w in caught if issubclass(w.category, MissingExtraWarning)]
    assert len(lines) == 1 and len(caught) == 1
    assert lines[0].startswith("study.yaml: features.families asks for 'deep' but PyTorch is not installed")
    assert "\n" not in lines[0] and 'pip install "radsig[deep]"' in lines[0]
    assert len(notes) == 1 and 'pip install "radsig[deep]"' in notes[0] and "models not fitted: deep" in notes[0]
    assert "deep" not in new.features.families


def test_study_with_torch_is_unchanged(tmp_path):
    import torch  # noqa: F401  (in the test extra: a missing one fails here)

    spec = _demo_spec(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingExtraWarning)
        new, notes = skip_unavailable_families(spec)
    assert new is spec and notes == []


def test_study_of_deep_models_only_is_an_error_without_torch(no_torch, tmp_path):
    def only_deep(doc):
        doc["models"] = [m for m in doc["models"] if m["name"] == "deep"]
        doc["comparisons"], doc["biology"]["models"] = [], ["deep"]

    with pytest.raises(ConfigError, match=r"every model of the study needs the deep family.*radsig\[deep\]"):
        skip_unavailable_families(_demo_spec(tmp_path, only_deep), source="s.yaml")


def _cli_without_torch(*args, cwd):
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", NO_TORCH, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_demo_cli_without_torch_skips_deep_with_one_line_and_a_note(tmp_path):
    """``radsig demo`` where PyTorch does not import: exit 0, one warning line, the report's note."""
    out = tmp_path / "demo"
    res = _cli_without_torch("demo", "--n", "80", "--out", out, "--quiet", cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Traceback" not in res.stderr
    warn = [ln for ln in res.stderr.splitlines() if ln.startswith("warning: ")]
    assert len(warn) == 1, res.stderr[-3000:]
    assert "PyTorch is not installed" in warn[0] and 'pip install "radsig[deep]"' in warn[0]
    assert str(out / "data" / "study.yaml") in warn[0]
    assert f"report: {(out / 'report.html').resolve()}" in res.stdout
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "The deep feature family of the study file was skipped" in html
    assert "pip install &#34;radsig[deep]&#34;" in html
    results = json.loads((out / "results.json").read_text())
    assert "deep" not in results["models"] and "fused" in results["models"]
    assert all(not f.split("_", 1)[1].startswith("deep_") for f in results["models"]["fused"]["features"])
    model = json.loads((out / "model.json").read_text())
    assert "deep" not in model.get("extra_features", {}) and "habitat" in model["extra_features"]

    # validate-study on the same study file: the warning line, and still exit 0 (the study runs)
    res = _cli_without_torch("validate-study", out / "data" / "study.yaml", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "radsig[deep]" in lines[0], res.stderr
    assert "study file OK" in res.stdout and "9 models" in res.stdout
