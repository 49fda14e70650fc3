"""The demo recovers what was planted; predict reproduces the study; the negative control does not.

Every test reads the session's ``radsig demo`` run at its default size (tests/study/demo_runs.py).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

pytestmark = pytest.mark.xdist_group(name="demo")


def _results(folder):
    return json.loads((folder / "results.json").read_text())


def test_outputs_written(demo_dir):
    for name in ("results.json", "model.json", "report.html", "predictions.csv", "table1.csv"):
        assert (demo_dir / name).is_file(), name
    assert (demo_dir / "features" / "external_features.csv").is_file()
    pngs = sorted((demo_dir / "figures").glob("*.png"))
    assert pngs and all(p.with_suffix(".svg").is_file() for p in pngs)


def test_results_schema(demo_dir):
    res = _results(demo_dir)
    for model in res["models"].values():
        for cohort, metrics in model["cohorts"].items():
            for name, value in metrics.items():
                assert {"estimate", "ci_low", "ci_high"} <= set(value), (cohort, name)
    auc = res["models"]["radiomics"]["cohorts"]["external"]["auc"]
    assert auc["ci_low"] <= auc["estimate"] <= auc["ci_high"]
    assert res["models"]["radiomics"]["cutoff"]["method"].startswith("median")
    assert {c["test"] for c in res["comparisons"]} == {"DeLong"}


def test_planted_signal_recovered(demo_dir):
    res = _results(demo_dir)
    ext = res["models"]["radiomics"]["cohorts"]["external"]
    assert ext["auc"]["estimate"] >= 0.75
    assert ext["auc"]["ci_low"] > 0.5
    comb = res["models"]["combined"]["cohorts"]
    rad = res["models"]["radiomics"]["cohorts"]
    # combined nomogram (Rad-score + immune score + clinical) at least as good as radiomics alone,
    # pooled over the validation cohorts (single small cohorts are noisy)
    val = [c for c in rad if c != "training"]
    assert sum(comb[c]["auc"]["estimate"] for c in val) >= sum(rad[c]["auc"]["estimate"] for c in val) - 0.01
    # KM separation of the Rad-score risk groups (training cut-off) in the validation cohorts
    p_values = [res["models"]["radiomics"]["cohorts"][c]["logrank_os"]["p_value"] for c in val]
    assert min(p_values) < 0.05


N_PREDICT = 16  # external patients scored by predict (re-extraction without cache is the slow part)


@pytest.fixture(scope="module")
def external_subset(demo_dir) -> tuple:
    """Manifest of the first external patients (both modalities) and their patient IDs."""
    data = demo_dir / "data"
    man = pd.read_csv(data / "external_manifest.csv")
    ids = list(dict.fromkeys(man["patient_id"]))[:N_PREDICT]
    man[man["patient_id"].isin(ids)].to_csv(data / "external_subset_manifest.csv", index=False)
    return data / "external_subset_manifest.csv", ids


def test_predict_reproduces_study_predictions(demo_dir, run_cli, tmp_path, external_subset):
    data = demo_dir / "data"
    manifest, ids = external_subset
    out = tmp_path / "pred.csv"
    res = run_cli("predict", demo_dir / "model.json", "--manifest", manifest,
                  "--clinical", data / "external_clinical.csv", "--out", out)
    assert res.returncode == 0, res.stderr
    got = pd.read_csv(out)
    study = pd.read_csv(demo_dir / "predictions.csv")
    study = study[study["cohort"] == "external"].drop(columns="cohort").reset_index(drop=True)
    study = study[study["patient_id"].isin(ids)].reset_index(drop=True)
    assert len(study) == N_PREDICT
    pd.testing.assert_frame_equal(got, study, check_exact=True)


def test_predict_without_clinical_scores_image_only_models(demo_dir, external_subset):
    from radsig.study.predict import predict

    table = predict(demo_dir / "model.json", manifest=external_subset[0])
    assert "radiomics_score" in table.columns and "combined_score" not in table.columns


def test_predict_errors(demo_dir, tmp_path, external_subset):
    from radsig.exceptions import ConfigError, ModelFileError
    from radsig.study.predict import predict

    data = demo_dir / "data"
    clin = pd.read_csv(data / "external_clinical.csv").drop(columns=["immune_score"])
    clin.to_csv(tmp_path / "clin.csv", index=False)
    with pytest.raises(ConfigError, match="immune_score"):
        predict(demo_dir / "model.json", manifest=external_subset[0], clinical=tmp_path / "clin.csv")
    bad = json.loads((demo_dir / "model.json").read_text())
    bad["format_version"] = 99
    (tmp_path / "m.json").write_text(json.dumps(bad))
    with pytest.raises(ModelFileError, match="format_version 99"):
        predict(tmp_path / "m.json", manifest=data / "external_manifest.csv")
    man = pd.read_csv(data / "external_manifest.csv")
    man[man["modality"] == "CT"].to_csv(tmp_path / "ct_only.csv", index=False)
    with pytest.raises(ConfigError, match="PET"):
        predict(demo_dir / "model.json", manifest=tmp_path / "ct_only.csv")


@pytest.mark.slow
def test_negative_control_covers_chance(demo_negative_dir, demo_dir):
    res = _results(demo_negative_dir)
    assert res["demo"]["negative_control"] is True
    assert res["demo"]["n_patients"] == _results(demo_dir)["demo"]["n_patients"]
    for model in ("radiomics", "ensemble"):
        for cohort in ("internal", "external", "immunotherapy"):
            auc = res["models"][model]["cohorts"][cohort]["auc"]
            assert auc["ci_low"] <= 0.5 <= auc["ci_high"], (model, cohort, auc)


@pytest.mark.slow
def test_full_size_demo_cli(demo_dir, demo_cli):
    """``radsig demo --out DIR`` (the README command, default size) as the session ran it."""
    assert demo_cli["returncode"] == 0, demo_cli["stderr"][-2000:]
    assert "report:" in demo_cli["stdout"] and str((demo_dir / "report.html").resolve()) in demo_cli["stdout"]
    out = _results(demo_dir)
    assert out["demo"]["n_patients"] >= 300
    ext = out["models"]["radiomics"]["cohorts"]["external"]["auc"]
    assert ext["estimate"] >= 0.75 and ext["ci_low"] > 0.5
    assert demo_cli["elapsed"] < 600  # 5 minutes on an idle 2-core machine; slack for shared CI runners
