"""Kaplan–Meier, log-rank and Cox against lifelines / scikit-survival / R, and Lung1 numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_rossi
from lifelines.statistics import logrank_test as ll_logrank
from lifelines.statistics import multivariate_logrank_test
from numpy.testing import assert_allclose
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.nonparametric import kaplan_meier_estimator
from sksurv.util import Surv

from radsig.evaluate import cox_hazard_ratios, kaplan_meier, logrank_test, number_at_risk

TIME, EVENT, STAGE = "Survival.time", "deadstatus.event", "Overall.Stage"


def test_kaplan_meier_lung1_median_against_published(lung1):
    """SOURCES.md: 422 patients, 373 deaths, KM median 549 days (lifelines)."""
    km = kaplan_meier(lung1[TIME], lung1[EVENT])
    med = km.medians.loc["all"]
    assert med["n"] == 422 and med["events"] == 373
    assert med["estimate"] == 549
    assert med["ci_low"] < 549 < med["ci_high"]


def test_kaplan_meier_against_sksurv_and_lifelines(lung1):
    km = kaplan_meier(lung1[TIME], lung1[EVENT])
    t_sk, s_sk, (lo_sk, hi_sk) = kaplan_meier_estimator(
        lung1[EVENT].astype(bool).to_numpy(), lung1[TIME].to_numpy(float), conf_type="log-log")
    curve = km.curves.set_index("time")
    assert_allclose(curve.loc[t_sk, "survival"], s_sk, rtol=0, atol=1e-10)
    assert_allclose(curve.loc[t_sk, "ci_low"], lo_sk, atol=1e-6)
    assert_allclose(curve.loc[t_sk, "ci_high"], hi_sk, atol=1e-6)
    kmf = KaplanMeierFitter().fit(lung1[TIME], lung1[EVENT])
    assert_allclose(km.survival_at([365, 730])["survival"],
                    kmf.survival_function_at_times([365, 730]).to_numpy(), atol=1e-12)


def test_kaplan_meier_by_group_and_number_at_risk(lung1):
    d = lung1.dropna(subset=[STAGE])
    km = kaplan_meier(d[TIME], d[EVENT], d[STAGE])
    assert km.group_names == ["I", "II", "IIIa", "IIIb"]
    assert km.medians["n"].sum() == len(d)
    nar = number_at_risk(d[TIME], d[STAGE], [0, 1000])
    assert nar.loc["I", 0] == (d[STAGE] == "I").sum()
    assert nar.loc["IIIb", 1000] == ((d[STAGE] == "IIIb") & (d[TIME] >= 1000)).sum()


def test_logrank_by_stage_lung1_against_lifelines(lung1):
    d = lung1.dropna(subset=[STAGE])
    res = logrank_test(d[TIME], d[EVENT], d[STAGE])
    ref = multivariate_logrank_test(d[TIME], d[STAGE], d[EVENT])
    assert_allclose(res.statistic, ref.test_statistic, rtol=1e-8)
    assert_allclose(res.p_value, ref.p_value, rtol=1e-8)
    assert res.df == 3 and res.n == 421
    table = res.details["table"]
    assert_allclose(table["observed"].sum(), table["expected"].sum())


def test_logrank_two_groups_against_lifelines(lung1):
    d = lung1.dropna(subset=[STAGE])
    late = np.where(d[STAGE].str.startswith("III"), "III", "I-II")
    res = logrank_test(d[TIME], d[EVENT], late)
    a, b = late == "I-II", late == "III"
    ref = ll_logrank(d[TIME][a], d[TIME][b], d[EVENT][a], d[EVENT][b])
    assert_allclose(res.statistic, ref.test_statistic, rtol=1e-8)
    assert_allclose(res.p_value, ref.p_value, rtol=1e-8)
    assert res.ci_low < res.estimate < res.ci_high


def _naive_stratified_logrank(time, event, group, strata):
    """Reference written out: per stratum and event time, hypergeometric O−E and variance of
    group 1 of two groups; chi² = (ΣO−E)² / ΣV."""
    o_e = var = 0.0
    for s in np.unique(strata):
        t, e, g = time[strata == s], event[strata == s], group[strata == s]
        for u in np.unique(t[e == 1]):
            at_risk = t >= u
            n, n1 = at_risk.sum(), (at_risk & (g == 1)).sum()
            d = ((t == u) & (e == 1)).sum()
            d1 = ((t == u) & (e == 1) & (g == 1)).sum()
            o_e += d1 - d * n1 / n
            if n > 1:
                var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return o_e**2 / var


def test_stratified_logrank_against_written_out_reference(lung1):
    d = lung1.dropna(subset=[STAGE])
    group = (d["gender"] == "male").astype(int).to_numpy()
    strata = d[STAGE].to_numpy()
    res = logrank_test(d[TIME], d[EVENT], group, strata=strata)
    ref = _naive_stratified_logrank(d[TIME].to_numpy(float), d[EVENT].to_numpy(), group, strata)
    assert_allclose(res.statistic, ref, rtol=1e-8)
    one = logrank_test(d[TIME], d[EVENT], group, strata=np.zeros(len(d)))
    assert_allclose(one.statistic, logrank_test(d[TIME], d[EVENT], group).statistic)


def test_stratified_logrank_ignores_strata_without_events():
    t = np.arange(1, 13.0)
    e = np.array([1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    g = np.array([0, 1] * 6)
    s = np.array([0] * 6 + [1] * 6)
    strat = logrank_test(t, e, g, strata=s)
    only = logrank_test(t[:6], e[:6], g[:6])
    assert_allclose(strat.statistic, only.statistic)
    assert strat.n == 12


def test_cox_against_R_rossi():
    """R: library(survival); coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro +
    prio, data = rossi)  # ties = "efron" (default)."""
    rossi = load_rossi()
    X = rossi.drop(columns=["week", "arrest"])
    res = cox_hazard_ratios(X, rossi["week"], rossi["arrest"])
    expected = [-0.3794222, -0.0574377, 0.3139028, -0.1497957, -0.4337039, -0.0848711, 0.0914971]
    assert_allclose(res.table["coef"], expected, rtol=1e-5)
    assert_allclose(res.table["estimate"], np.exp(expected), rtol=1e-5)


def test_cox_against_sksurv_rossi():
    rossi = load_rossi()
    X = rossi.drop(columns=["week", "arrest"])
    res = cox_hazard_ratios(X, rossi["week"], rossi["arrest"])
    y = Surv.from_arrays(rossi["arrest"].astype(bool), rossi["week"].astype(float))
    sk = CoxPHSurvivalAnalysis(ties="efron", tol=1e-12).fit(X, y)
    assert_allclose(res.table["coef"], sk.coef_, rtol=0, atol=1e-6)


def test_cox_against_sksurv(lung1):
    d = lung1.dropna(subset=["age"])
    X = pd.DataFrame({"age": d["age"], "male": (d["gender"] == "male").astype(float)})
    res = cox_hazard_ratios(X, d[TIME], d[EVENT])
    y = Surv.from_arrays(d[EVENT].astype(bool), d[TIME].astype(float))
    sk = CoxPHSurvivalAnalysis(ties="efron", tol=1e-12).fit(X, y)
    assert_allclose(res.table["coef"], sk.coef_, rtol=0, atol=1e-6)
    z = 1.959963984540054
    assert_allclose(res.table["ci_low"], np.exp(res.table["coef"] - z * res.table["se"]))
    assert (res.table["p_value"] < 1).all()
