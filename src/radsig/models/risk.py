"""Risk groups from a cut-off learnt on the training cohort, with Kaplan–Meier / log-rank."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from radsig.exceptions import ConfigError
from radsig.select._target import check_survival


def maxstat_cut(score: np.ndarray, event, time, *, min_prop: float = 0.2) -> float:
    """Cut-point maximising the log-rank statistic between groups (training data only).

    Candidates are the unique scores between the ``min_prop`` and ``1 - min_prop`` quantiles.
    No multiple-testing correction is applied to the resulting p-value: validate the cut-off in
    held-out data.
    """
    from lifelines.statistics import logrank_test

    lo, hi = np.quantile(score, [min_prop, 1 - min_prop])
    cands = np.unique(score[(score >= lo) & (score <= hi)])
    best, best_stat = float(np.median(score)), -np.inf
    for c in cands:
        high = score > c
        if high.all() or not high.any():
            continue
        stat = logrank_test(time[high], time[~high], event[high], event[~high]).test_statistic
        if stat > best_stat:
            best, best_stat = float(c), stat
    return best


class RiskGroups(BaseEstimator):
    """Wrap a score model; learn a cut-off on its training scores; assign high/low risk.

    Parameters
    ----------
    estimator : estimator
        Gives a risk score (``decision_function``/``predict``; higher = higher risk).
    cutoff : "median", "maxstat" or float, default="median"
        "median" of the training scores, the maximally selected log-rank cut (survival ``y``),
        or a fixed value.

    Attributes
    ----------
    estimator_ : fitted estimator
    cutoff_ : float
        The threshold; ``predict`` returns 1 (high risk) for scores above it.
    """

    def __init__(self, *, estimator=None, cutoff="median"):
        self.estimator = estimator
        self.cutoff = cutoff

    def fit(self, X, y) -> RiskGroups:
        """Fit the score model and learn the cut-off from its training scores."""
        from radsig.models.validation import model_score

        if self.estimator is None:
            raise ConfigError("RiskGroups needs an estimator, e.g. RiskGroups(estimator=RadScore())")
        self.estimator_ = clone(self.estimator).fit(X, y)
        s = model_score(self.estimator_, X)
        if isinstance(self.cutoff, numbers.Real):
            self.cutoff_ = float(self.cutoff)
        elif self.cutoff == "median":
            self.cutoff_ = float(np.median(s))
        elif self.cutoff == "maxstat":
            event, time = check_survival(y)
            self.cutoff_ = maxstat_cut(s, event, time)
        else:
            raise ConfigError(f"cutoff must be 'median', 'maxstat' or a number, got {self.cutoff!r}")
        return self

    def decision_function(self, X) -> np.ndarray:
        """The underlying risk score."""
        from radsig.models.validation import model_score

        check_is_fitted(self, "cutoff_")
        return model_score(self.estimator_, X)

    def predict(self, X) -> np.ndarray:
        """1 = high risk (score above the training cut-off), 0 = low risk."""
        return (self.decision_function(X) > self.cutoff_).astype(int)


@dataclass(frozen=True)
class RiskGroupSummary:
    """Log-rank comparison of high vs low risk groups, with KM medians."""

    statistic: float
    p_value: float
    n_high: int
    n_low: int
    median_high: float
    median_low: float
    hazard_ratio: float
    hr_ci_low: float
    hr_ci_high: float


def risk_group_summary(groups, y) -> RiskGroupSummary:
    """Log-rank test, Kaplan–Meier medians and Cox hazard ratio (high vs low) via lifelines."""
    import pandas as pd
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test

    event, time = check_survival(y)
    g = np.asarray(groups).astype(int)
    lr = logrank_test(time[g == 1], time[g == 0], event[g == 1], event[g == 0])
    med = [KaplanMeierFitter().fit(time[g == k], event[g == k]).median_survival_time_
           for k in (1, 0)]
    cph = CoxPHFitter().fit(pd.DataFrame({"t": time, "e": event, "high": g}), "t", "e")
    hr = cph.summary.loc["high"]
    return RiskGroupSummary(float(lr.test_statistic), float(lr.p_value), int((g == 1).sum()),
                            int((g == 0).sum()), float(med[0]), float(med[1]),
                            float(hr["exp(coef)"]), float(hr["exp(coef) lower 95%"]),
                            float(hr["exp(coef) upper 95%"]))


def cross_val_risk_groups(estimator, X, y, *, cv: int = 5, random_state=0,
                          cutoff="median") -> tuple[np.ndarray, RiskGroupSummary]:
    """Out-of-fold risk groups: each fold's cut-off is learnt on that fold's training rows.

    Returns
    -------
    (groups, summary)
        0/1 group of every sample (assigned while it was held out) and the log-rank / KM / HR
        summary of those groups.
    """
    from sklearn.model_selection import KFold

    y = np.asarray(y)
    groups = np.zeros(len(y), int)
    for tr, te in KFold(cv, shuffle=True, random_state=random_state).split(np.zeros(len(y))):
        take = (lambda idx: X.iloc[idx]) if hasattr(X, "iloc") else (lambda idx: X[idx])  # noqa: E731
        rg = RiskGroups(estimator=estimator, cutoff=cutoff).fit(take(tr), y[tr])
        groups[te] = rg.predict(take(te))
    return groups, risk_group_summary(groups, y)
