"""Calibration against statsmodels (GLM with offset, lowess), scikit-learn and formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from scipy.special import expit, logit
from sklearn.metrics import brier_score_loss

from radsig.evaluate import (
    brier_score,
    calibration_curve,
    calibration_intercept_slope,
    hosmer_lemeshow,
    kaplan_meier,
    survival_calibration,
)
from radsig.evaluate._smooth import lowess


@pytest.fixture
def miscalibrated():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, 500)
    y = (rng.uniform(size=500) < expit(0.5 * logit(p) - 0.3)).astype(int)
    return y, p


def test_intercept_slope_against_statsmodels_glm(miscalibrated):
    import statsmodels.api as sm
    y, p = miscalibrated
    res = calibration_intercept_slope(y, p).table
    lp = logit(p)
    citl = sm.GLM(y, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=lp).fit(tol=1e-13)
    slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit(tol=1e-13)
    assert_allclose(res.loc["intercept", "estimate"], citl.params[0], rtol=1e-7)
    assert_allclose(res.loc["intercept", "se"], citl.bse[0], rtol=1e-6)
    assert_allclose(res.loc["slope", "estimate"], slope.params[1], rtol=1e-7)
    assert_allclose(res.loc["slope", "se"], slope.bse[1], rtol=1e-6)
    # the data were generated with slope 0.5
    assert res.loc["slope", "ci_low"] < 0.5 < res.loc["slope", "ci_high"]


def test_perfectly_calibrated_predictions_have_slope_one():
    rng = np.random.default_rng(1)
    p = rng.uniform(0.05, 0.95, 4000)
    y = (rng.uniform(size=p.size) < p).astype(int)
    res = calibration_intercept_slope(y, p).table
    # within 3 standard errors of the ideal values (intercept 0, slope 1)
    assert abs(res.loc["slope", "estimate"] - 1) < 3 * res.loc["slope", "se"]
    assert abs(res.loc["intercept", "estimate"]) < 3 * res.loc["intercept", "se"]


def test_hosmer_lemeshow_against_written_out_formula(miscalibrated):
    y, p = miscalibrated
    res = hosmer_lemeshow(y, p)
    groups = pd.qcut(p, 10, labels=False)
    h = 0.0
    for g in range(10):
        o, e, n = y[groups == g].sum(), p[groups == g].sum(), (groups == g).sum()
        h += (o - e) ** 2 / e + ((n - o) - (n - e)) ** 2 / (n - e)
    assert_allclose(res.statistic, h, rtol=1e-10)
    assert res.df == 8
    assert_allclose(res.p_value, stats.chi2.sf(h, 8))


def test_brier_against_sklearn(miscalibrated):
    y, p = miscalibrated
    res = brier_score(y, p, seed=0)
    assert_allclose(res.estimate, brier_score_loss(y, p), rtol=1e-12)
    assert res.ci_low < res.estimate < res.ci_high
    assert_allclose(res.details["scaled"], 1 - res.estimate / (y.mean() * (1 - y.mean())))


def test_lowess_against_statsmodels():
    from statsmodels.nonparametric.smoothers_lowess import lowess as sm_lowess
    rng = np.random.default_rng(2)
    x = rng.uniform(size=300)
    y = (rng.uniform(size=300) < x).astype(float)
    grid = np.linspace(0.05, 0.95, 37)
    assert_allclose(lowess(x, y, grid, 0.5), sm_lowess(y, x, frac=0.5, it=0, xvals=grid),
                    atol=1e-10)


def test_calibration_curve_bins(miscalibrated):
    y, p = miscalibrated
    cc = calibration_curve(y, p, n_bins=5)
    assert cc.bins["n"].sum() == y.size
    for _, row in cc.bins.iterrows():
        assert row["ci_low"] <= row["observed"] <= row["ci_high"]
    assert (cc.smooth["observed"].between(0, 1)).all()
    uni = calibration_curve(y, p, n_bins=4, strategy="uniform")
    assert len(uni.bins) == 4


def test_survival_calibration_against_kaplan_meier(surv_data):
    time, event, x = surv_data
    pred = np.exp(-np.exp(0.8 * x) * 0.5)  # predicted survival at t=0.5
    res = survival_calibration(time, event, pred, 0.5, n_bins=4)
    groups = pd.qcut(pred, 4, labels=False) + 1
    km = kaplan_meier(time[groups == 1], event[groups == 1]).survival_at([0.5])
    assert_allclose(res.table.loc[1, "estimate"], km["survival"].iloc[0])
    assert_allclose(res.table.loc[1, "predicted"], pred[groups == 1].mean())
    assert res.table["n"].sum() == time.size
