"""The demo recovers what was planted; predict reproduces the study; the negative control does not."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest


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


def test_predict_reproduces_study_predictions(demo_dir, run_cli, tmp_path):
    data = demo_dir / "data"
    out = tmp_path / "pred.csv"
    res = run_cli("predict", demo_dir / "model.json", "--manifest", data / "external_manifest.csv",
                  "--clinical", data / "external_clinical.csv", "--out", out)
    assert res.returncode == 0, res.stderr
    got = pd.read_csv(out)
    study = pd.read_csv(demo_dir / "predictions.csv")
    study = study[study["cohort"] == "external"].drop(columns="cohort").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, study, check_exact=True)


def test_predict_without_clinical_scores_image_only_models(demo_dir):
    from radsig.study.predict import predict

    table = predict(demo_dir / "model.json", manifest=demo_dir / "data" / "external_manifest.csv")
    assert "radiomics_score" in table.columns and "combined_score" not in table.columns


def test_predict_errors(demo_dir, tmp_path):
    from radsig.exceptions import ConfigError, ModelFileError
    from radsig.study.predict import predict

    data = demo_dir / "data"
    clin = pd.read_csv(data / "external_clinical.csv").drop(columns=["immune_score"])
    clin.to_csv(tmp_path / "clin.csv", index=False)
    with pytest.raises(ConfigError, match="immune_score"):
        predict(demo_dir / "model.json", manifest=data / "external_manifest.csv", clinical=tmp_path / "clin.csv")
    bad = json.loads((demo_dir / "model.json").read_text())
    bad["version"] = 99
    (tmp_path / "m.json").write_text(json.dumps(bad))
    with pytest.raises(ModelFileError, match="version 99"):
        predict(tmp_path / "m.json", manifest=data / "external_manifest.csv")
    man = pd.read_csv(data / "external_manifest.csv")
    man[man["modality"] == "CT"].to_csv(tmp_path / "ct_only.csv", index=False)
    with pytest.raises(ConfigError, match="PET"):
        predict(demo_dir / "model.json", manifest=tmp_path / "ct_only.csv")


@pytest.mark.slow
def test_negative_control_covers_chance(demo_negative_dir):
    res = _results(demo_negative_dir)
    for model in ("radiomics", "ensemble"):
        for cohort in ("internal", "external", "immunotherapy"):
            auc = res["models"][model]["cohorts"][cohort]["auc"]
            assert auc["ci_low"] <= 0.5 <= auc["ci_high"], (model, cohort, auc)


@pytest.mark.slow
def test_full_size_demo_cli(tmp_path, run_cli):
    started = time.perf_counter()
    res = run_cli("demo", "--out", tmp_path / "demo", timeout=900)
    elapsed = time.perf_counter() - started
    assert res.returncode == 0, res.stderr[-2000:]
    assert "report:" in res.stdout and str((tmp_path / "demo" / "report.html").resolve()) in res.stdout
    out = _results(tmp_path / "demo")
    assert out["demo"]["n_patients"] >= 300
    ext = out["models"]["radiomics"]["cohorts"]["external"]["auc"]
    assert ext["estimate"] >= 0.75 and ext["ci_low"] > 0.5
    assert elapsed < 600  # 5 minutes on an idle 2-core machine; slack for shared CI runners
