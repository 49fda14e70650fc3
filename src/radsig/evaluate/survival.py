"""Survival statistics: Kaplan–Meier with CIs and medians, log-rank tests, Cox hazard ratios.

Kaplan–Meier and Cox fits are lifelines'; the log-rank statistic comes from scikit-survival's
``compare_survival``. Only the stratified combination (sum of per-stratum O−E vectors and
covariance matrices) is written here, because neither library offers a stratified k-group test.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.exceptions import ConvergenceError, StatisticalWarning
from lifelines.exceptions import ConvergenceWarning as LifelinesConvergenceWarning
from lifelines.utils import median_survival_times
from scipy import linalg, stats
from sksurv.compare import compare_survival

from radsig.evaluate._results import ResultTable, TestResult
from radsig.evaluate._validate import check_groups, check_level, check_survival
from radsig.exceptions import ConvergenceWarning, StatisticsError

__all__ = ["kaplan_meier", "KaplanMeierResult", "logrank_test", "cox_hazard_ratios",
           "number_at_risk"]


def _label_order(groups: np.ndarray) -> list:
    try:
        return sorted(pd.unique(groups))
    except TypeError:  # mixed types: keep order of appearance
        return list(pd.unique(groups))


@dataclass(frozen=True, eq=False)
class KaplanMeierResult:
    """Kaplan–Meier curves (one per group) with pointwise CIs and median survival.

    Attributes
    ----------
    curves : DataFrame
        Columns ``group, time, at_risk, events, censored, survival, ci_low, ci_high``
        (one row per distinct time, starting at time 0 with survival 1).
    medians : DataFrame
        Index ``group``; columns ``estimate`` (median survival), ``ci_low, ci_high, p_value, n,
        events``. Medians not reached are NaN (upper CI limits not reached are ``inf``).
    """

    curves: pd.DataFrame
    medians: pd.DataFrame
    level: float
    time: np.ndarray = field(repr=False)
    event: np.ndarray = field(repr=False)
    groups: np.ndarray = field(repr=False)
    details: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def summary(self) -> pd.DataFrame:
        """The medians table (``estimate, ci_low, ci_high, p_value, n, events``)."""
        return self.medians.copy()

    @property
    def group_names(self) -> list:
        return list(self.medians.index)

    def survival_at(self, times: Sequence[float]) -> pd.DataFrame:
        """Survival and CI at given times (step function, right-continuous), one row per group
        and time."""
        rows = []
        for g, curve in self.curves.groupby("group", sort=False):
            for t in np.atleast_1d(times):
                i = np.searchsorted(curve["time"].to_numpy(), t, side="right") - 1
                r = curve.iloc[max(i, 0)]
                rows.append({"group": g, "time": float(t), "survival": r["survival"],
                             "ci_low": r["ci_low"], "ci_high": r["ci_high"]})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "medians": self.medians.reset_index().to_dict(orient="list"),
                "curves": self.curves.to_dict(orient="list")}


def kaplan_meier(time, event, groups=None, *, level: float = 0.95) -> KaplanMeierResult:
    """Kaplan–Meier survival curves with log(−log) (exponential Greenwood) pointwise CIs.

    Parameters
    ----------
    time, event : array-like of shape (n_samples,)
        Follow-up time and event indicator (1 = event, 0 = censored).
    groups : array-like of shape (n_samples,), optional
        Group label per patient; one curve per group (``"all"`` when omitted).
    level : float
        Confidence level.

    Returns
    -------
    KaplanMeierResult
    """
    y = check_survival(time, event)
    level = check_level(level)
    t, e = y["time"], y["event"]
    g = np.full(t.size, "all", dtype=object) if groups is None else check_groups(
        groups, t.size, min_groups=1)
    curves, medians = [], {}
    for label in _label_order(g):
        sel = g == label
        kmf = KaplanMeierFitter(alpha=1 - level).fit(t[sel], e[sel])
        ci = kmf.confidence_interval_survival_function_
        et = kmf.event_table
        curves.append(pd.DataFrame({
            "group": label, "time": kmf.survival_function_.index.to_numpy(),
            "at_risk": et["at_risk"].to_numpy(), "events": et["observed"].to_numpy(),
            "censored": et["censored"].to_numpy(),
            "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(), "ci_high": ci.iloc[:, 1].to_numpy()}))
        med_ci = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
        med = kmf.median_survival_time_
        medians[label] = {"estimate": float(med) if np.isfinite(med) else math.nan,
                          "ci_low": float(med_ci[0]), "ci_high": float(med_ci[1]),
                          "p_value": math.nan, "n": int(sel.sum()), "events": int(e[sel].sum())}
    med_table = pd.DataFrame.from_dict(medians, orient="index")
    med_table.index.name = "group"
    return KaplanMeierResult(pd.concat(curves, ignore_index=True), med_table, level, t, e, g)


def number_at_risk(time, groups, times: Sequence[float]) -> pd.DataFrame:
    """Patients still at risk (time >= t) per group (rows) at each of ``times`` (columns)."""
    t = np.asarray(time, dtype=float)
    g = np.asarray(groups, dtype=object)
    labels = _label_order(g)
    data = {lab: [(t[g == lab] >= x).sum() for x in times] for lab in labels}
    return pd.DataFrame.from_dict(data, orient="index", columns=list(times))


def _logrank_parts(y: np.ndarray, g: np.ndarray, labels: list) -> tuple[np.ndarray, np.ndarray,
                                                                         np.ndarray, np.ndarray]:
    """O−E vector, covariance, observed and expected for all ``labels`` (0 for absent ones)."""
    k = len(labels)
    o_e, cov, obs, exp = np.zeros(k), np.zeros((k, k)), np.zeros(k), np.zeros(k)
    present = [lab for lab in labels if (g == lab).any()]
    if len(present) < 2 or not y["event"].any():  # a stratum without events adds nothing
        return o_e, cov, obs, exp
    codes = np.array([labels.index(v) for v in g])
    _, _, table, c = compare_survival(y, codes, return_stats=True)
    pos = table.index.to_numpy().astype(int)
    o_e[pos] = table["statistic"].to_numpy()
    obs[pos] = table["observed"].to_numpy()
    exp[pos] = table["expected"].to_numpy()
    cov[np.ix_(pos, pos)] = c
    return o_e, cov, obs, exp


def logrank_test(time, event, groups, *, strata=None, level: float = 0.95) -> TestResult:
    """Log-rank test of equal survival across two or more groups, optionally stratified.

    Parameters
    ----------
    time, event : array-like of shape (n_samples,)
    groups : array-like of shape (n_samples,)
        Group labels (two or more distinct values).
    strata : array-like of shape (n_samples,), optional
        Stratum labels; the O−E vectors and their covariances are summed over strata.
    level : float
        Level of the CI of the two-group hazard ratio.

    Returns
    -------
    TestResult
        ``statistic`` = chi-square with ``df`` = k − 1, ``p_value``. For two groups
        ``estimate`` is the log-rank (Peto) hazard ratio of the second group (sorted label order)
        versus the first, ``exp((O−E)/V)``, with CI ``exp((O−E)/V ± z/sqrt(V))``; NaN for k > 2.
        ``details['table']`` holds per-group ``n, observed, expected``.
    """
    y = check_survival(time, event)
    level = check_level(level)
    g = check_groups(groups, y.size)
    labels = _label_order(g)
    s = np.zeros(y.size) if strata is None else check_groups(strata, y.size, "strata",
                                                             min_groups=1)
    k = len(labels)
    o_e, cov, obs, exp = np.zeros(k), np.zeros((k, k)), np.zeros(k), np.zeros(k)
    for stratum in pd.unique(s):
        sel = s == stratum
        parts = _logrank_parts(y[sel], g[sel], labels)
        o_e, cov, obs, exp = (a + b for a, b in zip((o_e, cov, obs, exp), parts, strict=True))
    chisq = float(o_e[:-1] @ linalg.pinv(cov[:-1, :-1]) @ o_e[:-1])
    df = k - 1
    est = lo = hi = math.nan
    if k == 2 and cov[1, 1] > 0:
        z = stats.norm.ppf(0.5 + level / 2)
        log_hr = o_e[1] / cov[1, 1]
        half = z / math.sqrt(cov[1, 1])
        est, lo, hi = math.exp(log_hr), math.exp(log_hr - half), math.exp(log_hr + half)
    table = pd.DataFrame({"n": [int((g == lab).sum()) for lab in labels], "observed": obs,
                          "expected": exp}, index=pd.Index(labels, name="group"))
    return TestResult("log-rank" + (" (stratified)" if strata is not None else ""), est, lo, hi,
                      y.size, "logrank", level, details={"table": table, "groups": labels},
                      statistic=chisq, p_value=float(stats.chi2.sf(chisq, df)), df=df)


def cox_hazard_ratios(X, time, event, *, strata=None, ties: str = "efron",
                      penalizer: float = 0.0, level: float = 0.95) -> ResultTable:
    """Cox proportional-hazards hazard ratios with Wald CIs (lifelines ``CoxPHFitter``).

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_covariates)
        Covariates (numeric; dummy-code categorical ones first). A 1-D array is one covariate.
    time, event : array-like of shape (n_samples,)
    strata : array-like of shape (n_samples,), optional
        Stratification variable (separate baseline hazard per stratum).
    ties : {"efron"}
        lifelines handles ties with Efron's method.
    penalizer : float
        L2 penalty passed to lifelines (0 = plain partial likelihood).

    Returns
    -------
    ResultTable
        Index = covariates; columns ``estimate`` (HR), ``ci_low, ci_high, p_value, n, coef,
        se``. ``details``: ``concordance, log_likelihood, lr_statistic, lr_p_value``.
    """
    if ties != "efron":
        raise StatisticsError(f"ties must be 'efron' (the method lifelines uses), got {ties!r}.")
    y = check_survival(time, event)
    level = check_level(level)
    df = pd.DataFrame(X) if not isinstance(X, pd.DataFrame) else X.copy()
    if isinstance(X, pd.Series):
        df = X.to_frame()
    df.columns = [str(c) if not isinstance(c, str) else c for c in df.columns]
    if len(df) != y.size:
        raise StatisticsError(f"inputs must have the same length, got X={len(df)} rows, "
                              f"time={y.size}.")
    if df.isna().any().any() or not all(np.issubdtype(d, np.number) for d in df.dtypes):
        raise StatisticsError("X must be numeric without missing values; dummy-code categories "
                              "and impute or drop missing rows first.")
    bad = [c for c in df.columns if not np.isfinite(df[c].to_numpy(float)).all()]
    if bad:
        raise StatisticsError(f"X: covariate(s) {bad} hold infinite values; Cox regression needs "
                              "finite covariates.")
    _check_cox_design(df)
    data = df.reset_index(drop=True).assign(_time=y["time"], _event=y["event"].astype(int))
    cols = list(df.columns)
    if strata is not None:
        data["_strata"] = check_groups(strata, y.size, "strata", min_groups=1)
    cph = CoxPHFitter(alpha=1 - level, penalizer=penalizer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cph.fit(data, "_time", "_event", strata=["_strata"] if strata is not None else None)
        except (ConvergenceError, ValueError, np.linalg.LinAlgError) as err:
            raise StatisticsError(f"X: the Cox fit of covariate(s) {cols} failed ({_first_line(err)}); "
                                  "check for constant, collinear or perfectly separating "
                                  "covariates, or pass penalizer > 0.") from None
    if penalizer == 0:
        _check_separation(cph, df, y, cols)
    for w in caught:  # lifelines' own warnings, restated once as radsig's
        if issubclass(w.category, (LifelinesConvergenceWarning, StatisticalWarning)):
            warnings.warn(f"Cox fit of {cols}: {_first_line(w.message)}", ConvergenceWarning,
                          stacklevel=2)
    s = cph.summary
    lo_col, hi_col = [c for c in s.columns if c.startswith("exp(coef) lower")][0], \
        [c for c in s.columns if c.startswith("exp(coef) upper")][0]
    table = pd.DataFrame({"estimate": s["exp(coef)"], "ci_low": s[lo_col], "ci_high": s[hi_col],
                          "p_value": s["p"], "n": y.size, "coef": s["coef"],
                          "se": s["se(coef)"]}).loc[cols]
    table.index.name = "covariate"
    lr = cph.log_likelihood_ratio_test()
    return ResultTable("Cox hazard ratios", table, "cox-wald", level,
                       {"concordance": float(cph.concordance_index_),
                        "log_likelihood": float(cph.log_likelihood_),
                        "lr_statistic": float(lr.test_statistic), "lr_p_value": float(lr.p_value),
                        "n_events": int(y["event"].sum())})


def _first_line(err) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _check_cox_design(df: pd.DataFrame) -> None:
    """Constant and collinear covariates, named (lifelines would fail with a matrix error)."""
    X = df.to_numpy(float)
    for j, col in enumerate(df.columns):
        if np.ptp(X[:, j]) == 0:
            raise StatisticsError(f"X: covariate {col!r} is constant ({X[0, j]:g} for every "
                                  "patient); it has no hazard ratio. Drop it.")
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    for j in range(1, Z.shape[1]):
        if np.linalg.matrix_rank(Z[:, : j + 1], tol=1e-8 * Z.shape[0]) <= j:
            coef = np.linalg.lstsq(Z[:, :j], Z[:, j], rcond=None)[0]
            partners = [str(df.columns[k]) for k in range(j) if abs(coef[k]) > 1e-6]
            raise StatisticsError(f"X: covariate {df.columns[j]!r} is a linear combination of "
                                  f"{partners} (collinear); its hazard ratio is not identifiable. "
                                  "Drop one of them.")


#: log-HR standard error per SD of a covariate above which the fit has no finite maximum
_SEPARATION_SE = 10.0


def _check_separation(cph, df: pd.DataFrame, y: np.ndarray, cols: list) -> None:
    """Monotone likelihood (e.g. no events in one group): the partial likelihood keeps rising
    as a coefficient goes to ±infinity, so the HR is 0 or infinite and the Wald CI and p are
    meaningless. The likelihood-ratio test stays valid and is given in the message."""
    s = cph.summary
    sd = df.std(ddof=0)
    lr = cph.log_likelihood_ratio_test()
    e = y["event"]
    for col in cols:
        x = df[col].to_numpy(float)
        levels = np.unique(x)
        empty = [v for v in levels if not e[x == v].any()] if levels.size == 2 else []
        wild = float(s.loc[col, "se(coef)"]) * float(sd[col]) > _SEPARATION_SE or not np.isfinite(s.loc[col, "coef"])
        if empty or wild:
            why = (f"no events where {col} = {empty[0]:g}" if empty else
                   f"log-HR standard error {float(s.loc[col, 'se(coef)']):.3g}")
            raise StatisticsError(
                f"X: covariate {col!r}: the Cox likelihood has no finite maximum ({why}: monotone "
                f"likelihood / separation); the hazard ratio is 0 or infinite and its Wald CI and p "
                f"are meaningless. Likelihood-ratio test: chi2 = {lr.test_statistic:.3f}, "
                f"p = {lr.p_value:.3g}; use it (or the log-rank test), or pass penalizer > 0.")
