"""The five published designs run end to end at reduced size (issue 12).

Each design runs once with its planted signal and once as a negative control (the same images, which
carry no outcome information there; only the headline model is fitted, and the run shares the first
run's feature cache, so nothing is extracted or trained again). Checks:
every section, table and figure the design calls for is in ``report.html``; every headline number
in ``results.json`` has a CI; the planted signal is recovered (CI excludes 0.5 in a validation
cohort) and the negative control is not (every validation CI covers 0.5).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from radsig.study.examples import examples_dir, run_example
from radsig.synth.designs import DESIGNS

pytestmark = pytest.mark.slow

# design: (n_scale, headline model, metric, sections that must be present, figure stems)
EXPECT = {
    "mcrc_petct": (0.3, "radscore_tme", "auc",
                   ["comparisons", "roc", "calibration", "dca", "survival", "nomogram", "analyses", "biology"],
                   ["roc_tme", "roc_response", "calibration_tme", "dca_response", "km_radscore_tme_os",
                    "km_radscore_tme_pfs", "nomogram_nomogram_os", "nomogram_nomogram_pfs"]),
    "crlm_ct_survival": (0.6, "radscore", "c_index", ["survival", "tdauc", "analyses"],
                         ["km_radscore_os", "tdauc_radscore", "tdauc_clinical_risk", "forest_hr"]),
    "nsclc_pdl1": (0.08, "radlsig", "auc", ["comparisons", "roc", "calibration", "dca", "analyses"],
                   ["roc_pdl1", "calibration_pdl1", "dca_pdl1", "coef_dlsig", "coef_radlsig"]),
    "npc_ihc": (0.4, "radiomics", "auc", ["comparisons", "roc", "survival", "tdauc", "analyses", "biology"],
                ["roc_response", "km_radiomics_pfs", "tdauc_radiomics_pfs"]),
    "hcc_habitat_ensemble": (0.15, "composite", "auc", ["comparisons", "roc", "survival", "analyses"],
                             ["roc_response", "km_composite_os", "dca_response", "coef_ith", "coef_gtr"]),
}
ANALYSES = {"mcrc_petct": {"immune_score_corr", "genes_by_group", "response_by_group", "os_multivariable"},
            "crlm_ct_survival": {"os_multivariable"}, "nsclc_pdl1": {"orr_by_group", "cd274"},
            "npc_ihc": {"ihc", "ihc_by_group"},
            "hcc_habitat_ensemble": {"or_response", "orr_by_group", "os_cox", "immune_genes"}}
FAST = {"bootstrap": 100}


def _needed(spec: dict, name: str) -> list[dict]:
    """The model ``name`` and the models it includes, in study order."""
    by_name = {m["name"]: m for m in spec["models"]}
    keep, todo = set(), [name]
    while todo:
        m = todo.pop()
        keep.add(m)
        todo += by_name[m].get("include", [])
    return [m for m in spec["models"] if m["name"] in keep]


def _overrides(design: str, negative: bool) -> dict:
    spec = yaml.safe_load((examples_dir() / f"{design}.yaml").read_text())
    out = dict(FAST)
    if design == "crlm_ct_survival":  # wavelet sub-bands are slow; the small file keeps CI short
        out["features"] = {**spec["features"], "settings": "features.yaml"}
    if negative:
        out.update(models=_needed(spec, EXPECT[design][1]), comparisons=[], analyses=[])
    return out


_RUNS: dict[str, tuple[str, Path, Path]] = {}  # design → its two runs, made once per process


def _runs_of(design: str, tmp_path_factory) -> tuple[str, Path, Path]:
    if design not in _RUNS:
        base = tmp_path_factory.mktemp(design)
        scale = EXPECT[design][0]
        cache = base / "cache"  # shared: the negative control has the same images
        pos = run_example(design, base / "signal", n_scale=scale, overrides=_overrides(design, False),
                          cache_dir=cache).out
        neg = run_example(design, base / "negative", n_scale=scale, negative_control=True,
                          overrides=_overrides(design, True), cache_dir=cache).out
        _RUNS[design] = (design, pos, neg)
    return _RUNS[design]


def _designs(designs) -> list:
    """*designs* as parameters, each in its xdist group (the worker that holds its runs)."""
    return [pytest.param(d, marks=pytest.mark.xdist_group(name=f"example-{d}")) for d in designs]


@pytest.fixture(scope="module", params=_designs(EXPECT))
def runs(request, tmp_path_factory) -> tuple[str, Path, Path]:
    """Every design's runs (tests that concern some designs only take ``design`` and call _runs_of)."""
    return _runs_of(request.param, tmp_path_factory)


def test_negative_control_reuses_the_images(runs):
    """Same images (same files), so the shared cache served every case of the negative control."""
    _, pos, neg = runs
    for cohort in _results(pos)["flow"]:
        a = (pos / "data" / f"{cohort}_manifest.csv").read_text()
        assert a == (neg / "data" / f"{cohort}_manifest.csv").read_text()
    assert _results(neg)["timings_s"]["extract"] < _results(pos)["timings_s"]["extract"]


def _results(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())


def _validation(res: dict, model: str, metric: str) -> dict[str, dict]:
    cohorts = res["models"][model]["cohorts"]
    return {c: m[metric] for c, m in cohorts.items() if c != "training" and m.get(metric)}


def test_every_design_has_a_study_file_and_generator():
    assert set(EXPECT) == set(DESIGNS)
    for design in DESIGNS:
        assert (examples_dir() / f"{design}.yaml").is_file()
    assert (examples_dir() / "README.md").is_file()


def test_report_sections_tables_and_figures(runs):
    design, pos, _ = runs
    html = (pos / "report.html").read_text()
    _, _, _, sections, figures = EXPECT[design]
    for sec in ["performance", "models", "table1", *sections]:
        assert f'id="{sec}"' in html, (design, sec)
    for stem in figures:
        assert (pos / "figures" / f"{stem}.png").is_file(), (design, stem)
    res = _results(pos)
    assert {a["name"] for a in res["analyses"]} == ANALYSES[design]
    for a in res["analyses"]:
        assert a["cohorts"], (design, a["name"], a.get("skipped"))
        assert f'id="analysis-{a["name"]}"' in html


def _has_ci(value: dict) -> bool:
    return value.get("ci_low") is not None and value.get("ci_high") is not None


def test_headline_numbers_have_cis(runs):
    design, pos, _ = runs
    res = _results(pos)
    headline = ("auc", "c_index", "hr_per_sd", "calibration_slope", "brier")
    for name, model in res["models"].items():
        for cohort, met in model["cohorts"].items():
            for key, value in met.items():
                if key in headline or key.startswith("hr_high_vs_low"):
                    assert _has_ci(value), (design, name, cohort, key)
                    assert value["ci_low"] <= value["estimate"] <= value["ci_high"]
    for c in res.get("comparisons", []):
        assert _has_ci(c) and c["p_value"] is not None
    for a in res["analyses"]:
        for rows in a["cohorts"].values():
            for r in rows:
                if "test" not in r["variable"]:  # a test statistic has a p-value, not a CI
                    assert _has_ci(r), (design, a["name"], r)


def test_planted_signal_recovered(runs):
    design, pos, _ = runs
    _, model, metric, _, _ = EXPECT[design]
    val = _validation(_results(pos), model, metric)
    assert val, (design, "no validation cohort scored")
    assert all(v["estimate"] > 0.5 for v in val.values()), (design, val)
    assert any(v["ci_low"] > 0.5 for v in val.values()), (design, val)


def test_biology_links_recovered(runs):
    """Correlations are correlations (|r| <= 1) and follow the planted signs (CD163 inverse)."""
    design, pos, _ = runs
    for a in _results(pos)["analyses"]:
        if a["kind"] != "correlation":
            continue
        for cohort, rows in a["cohorts"].items():
            for r in rows:
                assert -1 <= r["ci_low"] <= r["estimate"] <= r["ci_high"] <= 1, (design, cohort, r)
            if cohort == "training":
                signs = {r["variable"]: r["estimate"] for r in rows}
                assert all(v < 0 if k == "ihc_cd163" else v > 0 for k, v in signs.items()), (design, signs)


@pytest.mark.parametrize("design", _designs(["npc_ihc"]))
def test_ihc_markers_in_the_biology_section(design, tmp_path_factory):
    """npc_ihc: the IHC table goes through ``biology: ihc:`` — a Spearman table of the Rad-score with
    every marker (Fisher-z CI, BH q) in the validation cohorts, with the planted signs."""
    _, pos, _ = _runs_of(design, tmp_path_factory)
    bio = _results(pos)["biology"]
    markers = {"IHC: ihc_cd45ro": 1, "IHC: ihc_cd8": 1, "IHC: ihc_pdl1": 1, "IHC: ihc_cd163": -1}
    rows = {r["marker"]: r for r in bio["correlations_validation"] if r["score"] == "Rad-score radiomics"}
    assert set(markers) <= set(rows), sorted(rows)
    for marker, sign in markers.items():
        r = rows[marker]
        assert -1 <= r["ci_low"] <= r["rho"] <= r["ci_high"] <= 1 and r["q_value"] is not None, r
        assert np.sign(r["rho"]) == sign, r
    assert any(rows[m]["q_value"] < 0.05 for m in markers)
    join = bio["join"]["ihc"]
    assert join["matched"] == join["samples"] > 0 and not join["unmatched_samples"]


PREDICT = {"hcc_habitat_ensemble": ("internal", "ensemble"), "crlm_ct_survival": ("validation", "radscore")}


@pytest.mark.parametrize("design", _designs(PREDICT))
def test_predict_reproduces_the_study(design, tmp_path_factory, tmp_path):
    """``radsig predict`` on patients of a validation cohort gives the study's predictions exactly:
    the HCC ensemble of learners (forest, boosting, SVM members in model.json) and CRLM's
    several lesions per patient (split and aggregated like the study)."""
    import pandas as pd

    from radsig.study.predict import predict

    _, pos, _ = _runs_of(design, tmp_path_factory)
    cohort, model = PREDICT[design]
    man = pd.read_csv(pos / "data" / f"{cohort}_manifest.csv")
    ids = list(dict.fromkeys(man["patient_id"]))[:10]
    man = man[man["patient_id"].isin(ids)]
    if "lesion" in man:
        assert man.groupby(["patient_id", "modality"]).size().max() > 1
    man.to_csv(pos / "data" / "predict_manifest.csv", index=False)
    # without --allow-intensity-shift: an ordinary site shift (CRLM's scanner B, +12 HU, VAL0004 at
    # 7 robust SDs from tightly clustered training ROIs) must not be refused where the study scored it
    got = predict(pos / "model.json", manifest=pos / "data" / "predict_manifest.csv",
                  clinical=pos / "data" / f"{cohort}_clinical.csv")
    study = pd.read_csv(pos / "predictions.csv")
    study = study[study["cohort"] == cohort].drop(columns="cohort")
    study = study.set_index(study["patient_id"].astype(str)).loc[[str(i) for i in ids]].reset_index(drop=True)
    assert f"{model}_score" in got.columns
    got.to_csv(tmp_path / "pred.csv", index=False)  # as `radsig predict --out` writes it
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "pred.csv"), study, check_exact=True)


def test_negative_control_not_recovered(runs):
    design, _, neg = runs
    _, model, metric, _, _ = EXPECT[design]
    res = _results(neg)
    assert res["example"]["negative_control"] is True
    val = _validation(res, model, metric)
    assert val
    for cohort, v in val.items():
        assert v["ci_low"] <= 0.5 <= v["ci_high"], (design, cohort, v)
