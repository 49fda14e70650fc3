"""Result objects: frozen, tidy summaries, JSON-serialisable dictionaries."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from radsig.evaluate import (
    Estimate,
    ResultTable,
    TestResult,
    auc_ci,
    cox_hazard_ratios,
    diagnostic_metrics,
    hosmer_lemeshow,
    logrank_test,
)

COLUMNS = ["estimate", "ci_low", "ci_high", "p_value", "n"]


@pytest.fixture
def results(surv_data, binary_data):
    time, event, x = surv_data
    y, a, _ = binary_data
    p = 1 / (1 + np.exp(-a))
    groups = np.where(x > 0, 1, 0)
    return [auc_ci(y, a), logrank_test(time, event, groups), hosmer_lemeshow(y, p),
            diagnostic_metrics(y, a, 0.5), cox_hazard_ratios(x[:, None], time, event)]


def test_summary_has_the_standard_columns(results):
    for res in results:
        assert list(res.summary.columns[:5]) == COLUMNS


def test_to_dict_is_json_serialisable(results):
    for res in results:
        text = json.dumps(res.to_dict())
        assert "estimate" in text


def test_results_are_frozen(results):
    with pytest.raises(dataclasses.FrozenInstanceError):
        results[0].estimate = 1.0
    with pytest.raises(TypeError):
        results[1].details["table"] = None


def test_types():
    est = Estimate("x", np.float64(0.5), 0.4, 0.6, 10, "m")
    assert type(est.estimate) is float and np.isnan(est.p_value)
    test = TestResult("t", 1.0, 0.5, 2.0, 10, "m", statistic=3.0, p_value=0.01, df=1)
    assert test.summary.loc["t", "statistic"] == 3.0
    assert isinstance(diagnostic_metrics([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.6], 0.5), ResultTable)
