"""Bad input gives a clear StatisticsError naming the problem."""

from __future__ import annotations

import numpy as np
import pytest

from radsig.evaluate import (auc_ci, concordance_index, cox_hazard_ratios, delong_test,
                             kaplan_meier, logrank_test, time_dependent_auc)
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
])
def test_bad_input_raises_clear_error(call, match):
    with pytest.raises(StatisticsError, match=match):
        call()


def test_statistics_error_is_value_error():
    with pytest.raises(ValueError):
        auc_ci(np.zeros(3), [1, 2, 3])
