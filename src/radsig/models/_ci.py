"""Confidence intervals used by the validation designs until/unless radsig.evaluate supplies them.

AUC: DeLong's variance of the Mann–Whitney AUC (DeLong, DeLong & Clarke-Pearson 1988), written
with ranks (Sun & Xu 2014); the interval is on the logit scale so it stays inside (0, 1).
C-index: percentile bootstrap over patients.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from radsig.models._metrics import harrell_c


@dataclass(frozen=True)
class MetricCI:
    """A performance estimate with its confidence interval."""

    metric: str
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    method: str


def auc_delong(y01: np.ndarray, score: np.ndarray, *, level: float = 0.95) -> MetricCI:
    """ROC AUC with a DeLong confidence interval (logit-transformed)."""
    y01 = np.asarray(y01).astype(int)
    score = np.asarray(score, float)
    pos, neg = score[y01 == 1], score[y01 == 0]
    m, n = len(pos), len(neg)
    r_all = stats.rankdata(np.r_[pos, neg])
    r_pos, r_neg = stats.rankdata(pos), stats.rankdata(neg)
    auc = (r_all[:m].sum() - m * (m + 1) / 2) / (m * n)
    v10 = (r_all[:m] - r_pos) / n  # structural components
    v01 = 1.0 - (r_all[m:] - r_neg) / m
    var = np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n
    z = stats.norm.ppf(0.5 + level / 2)
    a = np.clip(auc, 1e-6, 1 - 1e-6)
    se_logit = np.sqrt(var) / (a * (1 - a))
    lo, hi = (1 / (1 + np.exp(-(np.log(a / (1 - a)) + s * z * se_logit))) for s in (-1, 1))
    return MetricCI("auc", float(auc), float(lo), float(hi), len(y01), "DeLong (logit)")


def cindex_bootstrap(event, time, risk, *, n_boot: int = 500, level: float = 0.95,
                     random_state=0) -> MetricCI:
    """Harrell's C-index with a percentile bootstrap interval (resampling patients)."""
    event, time, risk = np.asarray(event, bool), np.asarray(time, float), np.asarray(risk, float)
    est = harrell_c(event, time, risk)
    rng = np.random.default_rng(random_state)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(event), len(event))
        if event[i].any():
            boots.append(harrell_c(event[i], time[i], risk[i]))
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return MetricCI("c_index", est, float(lo), float(hi), len(event), "percentile bootstrap")
