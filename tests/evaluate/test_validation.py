"""Bad input gives a clear StatisticsError naming the problem."""

from __future__ import annotations

import numpy as np
import pytest
from sksurv.util import Surv

from radsig.evaluate import (
    auc_ci,
    brier_score,
    calibration_curve,
    calibration_intercept_slope,
    concordance_index,
    correlation,
    cox_hazard_ratios,
    decision_curve,
    delong_test,
    diagnostic_metrics,
    hosmer_lemeshow,
    idi,
    kaplan_meier,
    logrank_test,
    mann_whitney,
    maxstat_cutoff,
    nri,
    odds_ratio,
    response_by_group,
    survival_calibration,
    time_dependent_auc,
    youden_cutoff,
)
from radsig.exceptions import StatisticsError

Y = np.array([0, 1, 0, 1, 1, 0])
S = np.array([0.1, 0.8, 0.3, 0.6, 0.7, 0.2])
T = np.array([5.0, 3.0, 8.0, 2.0, 9.0, 4.0])
E = np.array([1, 1, 0, 1, 0, 1])


@pytest.mark.parametrize("call, match", [
    (lambda: auc_ci(Y, np.full(6, 0.5)), "constant"),
    (lambda: auc_ci(np.ones(6), S), "only one class"),
    (lambda: auc_ci(Y, np.r_[S[:5], np.nan]), "missing or infinite"),
    (lambda: auc_ci(Y, S[:5]), "same length"),
    (lambda: auc_ci(np.r_[Y[:5], 2], S), "binary"),
    (lambda: auc_ci(Y, S, method="hanley"), "'delong' or 'bootstrap'"),
    (lambda: auc_ci(Y, S, method="bootstrap", n_boot=10), "n_boot"),
    (lambda: auc_ci(Y, S, level=95), "level"),
    (lambda: delong_test(Y, S, S), "identically"),
    (lambda: concordance_index(T, np.zeros(6), S), "all 6 observations are censored"),
    (lambda: concordance_index(T, E, np.ones(6)), "constant"),
    (lambda: concordance_index(-T, E, S), "non-negative"),
    (lambda: concordance_index(T, E, S[:4]), "same length"),
    (lambda: concordance_index(T, E, S, method="gonen"), "'harrell' or 'uno'"),
    (lambda: kaplan_meier(T, np.r_[E[:5], np.nan]), "missing"),
    (lambda: kaplan_meier(T, E * 2), "0/1"),
    (lambda: logrank_test(T, E, np.zeros(6)), "at least 2 distinct groups"),
    (lambda: logrank_test(T, E, np.zeros(4)), "same length"),
    (lambda: time_dependent_auc(T, E, S, [100.0]), "within follow-up"),
    (lambda: cox_hazard_ratios(np.c_[S, [1, 2, 3, np.nan, 5, 6]], T, E), "missing"),
    (lambda: diagnostic_metrics(Y, S, 0.5, method="agresti"), "'wilson' or 'exact'"),
    (lambda: calibration_intercept_slope(Y, S * 3), r"probabilities in \[0, 1\]"),
    (lambda: calibration_curve(Y, S, strategy="kmeans"), "'quantile' or 'uniform'"),
    (lambda: hosmer_lemeshow(Y, np.r_[0.2, 0.2, 0.2, 0.8, 0.8, 0.8]), "at least 3"),
    (lambda: brier_score(np.ones(6), S), "only one class"),
    (lambda: survival_calibration(T, E, S, 100.0), "inside follow-up"),
    (lambda: decision_curve(Y, S, [0.5, 1.0]), r"\[0, 1\)"),
    (lambda: decision_curve(Surv.from_arrays(E.astype(bool), T), S), "horizon"),
    (lambda: decision_curve(Y, S, horizon=3.0), "only for a survival y"),
    (lambda: nri(Y, S, S[::-1], cutoffs=[0.0, 0.5]), "strictly between 0 and 1"),
    (lambda: idi(Y, S, S + 0.01), "constant"),
    (lambda: maxstat_cutoff(T, E, S, minprop=0.6), "minprop"),
    (lambda: maxstat_cutoff(T, E, S, pmethod="hl"), "pmethod"),
    (lambda: maxstat_cutoff(T, np.zeros(6), S), "censored"),
    (lambda: youden_cutoff(Y, np.ones(6)), "constant"),
    (lambda: odds_ratio(Y, Y, kind="mh"), "'conditional' or 'sample'"),
    (lambda: response_by_group(Y, np.arange(6) % 3, test="fisher"), "exactly 2 groups"),
    (lambda: mann_whitney(S, np.arange(6) % 3), "exactly 2 groups"),
    (lambda: correlation(S, S, method="kendall"), "'spearman' or 'pearson'"),
    (lambda: correlation(S[:3], S[:3]), "at least 4"),
])
def test_bad_input_raises_clear_error(call, match):
    with pytest.raises(StatisticsError, match=match):
        call()


def test_statistics_error_is_value_error():
    with pytest.raises(ValueError):
        auc_ci(np.zeros(3), [1, 2, 3])
