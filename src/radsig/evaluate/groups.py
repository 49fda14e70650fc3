"""Group comparisons: odds ratios, response by group (chi-square / Fisher), Mann–Whitney, and
Spearman / Pearson correlations with CIs and Benjamini–Hochberg FDR across many features.

All tests are SciPy's; this module adds validation, CIs and one result type.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from scipy.stats.contingency import odds_ratio as _scipy_odds_ratio

from radsig.evaluate._results import Estimate, ResultTable, TestResult
from radsig.evaluate._validate import (
    as_1d,
    check_binary,
    check_groups,
    check_level,
    check_score,
    same_length,
)
from radsig.evaluate.discrimination import auc_ci
from radsig.exceptions import StatisticsError

__all__ = ["odds_ratio", "response_by_group", "mann_whitney", "correlation",
           "correlate_features"]


def _two_by_two(exposure, outcome) -> np.ndarray:
    """Table [[exposed & event, exposed & no event], [unexposed & event, unexposed & none]]."""
    x, y = check_binary(exposure, "exposure"), check_binary(outcome, "outcome")
    same_length(exposure=x, outcome=y)
    return np.array([[np.sum((x == 1) & (y == 1)), np.sum((x == 1) & (y == 0))],
                     [np.sum((x == 0) & (y == 1)), np.sum((x == 0) & (y == 0))]])


def odds_ratio(exposure, outcome, *, kind: str = "conditional",
               level: float = 0.95) -> TestResult:
    """Odds ratio of ``outcome`` for exposed vs unexposed patients with CI and Fisher p-value.

    Parameters
    ----------
    exposure, outcome : array-like of shape (n_samples,)
        Binary (1 = exposed / high-risk group; 1 = event / response).
    kind : {"conditional", "sample"}
        Conditional maximum-likelihood OR with exact CI, or the sample OR ``ad/bc`` with the
        Woolf (log) CI (``scipy.stats.contingency.odds_ratio``).
    """
    table = _two_by_two(exposure, outcome)
    level = check_level(level)
    if kind not in ("conditional", "sample"):
        raise StatisticsError(f"kind must be 'conditional' or 'sample', got {kind!r}.")
    res = _scipy_odds_ratio(table, kind=kind)
    ci = res.confidence_interval(confidence_level=level)
    p = stats.fisher_exact(table).pvalue
    return TestResult("odds ratio", res.statistic, ci.low, ci.high, int(table.sum()),
                      f"odds-ratio-{kind}", level, details={"table": table.tolist()},
                      statistic=res.statistic, p_value=float(p))


def response_by_group(response, groups, *, test: str = "auto",
                      level: float = 0.95) -> TestResult:
    """Compare response rates across groups: chi-square test of independence, or Fisher's exact
    test for a 2×2 table with an expected count below 5 (``test="auto"``).

    Returns
    -------
    TestResult
        ``statistic`` (chi-square, or the OR for Fisher), ``p_value``; ``details['table']``:
        per group ``n, responders, rate, ci_low, ci_high`` (Wilson).
    """
    y = check_binary(response, "response")
    g = check_groups(groups, y.size)
    level = check_level(level)
    counts = pd.crosstab(pd.Series(g, name="group"), pd.Series(y, name="response"))
    counts = counts.reindex(columns=[0, 1], fill_value=0)
    expected = stats.contingency.expected_freq(counts.to_numpy())
    use_fisher = test == "fisher" or (test == "auto" and counts.shape[0] == 2
                                      and expected.min() < 5)
    if test not in ("auto", "chi2", "fisher"):
        raise StatisticsError(f"test must be 'auto', 'chi2' or 'fisher', got {test!r}.")
    if use_fisher:
        if counts.shape[0] != 2:
            raise StatisticsError("Fisher's exact test here needs exactly 2 groups; use "
                                  "test='chi2' for more.")
        res = stats.fisher_exact(counts.to_numpy()[:, ::-1])
        stat, p, df, method = res.statistic, res.pvalue, math.nan, "fisher"
    else:
        res = stats.chi2_contingency(counts.to_numpy(), correction=False)
        stat, p, df, method = res.statistic, res.pvalue, res.dof, "chi2"
    rows = []
    for label, row in counts.iterrows():
        n, k = int(row.sum()), int(row[1])
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
        rows.append(dict(group=label, n=n, responders=k, rate=k / n, ci_low=ci.low,
                         ci_high=ci.high))
    return TestResult("response by group", math.nan, math.nan, math.nan, y.size, method, level,
                      details={"table": pd.DataFrame(rows).set_index("group")},
                      statistic=float(stat), p_value=float(p), df=df)


def mann_whitney(values, groups, *, level: float = 0.95) -> TestResult:
    """Mann–Whitney U test between two groups (``scipy.stats.mannwhitneyu``, two-sided).

    ``estimate`` is the probability that a value of the second group (sorted label order)
    exceeds one of the first (ties 1/2), i.e. U / (n1·n2), with a DeLong CI.
    """
    x = as_1d(values, "values")
    g = check_groups(groups, x.size)
    labels = sorted(pd.unique(g).tolist())
    if len(labels) != 2:
        raise StatisticsError(f"Mann–Whitney compares exactly 2 groups, got {len(labels)}: "
                              f"{labels[:5]}.")
    a, b = x[g == labels[0]], x[g == labels[1]]
    res = stats.mannwhitneyu(b, a, alternative="two-sided")
    auc = auc_ci((g == labels[1]).astype(int), x, level=level)
    return TestResult("Mann–Whitney", auc.estimate, auc.ci_low, auc.ci_high, x.size,
                      "mann-whitney", level, auc.se,
                      {"groups": labels, "medians": [float(np.median(a)), float(np.median(b))]},
                      statistic=float(res.statistic), p_value=float(res.pvalue))


def correlation(x, y, *, method: str = "spearman", level: float = 0.95) -> Estimate:
    """Spearman or Pearson correlation with a Fisher-z CI and its p-value.

    For Spearman the z standard error is ``sqrt(1.06/(n−3))`` (Fieller, Hartley & Pearson 1957);
    for Pearson ``1/sqrt(n−3)``.
    """
    xx, yy = check_score(x, "x"), check_score(y, "y")
    n = same_length(x=xx, y=yy)
    level = check_level(level)
    if n < 4:
        raise StatisticsError(f"a correlation CI needs at least 4 pairs, got {n}.")
    if method == "spearman":
        res = stats.spearmanr(xx, yy)
        se = math.sqrt(1.06 / (n - 3))
    elif method == "pearson":
        res = stats.pearsonr(xx, yy)
        se = 1 / math.sqrt(n - 3)
    else:
        raise StatisticsError(f"method must be 'spearman' or 'pearson', got {method!r}.")
    r = float(res.statistic)
    z = math.atanh(min(max(r, -1 + 1e-15), 1 - 1e-15))
    zc = stats.norm.ppf(0.5 + level / 2)
    return Estimate(f"{method} correlation", r, math.tanh(z - zc * se), math.tanh(z + zc * se),
                    n, f"{method}-fisher-z", level, se, p_value=float(res.pvalue))


def correlate_features(features: pd.DataFrame, target, *, method: str = "spearman",
                       level: float = 0.95) -> ResultTable:
    """Correlate every column of ``features`` with ``target`` (e.g. radiomic features against an
    immune marker), with CIs and Benjamini–Hochberg q-values.

    Rows with a missing value are dropped pairwise. Constant columns get NaN.

    Returns
    -------
    ResultTable
        Index = feature; ``estimate, ci_low, ci_high, p_value, n, q_value``.
    """
    if not isinstance(features, pd.DataFrame):
        features = pd.DataFrame(features)
    t = as_1d(target, "target", allow_nan=True)
    if len(features) != t.size:
        raise StatisticsError(f"inputs must have the same length, got features={len(features)} "
                              f"rows, target={t.size}.")
    rows = {}
    for col in features.columns:
        v = pd.to_numeric(features[col], errors="coerce").to_numpy(float)
        ok = np.isfinite(v) & np.isfinite(t)
        try:
            rows[col] = correlation(v[ok], t[ok], method=method, level=level).summary.iloc[0]
        except StatisticsError:
            rows[col] = pd.Series({"estimate": np.nan, "ci_low": np.nan, "ci_high": np.nan,
                                   "p_value": np.nan, "n": int(ok.sum())})
    table = pd.DataFrame.from_dict(rows, orient="index")[["estimate", "ci_low", "ci_high",
                                                         "p_value", "n"]]
    table["n"] = table["n"].astype(int)
    p = table["p_value"].to_numpy(float)
    q = np.full(p.size, np.nan)
    if np.isfinite(p).any():
        q[np.isfinite(p)] = stats.false_discovery_control(p[np.isfinite(p)], method="bh")
    table["q_value"] = q
    table.index.name = "feature"
    return ResultTable(f"{method} correlations", table, f"{method}-fisher-z, BH-FDR", level)
