"""Variance/correlation/univariate filters, mRMR, stability selection: references and contract."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator
from sksurv.util import Surv

from radsig.select import (
    CorrelationFilter,
    MannWhitneyFilter,
    MRMRSelector,
    StabilitySelector,
    UnivariateCoxFilter,
)
from radsig.select._univariate import cox_score_test


@pytest.mark.parametrize("est", [
    CorrelationFilter(), MannWhitneyFilter(), MRMRSelector(n_features=2),
    StabilitySelector(selector=MannWhitneyFilter(k=2), n_resamples=3, random_state=0)],
    ids=lambda e: type(e).__name__)
def test_sklearn_estimator_checks(est):
    check_estimator(est)


_MULTICLASS = ["check_fit_score_takes_y", "check_estimators_overwrite_params",
               "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
               "check_readonly_memmap_input", "check_n_features_in_after_fitting",
               "check_positive_only_tag_during_fit", "check_dtype_object",
               "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
               "check_methods_subset_invariance", "check_dict_unchanged", "check_fit2d_predict1d"]


def test_lasso_logistic_estimator_checks_except_multiclass():
    """LASSO-logistic is binary by design; the checks that feed it 3-4 classes are expected to
    fail (with radsig's 'exactly two classes' error), every other check must pass."""
    from radsig.models import RadScore
    from radsig.select import LassoLogisticSelector

    for est in (LassoLogisticSelector(cv=2, n_lambdas=3), RadScore(cv=2, n_lambdas=3)):
        check_estimator(est, expected_failed_checks={c: "binary target only"
                                                     for c in _MULTICLASS})


def test_cox_score_test_equals_logrank_against_lifelines():
    """Binary covariate, distinct event times: the Cox score test is the log-rank test."""
    from lifelines.statistics import logrank_test

    rng = np.random.default_rng(0)
    g = rng.integers(0, 2, 80)
    time = rng.permutation(np.arange(1, 81)) * np.where(g == 1, 0.7, 1.0) + rng.random(80) * 1e-3
    event = rng.random(80) < 0.75
    chi2, p = cox_score_test(g[:, None].astype(float), event, time)
    ref = logrank_test(time[g == 1], time[g == 0], event[g == 1], event[g == 0])
    np.testing.assert_allclose(chi2[0], ref.test_statistic, rtol=1e-10)
    np.testing.assert_allclose(p[0], ref.p_value, rtol=1e-8)


def test_correlation_filter_keeps_one_of_each_redundant_pair():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(100, 3))
    X = np.column_stack([base, base[:, 0] + 0.01 * rng.normal(size=100), base[:, 1] * 3])
    y = (base[:, 0] > 0).astype(int)
    keep = CorrelationFilter(threshold=0.9).fit(X, y).get_support()
    assert keep.sum() == 3 and keep[2]
    assert keep[0] != keep[3] and keep[1] != keep[4]


def test_univariate_filters_find_signal():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(120, 50))
    y = (X[:, 4] + 0.5 * rng.normal(size=120) > 0).astype(int)
    mw = MannWhitneyFilter().fit(X, y)
    assert mw.get_support()[4] and mw.get_support().sum() <= 5
    surv = Surv.from_arrays(rng.random(120) < 0.8, rng.exponential(np.exp(-X[:, 9])))
    cox = UnivariateCoxFilter(k=3).fit(X, surv)
    assert cox.get_support()[9] and cox.get_support().sum() == 3
    none = MannWhitneyFilter().fit(rng.normal(size=(60, 20)), rng.integers(0, 2, 60))
    assert none.get_support().sum() >= 1  # min_features keeps the pipeline alive


def test_mrmr_prefers_relevant_non_redundant():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 150))
    X = np.column_stack([a, a + 0.05 * rng.normal(size=150), b, rng.normal(size=(150, 5))])
    y = (a + b + 0.3 * rng.normal(size=150) > 0).astype(int)
    sel = MRMRSelector(n_features=2).fit(X, y)
    assert set(sel.ranking_) in ({0, 2}, {1, 2})


def test_stability_selection_frequencies():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(100, 30))
    y = (2 * X[:, 0] + rng.normal(size=100) > 0).astype(int)
    sel = StabilitySelector(selector=MannWhitneyFilter(k=2), n_resamples=20,
                            random_state=0).fit(X, y)
    assert sel.frequencies_[0] == 1.0 and sel.get_support()[0]
    assert np.sort(sel.frequencies_)[-3] < 0.6
