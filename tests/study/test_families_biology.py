"""Demo with deep + habitat families and the biology section (issues 10 and 11).

Uses the session's demo runs (tests/study/demo_runs.py), so it adds no run of its own.
"""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(name="demo")]


def _results(folder):
    return json.loads((folder / "results.json").read_text())


def _pair(res, score, marker):
    rows = res["biology"]["correlations_validation"]
    hits = [r for r in rows if r["score"] == score and r["marker"] == marker]
    assert hits, (sorted({r["marker"] for r in rows}), res["biology"]["messages"])
    return hits[0]


def test_fused_deep_habitat_signatures_with_cis(demo_dir):
    res = _results(demo_dir)
    for name in ("fused", "deep", "habitat"):
        for cohort, met in res["models"][name]["cohorts"].items():
            auc = met["auc"]
            assert auc["ci_low"] <= auc["estimate"] <= auc["ci_high"], (name, cohort)
    deep_terms = res["models"]["deep"]["features"]
    assert deep_terms and all("_deep_" in f for f in deep_terms)
    assert all("_deep_" not in f and "_hab" not in f and "_ith_" not in f
               for f in res["models"]["radiomics"]["features"])
    assert {("fused", "radiomics"), ("deep", "radiomics")} <= {(c["model_a"], c["model_b"]) for c in res["comparisons"]}


def test_deep_signature_beats_chance_on_external(demo_dir):
    auc = _results(demo_dir)["models"]["deep"]["cohorts"]["external"]["auc"]
    assert auc["estimate"] > 0.6
    assert auc["ci_low"] > 0.5


def test_fitted_families_saved_next_to_model(demo_dir):
    doc = json.loads((demo_dir / "model.json").read_text())
    extra = doc["extra_features"]
    for entry in extra["deep"].values():
        w = demo_dir / entry["weights"]
        assert w.is_file() and w.with_suffix(".npz").is_file()
    assert set(extra["habitat"]) and all((demo_dir / f"habitat_{m}.json").is_file() for m in extra["habitat"])
    assert any((demo_dir / "habitat_maps").rglob("*_habitats.nii.gz"))


def test_biology_section_and_planted_correlation(demo_dir):
    res = _results(demo_dir)
    bio = res["biology"]
    assert bio["join"]["expression"]["unmatched_samples"] == ["NORMAL01", "NORMAL02", "NORMAL03"]
    html = (demo_dir / "report.html").read_text()
    assert 'id="biology"' in html and "Who matched" in html and "NORMAL01" in html
    r = _pair(res, "Rad-score radiomics", "score: TIS_GEP_18")
    assert r["ci_low"] > 0 and r["q_value"] < 0.05
    assert any(t["grouping"].startswith("TME phenotype") and t["p_value"] < 0.05 for t in bio["group_tests"])
    assert bio["differential_expression"]["n_q_below_0_05"] > 0


def test_negative_control_has_no_immune_correlation(demo_negative_dir):
    res = _results(demo_negative_dir)
    rows = [r for r in res["biology"]["correlations_validation"] if r["score"] == "Rad-score radiomics"]
    assert rows and all(r["q_value"] is None or r["q_value"] > 0.05 for r in rows)
    r = _pair(res, "Rad-score radiomics", "score: TIS_GEP_18")
    assert r["ci_low"] < 0 < r["ci_high"]
