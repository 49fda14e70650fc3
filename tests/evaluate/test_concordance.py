"""C-index and time-dependent AUC against scikit-survival, lifelines and scikit-learn."""

from __future__ import annotations

import numpy as np
from lifelines.utils import concordance_index as ll_cindex
from numpy.testing import assert_allclose
from sklearn.metrics import roc_auc_score
from sksurv.metrics import (
    concordance_index_censored,
    concordance_index_ipcw,
    cumulative_dynamic_auc,
)
from sksurv.util import Surv

from radsig.evaluate import concordance_index, time_dependent_auc
from radsig.evaluate.concordance import _pair_influence, _td_auc_boot


def test_harrell_cindex_against_sksurv_and_lifelines(surv_data):
    time, event, x = surv_data
    res = concordance_index(time, event, x)
    ref = concordance_index_censored(event.astype(bool), time, x)[0]
    assert_allclose(res.estimate, ref, atol=1e-12)
    # lifelines expects a score where higher = longer survival
    assert_allclose(res.estimate, ll_cindex(time, -x, event), atol=1e-12)
    # the pairwise influence code reproduces the same number, including time and risk ties
    t = np.round(time, 1)
    r = np.round(x, 0)
    c_pairs, _ = _pair_influence(t, event.astype(bool), r, np.ones(t.size))
    assert_allclose(c_pairs, concordance_index_censored(event.astype(bool), t, r)[0], atol=1e-12)


def test_uno_cindex_against_sksurv(surv_data):
    time, event, x = surv_data
    tau = float(np.quantile(time, 0.8))
    res = concordance_index(time, event, x, method="uno", tau=tau)
    y = Surv.from_arrays(event.astype(bool), time)
    assert_allclose(res.estimate, concordance_index_ipcw(y, y, x, tau=tau)[0], atol=1e-12)
    assert res.ci_low < res.estimate < res.ci_high


def test_cindex_ij_se_against_bootstrap(surv_data):
    time, event, x = surv_data
    res = concordance_index(time, event, x)
    rng = np.random.default_rng(0)
    reps = []
    for _ in range(200):
        i = rng.integers(0, time.size, time.size)
        reps.append(concordance_index_censored(event[i].astype(bool), time[i], x[i])[0])
    assert_allclose(res.se, np.std(reps, ddof=1), rtol=0.2)


def test_td_auc_against_sksurv(surv_data):
    time, event, x = surv_data
    times = np.quantile(time[event == 1], [0.25, 0.5, 0.75])
    res = time_dependent_auc(time, event, x, times, n_boot=100, seed=0)
    y = Surv.from_arrays(event.astype(bool), time)
    auc, mean_auc = cumulative_dynamic_auc(y, y, x, times)
    assert_allclose(res.table["estimate"], auc, atol=1e-12)
    assert_allclose(res.details["mean_auc"], mean_auc, atol=1e-12)
    assert (res.table["ci_low"] < res.table["estimate"]).all()
    assert (res.table["estimate"] < res.table["ci_high"]).all()


def test_vectorised_td_auc_bootstrap_matches_sksurv_per_resample(surv_data):
    """Each bootstrap replicate equals scikit-survival on that resample (ties in time and risk
    included); resamples without controls at a time are NaN where scikit-survival refuses."""
    time, event, x = surv_data
    t, r, e = np.round(time, 2), np.round(x, 1), event.astype(bool)
    grid = np.r_[np.quantile(t[e], [0.25, 0.5, 0.9]), np.sort(t)[-3]]
    idx = np.random.default_rng(4).integers(0, t.size, (40, t.size))
    fast = _td_auc_boot(t, e, r, grid, idx)
    y = Surv.from_arrays(e, t)
    for row, i in zip(fast, idx, strict=True):
        try:
            ref = cumulative_dynamic_auc(y[i], y[i], r[i], grid)[0]
        except ValueError:  # time outside this resample's follow-up
            assert np.isnan(row[-1])
            ref = np.r_[cumulative_dynamic_auc(y[i], y[i], r[i], grid[:-1])[0], np.nan]
        assert_allclose(row, ref, atol=1e-12)


def test_td_auc_without_censoring_equals_binary_auc(surv_data):
    """With no censoring the IPCW weights are 1 and AUC(t) is the ROC AUC of (T <= t)."""
    time, _, x = surv_data
    event = np.ones(time.size, int)
    t = float(np.median(time))
    res = time_dependent_auc(time, event, x, [t], n_boot=100, seed=0)
    assert_allclose(res.table["estimate"].iloc[0], roc_auc_score(time <= t, x), atol=1e-12)
