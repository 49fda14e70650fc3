"""LASSO selectors: CV-chosen penalty, 1-SE rule, signal recovery, scikit-learn contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sksurv.util import Surv

from radsig.exceptions import StatisticsError
from radsig.select import LassoCoxSelector, LassoLogisticSelector, choose_index


def test_choose_index_min_and_1se_rule():
    # mean scores peak at index 3 (0.75, SE 0.05); index 2 (0.72) is the first within one SE
    scores = np.array([[0.50, 0.68, 0.72, 0.80, 0.72], [0.50, 0.70, 0.72, 0.70, 0.70]])
    assert choose_index(scores, "min") == 3
    se = np.std(scores[:, 3], ddof=1) / np.sqrt(2)
    expected = int(np.flatnonzero(scores.mean(0) >= scores.mean(0)[3] - se)[0])
    assert choose_index(scores, "1se") == expected == 2


def test_lasso_logistic_recovers_planted_features():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 60))
    y = (1.5 * X[:, 3] - 1.5 * X[:, 7] + rng.normal(size=120) > 0).astype(int)
    sel = LassoLogisticSelector(random_state=0).fit(X, y)
    support = set(np.flatnonzero(sel.get_support()))
    assert {3, 7} <= support and len(support) <= 10
    assert sel.C_1se_ <= sel.C_min_  # 1-SE never weaker than min
    assert sel.transform(X).shape[1] == len(support)
    assert clone(sel).get_params() == sel.get_params()


def test_lasso_cox_recovers_planted_feature():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 40))
    time = rng.exponential(np.exp(-1.2 * X[:, 5]))
    event = rng.random(120) < 0.8
    sel = LassoCoxSelector(random_state=0).fit(X, Surv.from_arrays(event, time))
    assert 5 in np.flatnonzero(sel.get_support())
    assert sel.coef_[5] > 0 and sel.alpha_1se_ >= sel.alpha_min_


def test_bad_targets_are_named():
    X = np.zeros((10, 3))
    with pytest.raises(StatisticsError, match="exactly two classes"):
        LassoLogisticSelector().fit(X, np.ones(10))
    y = Surv.from_arrays(np.zeros(10, bool), np.arange(1.0, 11))
    with pytest.raises(StatisticsError, match="all 10 samples are censored"):
        LassoCoxSelector().fit(X, y)


def test_lasso_logistic_selecting_nothing_predicts_the_prevalence():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 5))
    y = (rng.random(60) < 0.25).astype(int)
    sel = LassoLogisticSelector(n_lambdas=2, lambda_ratio=0.999, random_state=0).fit(X, y)
    assert not sel.get_support().any()
    assert sel.intercept_ == pytest.approx(np.log(y.mean() / (1 - y.mean())))
