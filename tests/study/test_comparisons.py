"""DeLong comparisons that cannot be tested are reported, not fatal (seen at full size in nsclc_pdl1,
where the fused signature selected the radiomics signature's features only)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from radsig.study.evaluation import comparisons


def test_identical_rankings_are_reported_not_fatal():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(30, int), np.ones(30, int)]
    a, c = rng.normal(size=60) + y, rng.normal(size=60) + y
    ep = SimpleNamespace(name="resp", type="binary")
    study = SimpleNamespace(comparisons=[("a", "b"), ("a", "c")],
                            model=lambda name: SimpleNamespace(endpoint="resp"), endpoint=lambda name: ep)
    scores = {"val": {"a": a, "b": 2 * a + 1, "c": c}}  # b ranks every patient as a does
    out = comparisons(study, scores, {"val": None}, {("val", "resp"): (y, np.ones(60, bool))})
    same, diff = out
    assert same["p_value"] is None and same["estimate"] is None and "identically" in same["note"]
    assert diff["p_value"] is not None and diff["ci_low"] <= diff["estimate"] <= diff["ci_high"]
