"""Calibration of predicted probabilities: curves, intercept and slope, Hosmer–Lemeshow, Brier,
and calibration of survival predictions at a time point.

The logistic fits with an offset and standard errors are hand-written (Newton–Raphson, a few
lines) because scikit-learn's LogisticRegression has neither an offset nor standard errors and
statsmodels is not a radsig dependency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

from radsig.evaluate._bootstrap import check_n_boot, make_rng, percentile_interval
from radsig.evaluate._results import Estimate, ResultTable, TestResult
from radsig.evaluate._smooth import lowess
from radsig.evaluate._validate import (
    check_binary,
    check_level,
    check_prob,
    check_survival,
    same_length,
)
from radsig.evaluate.survival import kaplan_meier
from radsig.exceptions import StatisticsError

__all__ = ["calibration_curve", "CalibrationCurve", "calibration_intercept_slope",
           "hosmer_lemeshow", "brier_score", "survival_calibration"]

_EPS = 1e-8


def _binary_prob(y, prob) -> tuple[np.ndarray, np.ndarray]:
    yy, pp = check_binary(y), check_prob(prob)
    same_length(y=yy, prob=pp)
    return yy, pp


def _loglik(X: np.ndarray, y: np.ndarray, offset: np.ndarray, beta: np.ndarray) -> float:
    eta = X @ beta + offset
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _logistic(X: np.ndarray, y: np.ndarray, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logistic regression with offset (Newton–Raphson with step halving);
    returns (coef, covariance)."""
    beta = np.zeros(X.shape[1])
    ll = _loglik(X, y, offset, beta)
    for _ in range(100):
        p = expit(X @ beta + offset)
        hess = X.T @ (X * (p * (1 - p))[:, None])
        try:
            step = np.linalg.solve(hess, X.T @ (y - p))
        except np.linalg.LinAlgError as err:
            raise StatisticsError("the calibration model is singular (predicted probabilities "
                                  "of exactly 0 or 1 for every patient?); calibration "
                                  "intercept/slope are undefined.") from err
        for _ in range(30):  # halve the step until the likelihood does not decrease
            new_ll = _loglik(X, y, offset, beta + step)
            if new_ll >= ll - 1e-12:
                break
            step /= 2
        beta, ll = beta + step, new_ll
        if np.max(np.abs(step)) < 1e-10:
            p = expit(X @ beta + offset)
            return beta, np.linalg.inv(X.T @ (X * (p * (1 - p))[:, None]))
    raise StatisticsError("the calibration model did not converge (the predictions separate the "
                          "outcome perfectly?); calibration intercept/slope are undefined.")


def calibration_intercept_slope(y, prob, *, level: float = 0.95) -> ResultTable:
    """Calibration intercept (calibration-in-the-large) and calibration slope with Wald CIs.

    ``intercept``: α in ``logit P(y=1) = α + logit(p)`` (slope fixed at 1; ideal 0).
    ``slope``: β in ``logit P(y=1) = a + β·logit(p)`` (ideal 1). Probabilities are clipped to
    [1e-8, 1 − 1e-8] before the logit.

    Returns
    -------
    ResultTable
        Rows ``intercept, slope``; ``p_value`` tests intercept = 0 and slope = 1.
    """
    yy, pp = _binary_prob(y, prob)
    level = check_level(level)
    lp = logit(np.clip(pp, _EPS, 1 - _EPS))
    ones = np.ones((yy.size, 1))
    a, cov_a = _logistic(ones, yy, lp)
    b, cov_b = _logistic(np.column_stack([ones, lp]), yy, np.zeros(yy.size))
    z = stats.norm.ppf(0.5 + level / 2)
    rows = {}
    for name, est, se, null in (("intercept", a[0], np.sqrt(cov_a[0, 0]), 0.0),
                                ("slope", b[1], np.sqrt(cov_b[1, 1]), 1.0)):
        rows[name] = dict(estimate=est, ci_low=est - z * se, ci_high=est + z * se,
                          p_value=2 * stats.norm.sf(abs(est - null) / se), n=yy.size, se=se)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "metric"
    return ResultTable("Calibration intercept and slope", table, "logistic-wald", level,
                       {"slope_model_intercept": float(b[0])})


def hosmer_lemeshow(y, prob, *, n_groups: int = 10) -> TestResult:
    """Hosmer–Lemeshow goodness-of-fit test over groups of predicted risk (quantile groups).

    ``H = Σ_g (O_g − E_g)² / (E_g (1 − E_g/n_g))`` on ``G − 2`` degrees of freedom.
    ``details['table']`` holds ``n, observed, expected`` per group.
    """
    yy, pp = _binary_prob(y, prob)
    groups = pd.qcut(pp, n_groups, duplicates="drop", labels=False)
    frame = pd.DataFrame({"g": groups, "y": yy, "p": pp}).groupby("g")
    table = pd.DataFrame({"n": frame.size(), "observed": frame["y"].sum(),
                          "expected": frame["p"].sum()})
    g = len(table)
    if g < 3:
        raise StatisticsError(f"Hosmer–Lemeshow needs at least 3 distinct risk groups, got {g} "
                              "(too few distinct predicted probabilities).")
    e, o, n = table["expected"], table["observed"], table["n"]
    denom = e * (1 - e / n)
    h = float((((o - e) ** 2) / denom.where(denom > 0)).sum())
    return TestResult("Hosmer–Lemeshow", float("nan"), float("nan"), float("nan"), yy.size,
                      "hosmer-lemeshow", details={"table": table},
                      statistic=h, p_value=float(stats.chi2.sf(h, g - 2)), df=g - 2)


def brier_score(y, prob, *, level: float = 0.95, n_boot: int = 2000,
                seed: int | np.random.Generator | None = None) -> Estimate:
    """Brier score with a percentile-bootstrap CI; ``details['scaled']`` is the scaled Brier
    score ``1 − Brier / (p̄(1 − p̄))`` (1 = perfect, 0 = no better than the prevalence)."""
    yy, pp = _binary_prob(y, prob)
    level = check_level(level)
    sq = (pp - yy) ** 2
    idx = make_rng(seed).integers(0, yy.size, size=(check_n_boot(n_boot), yy.size))
    lo, hi = percentile_interval(sq[idx].mean(axis=1), level)
    prev = yy.mean()
    return Estimate("Brier score", sq.mean(), lo, hi, yy.size, "bootstrap-percentile", level,
                    float(sq[idx].mean(axis=1).std(ddof=1)),
                    {"scaled": float(1 - sq.mean() / (prev * (1 - prev))), "n_boot": n_boot})


@dataclass(frozen=True, eq=False)
class CalibrationCurve:
    """Binned observed-vs-predicted table (with Wilson CIs) and a lowess-smoothed curve."""

    bins: pd.DataFrame
    smooth: pd.DataFrame
    level: float

    @property
    def summary(self) -> pd.DataFrame:
        return self.bins.copy()


def calibration_curve(y, prob, *, n_bins: int = 10, strategy: str = "quantile",
                      frac: float = 2 / 3, level: float = 0.95) -> CalibrationCurve:
    """Observed event rate against mean predicted probability.

    Parameters
    ----------
    n_bins : int
        Number of bins.
    strategy : {"quantile", "uniform"}
        Bins of equal size or of equal width on [0, 1].
    frac : float
        Lowess span of the smoothed curve.

    Returns
    -------
    CalibrationCurve
        ``bins``: ``n, predicted, observed, ci_low, ci_high`` (Wilson) per bin;
        ``smooth``: ``predicted, observed`` on 100 points spanning the predictions.
    """
    yy, pp = _binary_prob(y, prob)
    level = check_level(level)
    if strategy == "quantile":
        bins = pd.qcut(pp, n_bins, duplicates="drop", labels=False)
    elif strategy == "uniform":
        bins = np.minimum((pp * n_bins).astype(int), n_bins - 1)
    else:
        raise StatisticsError(f"strategy must be 'quantile' or 'uniform', got {strategy!r}.")
    rows = []
    for b in np.unique(bins):
        sel = bins == b
        k, n = int(yy[sel].sum()), int(sel.sum())
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
        rows.append(dict(bin=int(b), n=n, predicted=pp[sel].mean(), observed=k / n,
                         ci_low=ci.low, ci_high=ci.high))
    grid = np.linspace(pp.min(), pp.max(), 100)
    smooth = pd.DataFrame({"predicted": grid,
                           "observed": np.clip(lowess(pp, yy, grid, frac), 0, 1)})
    return CalibrationCurve(pd.DataFrame(rows).set_index("bin"), smooth, level)


def survival_calibration(time, event, surv_prob, horizon: float, *, n_bins: int = 5,
                         level: float = 0.95) -> ResultTable:
    """Calibration of predicted survival at ``horizon``: Kaplan–Meier observed survival (with
    CI) against mean predicted survival in quantile groups of the prediction.

    Parameters
    ----------
    surv_prob : array-like of shape (n_samples,)
        Predicted probability of surviving past ``horizon``.

    Returns
    -------
    ResultTable
        Index ``group`` (1 = lowest predicted survival); ``estimate`` = observed KM survival at
        ``horizon`` with ``ci_low, ci_high``, and ``predicted``, ``n``. ``details['o_e']`` is
        observed/expected events at ``horizon`` over all patients.
    """
    y = check_survival(time, event)
    sp = check_prob(surv_prob, "surv_prob")
    same_length(time=y, surv_prob=sp)
    level = check_level(level)
    if not y["time"].min() < horizon < y["time"].max():
        raise StatisticsError(f"horizon={horizon} must lie inside follow-up "
                              f"({y['time'].min():g} to {y['time'].max():g}).")
    groups = pd.qcut(sp, n_bins, duplicates="drop", labels=False) + 1
    km = kaplan_meier(y["time"], y["event"], groups, level=level)
    at = km.survival_at([horizon]).set_index("group")
    table = pd.DataFrame({"estimate": at["survival"], "ci_low": at["ci_low"],
                          "ci_high": at["ci_high"], "p_value": np.nan,
                          "n": km.medians["n"], "predicted": pd.Series(sp).groupby(groups).mean()})
    table.index.name = "group"
    overall = kaplan_meier(y["time"], y["event"]).survival_at([horizon])["survival"].iloc[0]
    o_e = (1 - overall) / (1 - sp.mean()) if sp.mean() < 1 else np.nan
    return ResultTable("Survival calibration", table, "kaplan-meier", level,
                       {"horizon": float(horizon), "o_e": float(o_e)})


