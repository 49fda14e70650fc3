"""radsig.evaluate on inputs that used to give silently wrong numbers or raw library errors.

Each fix is checked against the reference library's value on the same data (lifelines,
scikit-survival) or, where the input has no valid answer, for a StatisticsError naming the
argument and the cause.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.utils import concordance_index as lifelines_cindex
from scipy import stats
from sksurv.metrics import concordance_index_ipcw, cumulative_dynamic_auc
from sksurv.util import Surv

from radsig import evaluate as ev
from radsig.exceptions import StatisticsError


@pytest.fixture
def surv():
    """60 patients, risk x raises the hazard, independent censoring."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    t = rng.exponential(np.exp(-0.8 * x))
    c = rng.exponential(1.5, size=60)
    return np.minimum(t, c), (t <= c).astype(int), x


@pytest.fixture
def surv_last_event(surv):
    """The same data where an event and a censoring share the longest follow-up: the censoring
    survival G is 0 at that event, so an IPCW weight there is undefined."""
    t, e, x = (a.copy() for a in surv)
    i, j = np.argsort(t)[-2:][::-1]
    e[i], t[j], e[j] = 0, t[i], 1
    return t, e, x


# ------------------------------------------------------------------ concordance scale
@pytest.mark.parametrize("scale", [1e-9, 1e-15, 1e9])
def test_c_index_is_scale_free_and_matches_lifelines(surv, scale):
    t, e, x = surv
    got = ev.concordance_index(t, e, x * scale)
    ref = lifelines_cindex(t, -x, e)  # lifelines: higher score = longer survival
    assert got.estimate == pytest.approx(ref, abs=1e-12)
    assert got.estimate == pytest.approx(ev.concordance_index(t, e, x).estimate, abs=1e-12)
    assert got.ci_low < got.estimate < got.ci_high  # not the 0.500 [0.500, 0.500] of all-ties


def test_time_dependent_auc_is_scale_free(surv):
    t, e, x = surv
    times = np.quantile(t[e == 1], [0.3, 0.6])
    got = ev.time_dependent_auc(t, e, x * 1e-9, times, n_boot=200, seed=0).table["estimate"]
    y = Surv.from_arrays(e.astype(bool), t)
    np.testing.assert_allclose(got, cumulative_dynamic_auc(y, y, x, times)[0], atol=1e-12)


# ------------------------------------------------------------------ Uno's C with tau
def test_uno_tau_weights_only_before_tau_match_scikit_survival(surv_last_event):
    t, e, x = surv_last_event
    y = Surv.from_arrays(e.astype(bool), t)
    tau = float(np.sort(t)[-3])  # the last event (G = 0) lies beyond tau
    got = ev.concordance_index(t, e, x, method="uno", tau=tau)
    assert got.estimate == pytest.approx(concordance_index_ipcw(y, y, x, tau=tau)[0], abs=1e-12)
    assert np.isfinite(got.se) and got.ci_low < got.estimate < got.ci_high


def test_uno_without_tau_on_last_event_names_tau(surv_last_event):
    t, e, x = surv_last_event
    with pytest.raises(StatisticsError, match=r"tau \(not given\).*last follow-up"):
        ev.concordance_index(t, e, x, method="uno")


# ------------------------------------------------------------------ time-dependent AUC
def test_time_dependent_auc_wraps_scikit_survival_error(surv_last_event):
    t, e, x = surv_last_event
    y = Surv.from_arrays(e.astype(bool), t)
    times = [float(np.median(t))]
    with pytest.raises(ValueError, match="censoring survival function is zero"):
        cumulative_dynamic_auc(y, y, x, times)  # the raw error radsig must not let through
    with pytest.raises(StatisticsError, match=r"^times \[.*censoring survival function is zero"):
        ev.time_dependent_auc(t, e, x, times, n_boot=200)


# ------------------------------------------------------------------ Cox
def _lifelines_lr_p(df, t, e):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cph = CoxPHFitter().fit(df.assign(_t=t, _e=e), "_t", "_e")
    return cph.log_likelihood_ratio_test().p_value


def test_cox_no_events_in_one_group_is_refused_with_lr_p(surv):
    t, e, x = surv
    g = (x > 0).astype(int)
    e = np.where(g == 1, 0, e)
    df = pd.DataFrame({"group": g})
    with pytest.raises(StatisticsError) as info:
        ev.cox_hazard_ratios(df, t, e)
    msg = str(info.value)
    assert "'group'" in msg and "no events where group = 1" in msg and "no finite maximum" in msg
    p = float(msg.split("Likelihood-ratio test: chi2 = ")[1].split("p = ")[1].split(";")[0])
    assert p == pytest.approx(_lifelines_lr_p(df, t, e), rel=1e-2)
    assert p < 0.05  # the Wald p lifelines reports here is ~1: the silent wrong answer


def test_study_hazard_ratio_falls_back_to_ridge(surv):
    from radsig.study.stats import hazard_ratio

    t, e, x = surv
    g = (x > 0).astype(int)
    e = np.where(g == 1, 0, e)
    got = hazard_ratio(t, e, g)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CoxPHFitter(penalizer=0.1).fit(pd.DataFrame({"0": g, "_t": t, "_e": e}), "_t", "_e")
    assert got["estimate"] == pytest.approx(float(ref.summary["exp(coef)"].iloc[0]), rel=1e-6)
    assert 0 < got["ci_low"] < got["estimate"] < got["ci_high"] < np.inf


def test_cox_ordinary_fit_unchanged(surv):
    t, e, x = surv
    df = pd.DataFrame({"x": x})
    got = ev.cox_hazard_ratios(df, t, e).summary.loc["x"]
    ref = CoxPHFitter().fit(df.assign(_t=t, _e=e), "_t", "_e").summary.loc["x"]
    assert got["estimate"] == pytest.approx(ref["exp(coef)"], rel=1e-9)
    assert got["p_value"] == pytest.approx(ref["p"], rel=1e-9)


COX_BAD = {
    "constant_covariate": (lambda x: pd.DataFrame({"x": x, "site": np.ones_like(x)}),
                           ["'site' is constant"]),
    "collinear_covariates": (lambda x: pd.DataFrame({"x": x, "x2": 2 * x + 1}),
                             ["'x2' is a linear combination of ['x']"]),
    "collinear_three": (lambda x: pd.DataFrame({"a": x, "b": x ** 2, "c": x - 3 * x ** 2}),
                        ["'c' is a linear combination of ['a', 'b']"]),
    "infinite_covariate": (lambda x: pd.DataFrame({"x": np.where(x > 2, np.inf, x)}),
                           ["['x'] hold infinite values"]),
}


@pytest.mark.parametrize("kind", sorted(COX_BAD))
def test_cox_bad_design_names_the_column(surv, kind):
    t, e, x = surv
    make, words = COX_BAD[kind]
    with pytest.raises(StatisticsError) as info:
        ev.cox_hazard_ratios(make(x), t, e)
    assert str(info.value).startswith("X: ")
    for w in words:
        assert w in str(info.value)


# ------------------------------------------------------------------ DeLong
def _one_positive():
    rng = np.random.default_rng(1)
    y = np.r_[1, np.zeros(20)].astype(int)
    return y, rng.normal(size=21), rng.normal(size=21)


DELONG_BAD = {
    "auc_ci_one_positive": lambda y, a, b: ev.auc_ci(y, a),
    "auc_ci_one_negative": lambda y, a, b: ev.auc_ci(1 - y, a),
    "paired_one_positive": lambda y, a, b: ev.delong_test(y, a, b),
    "unpaired_one_positive": lambda y, a, b: ev.delong_test_unpaired(y, a, np.r_[1, 1, 0, 0, 0], [3, 2, 1, 0, 2.5]),
}


@pytest.mark.parametrize("kind", sorted(DELONG_BAD))
def test_delong_needs_two_per_class(kind):
    y, a, b = _one_positive()
    with pytest.raises(StatisticsError, match=r"^y(_a)? has \d+ positive\(s\) and \d+ negative\(s\); DeLong"):
        DELONG_BAD[kind](y, a, b)


def test_bootstrap_auc_still_allowed_with_one_positive():
    y, a, _ = _one_positive()
    from sklearn.metrics import roc_auc_score

    res = ev.auc_ci(y, a, method="bootstrap", n_boot=200, seed=0)
    assert res.estimate == pytest.approx(roc_auc_score(y, a))


def test_unpaired_delong_uses_procs_t_distribution():
    """pROC's delong.unpaired.test: D = diff / sqrt(V_a + V_b), Welch–Satterthwaite df with each
    cohort's total size − 1, two-sided p from the t distribution."""
    rng = np.random.default_rng(4)
    ya, yb = np.r_[np.ones(6), np.zeros(9)].astype(int), np.r_[np.ones(5), np.zeros(7)].astype(int)
    sa, sb = ya + rng.normal(size=15), 0.3 * yb + rng.normal(size=12)
    res = ev.delong_test_unpaired(ya, sa, yb, sb)
    va, vb = ev.auc_ci(ya, sa).se ** 2, ev.auc_ci(yb, sb).se ** 2
    df = (va + vb) ** 2 / (va ** 2 / 14 + vb ** 2 / 11)
    d = (ev.auc_ci(ya, sa).estimate - ev.auc_ci(yb, sb).estimate) / np.sqrt(va + vb)
    assert res.df == pytest.approx(df) and res.statistic == pytest.approx(d)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(d), df))
    assert res.p_value > 2 * stats.norm.sf(abs(d))  # small cohorts: t is more cautious than normal


def test_study_auc_with_one_positive_has_no_interval():
    from sklearn.metrics import roc_auc_score

    from radsig.study.stats import auc_ci

    y, a, _ = _one_positive()
    got = auc_ci(y, a)
    assert got["estimate"] == pytest.approx(roc_auc_score(y, a))
    assert np.isnan(got["ci_low"]) and np.isnan(got["ci_high"]) and "at least 2 of each" in got["note"]
