"""Validation designs, bootstrap optimism, risk groups, DeLong CI against a bootstrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sksurv.util import Surv

from radsig.evaluate import auc_ci
from radsig.models import (
    RadScore,
    RiskGroups,
    bootstrap_optimism,
    cross_validate_model,
    risk_group_summary,
    train_validate,
)


def _binary(n=150, p=20, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, p)) + shift, columns=[f"f{i}" for i in range(p)])
    y = ((X.f0 - shift) + rng.normal(size=n) > 0).astype(int)
    return X, y.to_numpy()


def test_metric_with_ci_uses_evaluate_and_handles_constant_scores():
    from radsig.models import metric_with_ci

    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    s = y * 0.8 + rng.normal(size=200)
    got = metric_with_ci(y, s)
    assert got == auc_ci(y, s, method="delong")
    assert got.estimate == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    flat = metric_with_ci(y, np.zeros(200))
    assert flat.estimate == 0.5 and np.isnan(flat.ci_low) and flat.method == "constant score"


def test_train_internal_external_design():
    X, y = _binary(seed=2)
    Xi, yi = _binary(n=80, seed=3)
    Xe, ye = _binary(n=80, seed=4, shift=0.3)
    model, res = train_validate(LogisticRegression(), X, y, {"internal": (Xi, yi),
                                                             "external": (Xe, ye)})
    assert set(res) == {"train", "internal", "external"}
    for r in res.values():
        assert r.ci_low <= r.estimate <= r.ci_high and r.estimate > 0.65


def test_repeated_cv_and_optimism():
    X, y = _binary(n=100, p=30, seed=5)
    cv = cross_validate_model(RadScore(cv=3, n_lambdas=6, random_state=0), X, y, cv=3,
                              repeats=2)
    assert len(cv.fold_scores) == 6 and len(cv.repeat_estimates) == 2
    assert cv.estimate > 0.65
    opt = bootstrap_optimism(LogisticRegression(C=10.0, max_iter=2000), X, y, n_boot=20)
    assert opt.optimism > 0 and opt.estimate < opt.apparent


def test_risk_groups_cutoff_from_training_only():
    rng = np.random.default_rng(6)
    X = pd.DataFrame(rng.normal(size=(160, 10)), columns=[f"f{i}" for i in range(10)])
    y = Surv.from_arrays(rng.random(160) < 0.8, rng.exponential(np.exp(-X.f0)))
    tr = np.arange(160) < 100
    rg = RiskGroups(estimator=RadScore(cv=3, n_lambdas=10, random_state=0)).fit(X[tr], y[tr])
    assert rg.cutoff_ == pytest.approx(np.median(rg.decision_function(X[tr])))
    summary = risk_group_summary(rg.predict(X[~tr]), y[~tr])
    assert summary.p_value < 0.05 and summary.hazard_ratio > 1
    assert summary.median_high < summary.median_low


def test_risk_group_cutoff_is_written_to_the_model_file(tmp_path):
    from radsig.models import load_model, read_model_file, save_model

    rng = np.random.default_rng(7)
    X = pd.DataFrame(rng.normal(size=(80, 5)), columns=[f"f{i}" for i in range(5)])
    y = Surv.from_arrays(rng.random(80) < 0.8, rng.exponential(np.exp(-X.f0)))
    rg = RiskGroups(estimator=RadScore(cv=3, n_lambdas=6, random_state=0)).fit(X, y)
    path = save_model(rg, tmp_path / "rg.json")
    assert read_model_file(path)[0]["cutoffs"] == {"risk_group": rg.cutoff_}
    np.testing.assert_array_equal(load_model(path).predict(X), rg.predict(X))


def test_optimism_for_survival_c_index():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(90, 8))
    y = Surv.from_arrays(rng.random(90) < 0.8, rng.exponential(np.exp(-X[:, 0])))
    opt = bootstrap_optimism(RadScore(cv=3, n_lambdas=6, rule="min", random_state=0), X, y,
                             n_boot=8)
    assert opt.metric == "c_index" and opt.estimate <= opt.apparent + 1e-12
