"""Bad study files fail with a clear message before any extraction starts."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
import yaml

from radsig.config.study import load_study
from radsig.exceptions import ConfigError
from radsig.study.demo import demo_files
from radsig.study.runner import run_study, validate
from radsig.synth import make_demo_cohort
from radsig.synth.biology import make_demo_biology


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("study_data")
    cohort = make_demo_cohort(root, n=48, seed=11)
    make_demo_biology(root, cohort.clinical, seed=11)  # the demo study's expression + IHC inputs
    study, settings = demo_files()
    shutil.copyfile(settings, root / "features.yaml")
    return root


def _write(root, mutate=None, name="study.yaml"):
    study, _ = demo_files()
    doc = yaml.safe_load(study.read_text())
    if mutate:
        mutate(doc)
    path = root / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_shipped_demo_study_is_valid(cohort_dir):
    spec, data, settings = validate(_write(cohort_dir))
    assert spec.training.name == "training"
    assert set(data) == {"training", "internal", "external", "immunotherapy"}


def test_params_copy_equals_packaged_demo_study():
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    for packaged in demo_files():
        assert (repo / "params" / "demo" / packaged.name).read_text() == packaged.read_text()


def _unknown_key(d):
    d["modles"] = d.pop("models")


def _unknown_nested_key(d):
    d["cohorts"][0]["manfest"] = "x.csv"


def _missing_path(d):
    d["cohorts"][2]["manifest"] = "nowhere/external_manifest.csv"


def _missing_covariate(d):
    d["models"][1]["covariates"].append("smoking_pack_years")


def _two_trainings(d):
    d["cohorts"][1]["role"] = "training"


def _bad_reference(d):
    d["comparisons"].append(["combined", "no_such_model"])


def _one_class(d):
    d["endpoints"][0]["positive"] = 7


@pytest.mark.parametrize("mutate, message", [
    (_unknown_key, r"modles: unknown key"),
    (_unknown_nested_key, r"cohorts\.0\.manfest: unknown key"),
    (_missing_path, r"file not found: .*nowhere"),
    (_missing_covariate, r"smoking_pack_years"),
    (_two_trainings, r"exactly one cohort must have role 'training'"),
    (_bad_reference, r"no_such_model"),
    (_one_class, r"one class only"),
], ids=["unknown-key", "unknown-nested-key", "path-not-found", "missing-column", "two-training",
        "undefined-model", "one-class"])
def test_bad_study_file_is_rejected_before_extraction(cohort_dir, tmp_path, mutate, message):
    path = _write(cohort_dir, mutate, name=f"bad_{mutate.__name__}.yaml")
    with pytest.raises(ConfigError, match=message):
        run_study(path, tmp_path / "out")
    assert not (tmp_path / "out" / "features").exists()


def test_missing_column_in_clinical_table(cohort_dir, tmp_path):
    bad = tmp_path / "data"
    shutil.copytree(cohort_dir, bad)
    clin = pd.read_csv(bad / "external_clinical.csv").drop(columns=["os_event"])
    clin.to_csv(bad / "external_clinical.csv", index=False)
    with pytest.raises(ConfigError, match=r"cohort 'external'.*os_event"):
        validate(_write(bad))


def test_cli_validate_study_and_study_report_errors(cohort_dir, tmp_path, run_cli):
    good = run_cli("validate-study", _write(cohort_dir))
    assert good.returncode == 0, good.stderr
    assert "study file OK" in good.stdout
    bad = _write(cohort_dir, _one_class, name="bad_cli.yaml")
    for args in (("validate-study", bad), ("study", bad, "--out", tmp_path / "o")):
        res = run_cli(*args)
        assert res.returncode == 2
        assert res.stderr.startswith("error:") and "one class only" in res.stderr
        assert "Traceback" not in res.stderr
    assert not (tmp_path / "o" / "features").exists()


def test_load_study_reports_yaml_errors(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="malformed YAML"):
        load_study(p)
    with pytest.raises(ConfigError, match="not found"):
        load_study(tmp_path / "missing.yaml")
