"""AUC, DeLong and cut-off metrics against scikit-learn, a closed-form example and published
numbers."""

from __future__ import annotations

import time

import numpy as np
from numpy.testing import assert_allclose
from scipy import stats
from sklearn.metrics import roc_auc_score, roc_curve

from radsig.evaluate import (
    auc_ci,
    delong_test,
    delong_test_unpaired,
    diagnostic_metrics,
    roc_curve_ci,
)
from radsig.evaluate._bootstrap import auc_from_index, resample_indices
from radsig.evaluate.discrimination import delong_components


def test_auc_against_sklearn(binary_data):
    y, a, _ = binary_data
    assert_allclose(auc_ci(y, a).estimate, roc_auc_score(y, a), rtol=0, atol=1e-12)
    # ties in the score count 1/2, as in scikit-learn
    rounded = np.round(a, 0)
    assert_allclose(auc_ci(y, rounded).estimate, roc_auc_score(y, rounded), atol=1e-12)


def test_delong_variance_closed_form_worked_example():
    """pos = (0.9, 0.8, 0.5), neg = (0.7, 0.5, 0.2).

    Placements V10 = (1, 1, 1/2), V01 = (2/3, 5/6, 1); AUC = 5/6;
    Var = var(V10)/3 + var(V01)/3 = (1/12)/3 + (1/36)/3 = 1/27.
    """
    y = np.array([1, 1, 1, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.5, 0.7, 0.5, 0.2])
    auc, v10, v01 = delong_components(y, s)
    assert_allclose(v10, [1, 1, 0.5])
    assert_allclose(v01, [2 / 3, 5 / 6, 1])
    res = auc_ci(y, s)
    assert_allclose(res.estimate, 5 / 6)
    assert_allclose(res.se ** 2, 1 / 27, rtol=1e-12)
    z = stats.norm.ppf(0.975)
    assert_allclose(res.ci_low, 5 / 6 - z * np.sqrt(1 / 27))
    assert res.ci_high == 1.0  # clipped at 1


def test_delong_logit_interval_is_asymmetric_inside_unit_interval():
    y = np.array([1, 1, 1, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.5, 0.7, 0.5, 0.2])
    res = auc_ci(y, s, logit=True)
    z = stats.norm.ppf(0.975)
    half = z * np.sqrt(1 / 27) / (5 / 6 * 1 / 6)
    assert_allclose([res.ci_low, res.ci_high],
                    1 / (1 + np.exp(-(np.log(5) + np.array([-half, half])))))
    assert 0 < res.ci_low < res.estimate < res.ci_high < 1


def test_delong_variance_against_bootstrap(binary_data):
    y, a, _ = binary_data
    delong = auc_ci(y, a)
    boot = auc_ci(y, a, method="bootstrap", n_boot=4000, seed=3)
    assert_allclose(boot.se, delong.se, rtol=0.1)
    assert abs(boot.ci_low - delong.ci_low) < 0.02 and abs(boot.ci_high - delong.ci_high) < 0.02


def test_vectorised_bootstrap_auc_matches_loop(binary_data):
    y, a, _ = binary_data
    idx = resample_indices(y.size, 50, np.random.default_rng(0))
    loop = [roc_auc_score(y[i], a[i]) for i in idx]
    assert_allclose(auc_from_index(y, a, idx), loop, atol=1e-12)


def test_bootstrap_speed_2000_resamples_n500():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    s = y + rng.normal(size=500)
    best = np.inf
    for _ in range(2):
        t0 = time.perf_counter()
        auc_ci(y, s, method="bootstrap", n_boot=2000, seed=1)
        best = min(best, time.perf_counter() - t0)
    assert best < 2.0, f"2000 bootstrap AUCs of n=500 took {best:.2f} s"


def test_maastro_auc_against_published(maastro):
    """Hosny et al. 2018, Maastro validation: AUC 0.70 (95 % CI 0.63–0.78)."""
    res = auc_ci(maastro["surv2yr"], maastro["logit_1"])
    assert_allclose(res.estimate, 0.70, atol=0.005)
    assert_allclose([res.ci_low, res.ci_high], [0.63, 0.78], atol=0.01)
    boot = auc_ci(maastro["surv2yr"], maastro["logit_1"], method="bootstrap", seed=0)
    assert_allclose([boot.ci_low, boot.ci_high], [0.63, 0.78], atol=0.015)
    assert res.n == 211 and res.details["n_positive"] == 60


def test_delong_paired_matches_unpaired_formula_when_independent(binary_data):
    y, a, b = binary_data
    res = delong_test(y, a, b)
    assert_allclose(res.estimate, roc_auc_score(y, a) - roc_auc_score(y, b), atol=1e-12)
    d = res.details
    var = d["var_a"] + d["var_b"] - 2 * d["covariance"]
    assert_allclose(res.statistic, res.estimate / np.sqrt(var))
    assert_allclose(res.p_value, 2 * stats.norm.sf(abs(res.statistic)))
    # correlation of scores makes the paired test sharper than treating them as independent
    assert d["covariance"] > 0
    # variances equal the single-AUC DeLong variances
    assert_allclose(d["var_a"], auc_ci(y, a).se ** 2)


def test_delong_paired_covariance_against_bootstrap(binary_data):
    y, a, b = binary_data
    res = delong_test(y, a, b)
    idx = resample_indices(y.size, 3000, np.random.default_rng(5), strata=y)
    diff = auc_from_index(y, a, idx) - auc_from_index(y, b, idx)
    assert_allclose(np.std(diff, ddof=1), res.se, rtol=0.1)


def test_delong_unpaired(binary_data):
    y, a, _ = binary_data
    res = delong_test_unpaired(y[:150], a[:150], y[150:], a[150:])
    va, vb = auc_ci(y[:150], a[:150]).se ** 2, auc_ci(y[150:], a[150:]).se ** 2
    assert_allclose(res.se, np.sqrt(va + vb))
    assert_allclose(res.estimate, roc_auc_score(y[:150], a[:150]) - roc_auc_score(y[150:], a[150:]))
    assert 0 < res.p_value <= 1


def test_roc_curve_band_contains_curve(binary_data):
    y, a, _ = binary_data
    roc = roc_curve_ci(y, a, n_boot=500, seed=1)
    fpr, tpr, _ = roc_curve(y, a)
    assert_allclose(roc.fpr, fpr) and assert_allclose(roc.tpr, tpr)
    # empirical TPR at each grid FPR (best TPR with FPR <= grid value) lies inside the band
    emp = np.array([tpr[fpr <= g + 1e-12].max() for g in roc.fpr_grid])
    inside = (emp >= roc.tpr_low - 1e-9) & (emp <= roc.tpr_high + 1e-9)
    assert inside.mean() > 0.95
    assert np.all(np.diff(roc.tpr_low) >= -1e-12)


def test_diagnostic_metrics_against_counts_and_scipy(binary_data):
    y, a, _ = binary_data
    res = diagnostic_metrics(y, a, 0.5, method="exact")
    pred = a >= 0.5
    tp = int((pred & (y == 1)).sum())
    assert_allclose(res["sensitivity"]["estimate"], tp / y.sum())
    ci = stats.binomtest(tp, int(y.sum())).proportion_ci(method="exact")
    assert_allclose([res["sensitivity"]["ci_low"], res["sensitivity"]["ci_high"]],
                    [ci.low, ci.high])
    tn = int((~pred & (y == 0)).sum())
    assert_allclose(res["npv"]["estimate"], tn / (~pred).sum())
    assert_allclose(res["accuracy"]["estimate"], (tp + tn) / y.size)


def test_wilson_interval_against_formula():
    """Wilson score interval for k/n written out: (p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²))
    / (1 + z²/n); for 8/10 this is 0.4902–0.9433."""
    y = np.array([1] * 10 + [0] * 10)
    s = np.array([1] * 8 + [0] * 2 + [0] * 10)
    res = diagnostic_metrics(y, s, 0.5)
    z, p, n = stats.norm.ppf(0.975), 0.8, 10
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    expected = [(p + z**2 / (2 * n) - half) / (1 + z**2 / n),
                (p + z**2 / (2 * n) + half) / (1 + z**2 / n)]
    assert_allclose([res["sensitivity"]["ci_low"], res["sensitivity"]["ci_high"]], expected,
                    rtol=1e-10)
    assert_allclose(expected, [0.4902, 0.9433], atol=1e-4)
