"""Discrimination of a binary outcome: AUC with CI, DeLong tests, ROC bands, cut-off metrics.

DeLong's variance is hand-written (fast midrank form of Sun & Xu, 2014) because neither
scikit-learn nor SciPy offers it; the point AUC agrees with :func:`sklearn.metrics.roc_auc_score`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit
from sklearn.metrics import roc_curve

from radsig.evaluate._bootstrap import (
    auc_from_index,
    check_n_boot,
    make_rng,
    percentile_interval,
    resample_indices,
    rowwise_count_greater,
)
from radsig.evaluate._results import Estimate, ResultTable, TestResult
from radsig.evaluate._validate import check_binary, check_level, check_score, same_length
from radsig.exceptions import StatisticsError

__all__ = ["auc_ci", "delong_test", "delong_test_unpaired", "delong_components", "roc_curve_ci",
           "RocCurve", "diagnostic_metrics"]


def _binary_score(y, score, name: str = "score") -> tuple[np.ndarray, np.ndarray]:
    yy = check_binary(y)
    ss = check_score(score, name)
    same_length(y=yy, **{name: ss})
    return yy, ss


def delong_components(y: np.ndarray, score: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components.

    Returns
    -------
    auc : float
    v10 : ndarray of shape (n_positive,)
        For each positive, the fraction of negatives it outranks (ties count 1/2).
    v01 : ndarray of shape (n_negative,)
        For each negative, the fraction of positives that outrank it.
    """
    pos, neg = score[y == 1], score[y == 0]
    m, n = pos.size, neg.size
    tz = stats.rankdata(np.concatenate([pos, neg]))
    tx, ty = stats.rankdata(pos), stats.rankdata(neg)
    auc = (tz[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (tz[:m] - tx) / n
    v01 = 1.0 - (tz[m:] - ty) / m
    return float(auc), v10, v01


def _delong_sizes(y: np.ndarray, name: str = "y") -> None:
    """DeLong's variance has a (n − 1) denominator per class: one positive or one negative
    gives a NaN variance, not an interval."""
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if min(n_pos, n_neg) < 2:
        raise StatisticsError(f"{name} has {n_pos} positive(s) and {n_neg} negative(s); DeLong's "
                              "variance needs at least 2 of each (use method='bootstrap' or more data).")


def _delong_var(v10: np.ndarray, v01: np.ndarray) -> float:
    return float(np.var(v10, ddof=1) / v10.size + np.var(v01, ddof=1) / v01.size)


def auc_ci(y, score, *, method: str = "delong", level: float = 0.95, n_boot: int = 2000,
           stratified: bool = True, logit: bool = False,
           seed: int | np.random.Generator | None = None) -> Estimate:
    """Area under the ROC curve with a confidence interval.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Binary outcome, 1 = positive.
    score : array-like of shape (n_samples,)
        Higher = more likely positive (probability, logit or risk score).
    method : {"delong", "bootstrap"}
        ``"delong"``: asymptotic interval ``AUC ± z·SE`` with DeLong's variance, clipped to
        [0, 1] (as pROC). ``"bootstrap"``: percentile interval of ``n_boot`` resamples.
    level : float
        Confidence level.
    n_boot : int
        Bootstrap resamples (``method="bootstrap"``).
    stratified : bool
        Resample positives and negatives separately (fixed prevalence), as pROC does.
    logit : bool
        DeLong interval on the logit scale, back-transformed (stays inside (0, 1) for small
        samples or AUCs near 1); default is pROC's ``AUC ± z·SE``.
    seed : int, Generator or None
        Random state of the bootstrap.

    Returns
    -------
    Estimate
        ``estimate, ci_low, ci_high, se, n``; ``details`` holds ``n_positive, n_negative``.

    Raises
    ------
    StatisticsError
        One class only, constant score, NaNs, length mismatch, unknown method.
    """
    yy, ss = _binary_score(y, score)
    level = check_level(level)
    auc, v10, v01 = delong_components(yy, ss)
    details = {"n_positive": int(yy.sum()), "n_negative": int((1 - yy).sum())}
    if method == "delong":
        _delong_sizes(yy)
        se = np.sqrt(_delong_var(v10, v01))
        z = stats.norm.ppf(0.5 + level / 2)
        if logit:
            a = min(max(auc, 1e-6), 1 - 1e-6)
            half = z * se / (a * (1 - a))
            lo, hi = (float(expit(np.log(a / (1 - a)) + s * half)) for s in (-1, 1))
            return Estimate("AUC", auc, lo, hi, yy.size, "delong-logit", level, float(se),
                            details)
        lo, hi = max(0.0, auc - z * se), min(1.0, auc + z * se)
        return Estimate("AUC", auc, lo, hi, yy.size, "delong", level, float(se), details)
    if method == "bootstrap":
        rng = make_rng(seed)
        idx = resample_indices(yy.size, check_n_boot(n_boot), rng, yy if stratified else None)
        reps = auc_from_index(yy, ss, idx)
        lo, hi = percentile_interval(reps, level)
        details["n_boot"] = int(n_boot)
        return Estimate("AUC", auc, float(lo), float(hi), yy.size, "bootstrap-percentile",
                        level, float(np.nanstd(reps, ddof=1)), details)
    raise StatisticsError(f"method must be 'delong' or 'bootstrap', got {method!r}.")


def delong_test(y, score_a, score_b, *, level: float = 0.95) -> TestResult:
    """DeLong's test for two correlated AUCs (two scores on the same patients).

    Returns
    -------
    TestResult
        ``estimate`` = AUC(a) − AUC(b) with CI, ``statistic`` = z, two-sided ``p_value``;
        ``details`` holds ``auc_a, auc_b, var_a, var_b, covariance``.
    """
    yy, sa = _binary_score(y, score_a, "score_a")
    sb = check_score(score_b, "score_b")
    same_length(y=yy, score_b=sb)
    level = check_level(level)
    _delong_sizes(yy)
    auc_a, v10a, v01a = delong_components(yy, sa)
    auc_b, v10b, v01b = delong_components(yy, sb)
    s10 = np.cov(np.vstack([v10a, v10b]), ddof=1)
    s01 = np.cov(np.vstack([v01a, v01b]), ddof=1)
    cov = s10 / v10a.size + s01 / v01a.size
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    diff = auc_a - auc_b
    if var <= 0:
        raise StatisticsError("the two scores rank every patient identically (DeLong variance of "
                              "the difference is 0); there is nothing to test.")
    se = float(np.sqrt(var))
    z = diff / se
    zc = stats.norm.ppf(0.5 + level / 2)
    return TestResult("AUC difference (DeLong, paired)", diff, diff - zc * se, diff + zc * se,
                      yy.size, "delong-paired", level, se,
                      {"auc_a": auc_a, "auc_b": auc_b, "var_a": float(cov[0, 0]),
                       "var_b": float(cov[1, 1]), "covariance": float(cov[0, 1])},
                      statistic=float(z), p_value=float(2 * stats.norm.sf(abs(z))))


def delong_test_unpaired(y_a, score_a, y_b, score_b, *, level: float = 0.95) -> TestResult:
    """Compare two AUCs from independent cohorts (e.g. training vs validation).

    ``D = (AUC_a − AUC_b) / sqrt(Var_a + Var_b)`` with DeLong variances, referred to a t
    distribution with Welch–Satterthwaite degrees of freedom
    ``(Var_a + Var_b)² / (Var_a² / (n_a − 1) + Var_b² / (n_b − 1))`` — the test of R's
    ``pROC::roc.test(paired = FALSE, method = "delong")``; the CI uses the same t quantile.
    (For large cohorts the t and normal answers coincide.)
    """
    ya, sa = _binary_score(y_a, score_a, "score_a")
    yb, sb = _binary_score(y_b, score_b, "score_b")
    level = check_level(level)
    _delong_sizes(ya, "y_a")
    _delong_sizes(yb, "y_b")
    auc_a, *comp_a = delong_components(ya, sa)
    auc_b, *comp_b = delong_components(yb, sb)
    var_a, var_b = _delong_var(*comp_a), _delong_var(*comp_b)
    if var_a + var_b <= 0:
        raise StatisticsError("both AUCs have zero DeLong variance (each score separates its cohort "
                              "perfectly); the difference cannot be tested.")
    se = float(np.sqrt(var_a + var_b))
    diff = auc_a - auc_b
    d = diff / se
    df = (var_a + var_b) ** 2 / (var_a ** 2 / (ya.size - 1) + var_b ** 2 / (yb.size - 1))
    tc = stats.t.ppf(0.5 + level / 2, df)
    return TestResult("AUC difference (DeLong, unpaired)", diff, diff - tc * se, diff + tc * se,
                      ya.size + yb.size, "delong-unpaired-t", level, se,
                      {"auc_a": auc_a, "auc_b": auc_b, "var_a": var_a, "var_b": var_b},
                      statistic=float(d), p_value=float(2 * stats.t.sf(abs(d), df)), df=float(df))


@dataclass(frozen=True, eq=False)
class RocCurve:
    """Empirical ROC curve plus a pointwise bootstrap band of sensitivity at fixed FPR."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray
    fpr_grid: np.ndarray
    tpr_low: np.ndarray
    tpr_high: np.ndarray
    auc: Estimate
    level: float = 0.95

    @property
    def summary(self) -> pd.DataFrame:
        """Band table: ``fpr, tpr_low, tpr_high`` on the grid."""
        return pd.DataFrame({"fpr": self.fpr_grid, "tpr_low": self.tpr_low,
                             "tpr_high": self.tpr_high})


def _tpr_at_fpr(pos_b: np.ndarray, neg_b: np.ndarray, grid: np.ndarray, n_levels: int):
    """Vectorised TPR at each FPR of ``grid`` for every bootstrap row (integer-coded scores)."""
    neg_desc = -np.sort(-neg_b, axis=1)
    n = neg_b.shape[1]
    k = np.floor(grid * n + 1e-9).astype(int)  # false positives allowed
    thr = neg_desc[:, np.minimum(k, n - 1)]
    counts = rowwise_count_greater(np.sort(pos_b, axis=1), thr, n_levels)
    tpr = counts / pos_b.shape[1]
    tpr[:, k >= n] = 1.0
    return tpr


def roc_curve_ci(y, score, *, level: float = 0.95, n_boot: int = 2000, n_grid: int = 101,
                 seed: int | np.random.Generator | None = None) -> RocCurve:
    """ROC curve with a pointwise percentile-bootstrap band of sensitivity (stratified).

    At each false-positive rate of an ``n_grid`` grid, the band gives the ``level`` interval of
    the best sensitivity reachable with at most that FPR, over ``n_boot`` stratified resamples.
    """
    yy, ss = _binary_score(y, score)
    level = check_level(level)
    fpr, tpr, thr = roc_curve(yy, ss)
    codes = np.unique(ss, return_inverse=True)[1]
    rng = make_rng(seed)
    pos, neg = codes[yy == 1], codes[yy == 0]
    b = check_n_boot(n_boot)
    pos_b = pos[rng.integers(0, pos.size, size=(b, pos.size))]
    neg_b = neg[rng.integers(0, neg.size, size=(b, neg.size))]
    grid = np.linspace(0, 1, n_grid)
    lo, hi = percentile_interval(_tpr_at_fpr(pos_b, neg_b, grid, int(codes.max()) + 1), level)
    return RocCurve(fpr, tpr, thr, grid, lo, hi, auc_ci(yy, ss, level=level), level)


def diagnostic_metrics(y, score, cutoff: float, *, method: str = "wilson",
                       level: float = 0.95) -> ResultTable:
    """Sensitivity, specificity, accuracy, PPV and NPV at ``score >= cutoff`` with binomial CIs.

    Parameters
    ----------
    method : {"wilson", "exact"}
        Wilson score or Clopper–Pearson ("exact") interval (``scipy.stats.binomtest``).

    Returns
    -------
    ResultTable
        Rows ``sensitivity, specificity, accuracy, ppv, npv``; columns ``estimate, ci_low,
        ci_high, p_value, n, count``.
    """
    if method not in ("wilson", "exact"):
        raise StatisticsError(f"method must be 'wilson' or 'exact' (Clopper–Pearson), "
                              f"got {method!r}.")
    yy, ss = _binary_score(y, score)
    level = check_level(level)
    pred = (ss >= cutoff).astype(int)
    tp = int(((pred == 1) & (yy == 1)).sum())
    tn = int(((pred == 0) & (yy == 0)).sum())
    fp = int(((pred == 1) & (yy == 0)).sum())
    fn = int(((pred == 0) & (yy == 1)).sum())
    parts = {"sensitivity": (tp, tp + fn), "specificity": (tn, tn + fp),
             "accuracy": (tp + tn, yy.size), "ppv": (tp, tp + fp), "npv": (tn, tn + fn)}
    rows = {}
    for name, (k, n) in parts.items():
        if n == 0:
            rows[name] = dict(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, p_value=np.nan,
                              n=0, count=0)
            continue
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method=method)
        rows[name] = dict(estimate=k / n, ci_low=ci.low, ci_high=ci.high, p_value=np.nan,
                          n=n, count=k)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "metric"
    return ResultTable("Diagnostic metrics", table, method, level,
                       {"cutoff": float(cutoff), "tp": tp, "tn": tn, "fp": fp, "fn": fn})

