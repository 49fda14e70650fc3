"""Cut-offs that turn a continuous score into risk groups: maximally selected log-rank
statistic with an adjusted p-value, median, and Youden's index.

The maximally selected statistic is hand-written: no Python library has it (R: maxstat). It uses
log-rank scores (martingale residuals ``δ_i − Ĥ(t_i)`` with the Nelson–Aalen cumulative hazard)
and the standardised linear rank statistic of every admissible split (Hothorn & Lausen 2003),
all splits at once with cumulative sums. The p-value accounts for the search over cut-offs:
Lausen & Schumacher (1992) ``"lausen92"``, Lausen et al. (1994) improved Bonferroni
``"lausen94"``, or a vectorised permutation test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_curve

from radsig.evaluate._bootstrap import make_rng
from radsig.evaluate._validate import check_binary, check_score, check_survival, same_length
from radsig.exceptions import StatisticsError

__all__ = ["maxstat_cutoff", "median_cutoff", "youden_cutoff", "Cutoff", "p_lausen92",
           "p_lausen94", "logrank_scores"]


@dataclass(frozen=True, eq=False)
class Cutoff:
    """A cut-off: patients with ``marker > cutoff`` form the high group.

    ``statistic``/``p_value`` are NaN for cut-offs that are not tests (median). ``table`` holds
    the statistic at every candidate cut-off (maxstat) or the ROC coordinates (Youden).
    """

    cutoff: float
    method: str
    statistic: float = math.nan
    p_value: float = math.nan
    n_low: int = 0
    n_high: int = 0
    table: pd.DataFrame | None = None

    @property
    def estimate(self) -> float:
        return self.cutoff

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{"estimate": self.cutoff, "ci_low": math.nan, "ci_high": math.nan,
                              "p_value": self.p_value, "n": self.n_low + self.n_high,
                              "statistic": self.statistic, "n_low": self.n_low,
                              "n_high": self.n_high, "method": self.method}],
                            index=pd.Index(["cutoff"], name="metric"))

    def groups(self, marker) -> np.ndarray:
        """``"high"``/``"low"`` label per value of ``marker``."""
        return np.where(np.asarray(marker, float) > self.cutoff, "high", "low")


def p_lausen92(b: float, minprop: float = 0.1, maxprop: float = 0.9) -> float:
    """Lausen & Schumacher (1992) asymptotic p-value of a maximally selected statistic ``b``."""
    phi = stats.norm.pdf(b)
    p = 4 * phi / b + phi * (b - 1 / b) * math.log(maxprop * (1 - minprop)
                                                   / ((1 - maxprop) * minprop))
    return float(min(max(p, 0.0), 1.0))


def p_lausen94(b: float, n: int, minprop: float = 0.1, maxprop: float = 0.9,
               m: np.ndarray | None = None) -> float:
    """Improved Bonferroni bound (Lausen, Sauerbrei & Schumacher 1994) for ``n`` observations
    split at group sizes ``m`` (default every size from ``n·minprop`` to ``n·maxprop``)."""
    m = np.arange(math.floor(n * minprop), math.floor(n * maxprop) + 1) if m is None else m
    m = np.asarray(m, float)
    m1, m2 = m[:-1], m[1:]
    t = np.sqrt(1 - m1 * (n - m2) / ((n - m1) * m2))
    d = np.sum(np.exp(-b * b / 2) / math.pi * (t - (b * b / 4 - 1) * t ** 3 / 6))
    return float(min(max(2 * stats.norm.sf(b) + d, 0.0), 1.0))


def logrank_scores(time, event) -> np.ndarray:
    """Log-rank scores ``δ_i − Ĥ(t_i)`` (Nelson–Aalen cumulative hazard; ties share ``Ĥ``)."""
    t = np.asarray(time, float)
    e = np.asarray(event, float)
    uniq, inv = np.unique(t, return_inverse=True)
    deaths = np.bincount(inv, weights=e)
    at_risk = t.size - np.concatenate([[0], np.cumsum(np.bincount(inv))[:-1]])
    return e - np.cumsum(deaths / at_risk)[inv]


def _standardised(scores_sorted: np.ndarray, m: np.ndarray) -> np.ndarray:
    """|S − E| / sqrt(V) of the linear rank statistic for the first ``m`` of each row."""
    n = scores_sorted.shape[-1]
    total = scores_sorted.sum(axis=-1, keepdims=True)
    sq = (scores_sorted ** 2).sum(axis=-1, keepdims=True)
    s = np.cumsum(scores_sorted, axis=-1)[..., m - 1]
    e = m / n * total
    v = m * (n - m) / (n ** 2 * (n - 1)) * (n * sq - total ** 2)
    return np.abs(s - e) / np.sqrt(v)


def maxstat_cutoff(time, event, marker, *, minprop: float = 0.1, maxprop: float | None = None,
                   pmethod: str = "lausen94", n_perm: int = 2000,
                   seed: int | np.random.Generator | None = None) -> Cutoff:
    """Cut-off of ``marker`` that maximises the standardised log-rank statistic.

    Parameters
    ----------
    time, event, marker : array-like of shape (n_samples,)
    minprop, maxprop : float
        Smallest / largest admissible fraction of patients in the low group (default
        ``maxprop = 1 − minprop``).
    pmethod : {"lausen94", "lausen92", "permutation"}
        Adjustment of the p-value for the search over cut-offs.
    n_perm : int
        Permutations for ``pmethod="permutation"``.

    Returns
    -------
    Cutoff
        ``cutoff`` (low group: ``marker <= cutoff``), ``statistic`` = maximal standardised
        statistic M, adjusted ``p_value``, group sizes and ``table`` of (cutoff, statistic).
    """
    y = check_survival(time, event)
    x = check_score(marker, "marker")
    same_length(time=y, marker=x)
    maxprop = 1 - minprop if maxprop is None else maxprop
    if not 0 < minprop < maxprop < 1:
        raise StatisticsError(f"need 0 < minprop < maxprop < 1, got minprop={minprop}, "
                              f"maxprop={maxprop}.")
    n = x.size
    order = np.argsort(x, kind="stable")
    xs = x[order]
    scores = logrank_scores(y["time"], y["event"])[order]
    last_of_value = np.flatnonzero(np.r_[xs[1:] != xs[:-1], True]) + 1  # group sizes at each cut
    m = last_of_value[(last_of_value >= math.floor(n * minprop))
                      & (last_of_value <= math.floor(n * maxprop)) & (last_of_value < n)]
    if m.size == 0:
        raise StatisticsError(f"no admissible cut-off with at least {minprop:.0%} and at most "
                              f"{maxprop:.0%} of {n} patients in the low group; lower minprop "
                              "or check that the marker has enough distinct values.")
    stat = _standardised(scores, m)
    best = int(np.argmax(stat))
    b = float(stat[best])
    if pmethod == "lausen92":
        p = p_lausen92(b, minprop, maxprop)
    elif pmethod == "lausen94":
        p = p_lausen94(b, n, minprop, maxprop, m)
    elif pmethod == "permutation":
        rng = make_rng(seed)
        perm = rng.permuted(np.broadcast_to(scores, (int(n_perm), n)), axis=1)
        p = (1 + np.sum(_standardised(perm, m).max(axis=1) >= b - 1e-12)) / (n_perm + 1)
    else:
        raise StatisticsError(f"pmethod must be 'lausen94', 'lausen92' or 'permutation', "
                              f"got {pmethod!r}.")
    table = pd.DataFrame({"cutoff": xs[m - 1], "n_low": m, "statistic": stat})
    return Cutoff(float(xs[m[best] - 1]), f"maxstat-{pmethod}", b, float(p), int(m[best]),
                  int(n - m[best]), table)


def median_cutoff(marker) -> Cutoff:
    """The median of ``marker`` (high group: above the median)."""
    x = check_score(marker, "marker")
    c = float(np.median(x))
    return Cutoff(c, "median", n_low=int((x <= c).sum()), n_high=int((x > c).sum()))


def youden_cutoff(y, score) -> Cutoff:
    """Cut-off maximising Youden's J = sensitivity + specificity − 1 (positive: ``score >=
    cutoff``; ``statistic`` = J). Fit it on training data only, then apply it elsewhere."""
    yy = check_binary(y)
    ss = check_score(score)
    same_length(y=yy, score=ss)
    fpr, tpr, thr = roc_curve(yy, ss)
    j = tpr - fpr
    best = int(np.argmax(j))
    c = float(thr[best])
    table = pd.DataFrame({"cutoff": thr, "sensitivity": tpr, "specificity": 1 - fpr,
                          "youden": j})
    # Cutoff.groups uses "> cutoff"; the ROC threshold is inclusive, so store the value just
    # below it that gives the same split
    below = ss[ss < c]
    split = float(below.max()) if below.size else c
    return Cutoff(split, "youden", float(j[best]), math.nan, int((ss <= split).sum()),
                  int((ss > split).sum()), table)


