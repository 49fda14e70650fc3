"""Group comparisons against SciPy / written-out formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from radsig.evaluate import (
    correlate_features,
    correlation,
    mann_whitney,
    odds_ratio,
    response_by_group,
)


@pytest.fixture
def groups_data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, 120)
    y = (rng.uniform(size=120) < 0.3 + 0.3 * x).astype(int)
    return x, y


def test_sample_odds_ratio_woolf_ci(groups_data):
    x, y = groups_data
    res = odds_ratio(x, y, kind="sample")
    a, b = ((x == 1) & (y == 1)).sum(), ((x == 1) & (y == 0)).sum()
    c, d = ((x == 0) & (y == 1)).sum(), ((x == 0) & (y == 0)).sum()
    assert_allclose(res.estimate, a * d / (b * c))
    se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    assert_allclose([res.ci_low, res.ci_high],
                    np.exp(np.log(a * d / (b * c)) + np.array([-1, 1]) * 1.959963984540054 * se))
    assert_allclose(res.p_value, stats.fisher_exact([[a, b], [c, d]]).pvalue)


def test_response_by_group_chi2_and_fisher(groups_data):
    x, y = groups_data
    res = response_by_group(y, np.where(x == 1, "high", "low"))
    table = pd.crosstab(x, y).to_numpy()
    assert res.method == "chi2"
    assert_allclose(res.statistic, stats.chi2_contingency(table, correction=False).statistic)
    rates = res.details["table"]
    assert_allclose(rates.loc["high", "rate"], y[x == 1].mean())
    small = response_by_group(y[:16], np.where(x[:16] == 1, "high", "low"))
    assert small.method == "fisher"
    three = response_by_group(y, np.arange(y.size) % 3)
    assert three.df == 2


def test_mann_whitney_against_scipy(groups_data):
    x, _ = groups_data
    v = np.random.default_rng(1).normal(size=x.size) + x
    res = mann_whitney(v, x)
    ref = stats.mannwhitneyu(v[x == 1], v[x == 0])
    assert_allclose(res.statistic, ref.statistic)
    assert_allclose(res.p_value, ref.pvalue)
    assert_allclose(res.estimate, ref.statistic / ((x == 1).sum() * (x == 0).sum()))


def test_correlation_ci_against_scipy_pearson():
    rng = np.random.default_rng(2)
    a = rng.normal(size=80)
    b = a + rng.normal(size=80)
    res = correlation(a, b, method="pearson")
    ref = stats.pearsonr(a, b)
    ci = ref.confidence_interval()
    assert_allclose([res.estimate, res.ci_low, res.ci_high, res.p_value],
                    [ref.statistic, ci.low, ci.high, ref.pvalue], rtol=1e-10)
    sp = correlation(a, b)
    assert_allclose(sp.estimate, stats.spearmanr(a, b).statistic)


def test_correlate_features_bh_fdr():
    rng = np.random.default_rng(3)
    target = rng.normal(size=60)
    feats = pd.DataFrame(rng.normal(size=(60, 30)), columns=[f"f{i}" for i in range(30)])
    feats["f0"] += 2 * target
    feats.loc[3, "f1"] = np.nan
    res = correlate_features(feats, target).table
    assert res.loc["f1", "n"] == 59
    p = res["p_value"].to_numpy()
    assert_allclose(res["q_value"], stats.false_discovery_control(p, method="bh"))
    assert res["q_value"].idxmin() == "f0"
    assert (res["q_value"] >= res["p_value"]).all()
