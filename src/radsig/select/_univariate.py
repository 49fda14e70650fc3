"""Vectorised univariate statistics used by the filters.

The Cox score test is written here (not looped over lifelines/scikit-survival fits) because a
radiomics table has hundreds to thousands of columns and the score test at beta = 0 has a closed
form that runs for all columns at once from risk-set sums.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def cox_score_test(X: np.ndarray, event: np.ndarray, time: np.ndarray) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
    """Univariate Cox score (log-rank type) test of every column, Breslow handling of ties.

    .. math::
        U = \\sum_{t} \\Big(\\sum_{i \\in D_t} x_i - d_t\\,\\bar x_{R_t}\\Big), \\quad
        I = \\sum_t d_t\\, \\mathrm{Var}_{R_t}(x), \\quad \\chi^2 = U^2 / I

    Returns
    -------
    chi2, p_value : ndarray of shape (n_features,)
    """
    order = np.argsort(-time, kind="stable")  # decreasing time: cumulative sums = risk sets
    Xs, ev, ts = X[order], event[order].astype(float), time[order]
    s0 = np.arange(1, len(ts) + 1, dtype=float)
    s1 = np.cumsum(Xs, axis=0)
    s2 = np.cumsum(Xs**2, axis=0)
    # risk set of time t = all rows with time >= t: take the last row of each tied block
    last = np.r_[ts[1:] != ts[:-1], True]
    blocks = np.cumsum(np.r_[0, last[:-1]])
    d = np.bincount(blocks, weights=ev)
    xe = np.zeros((blocks.max() + 1, X.shape[1]))
    np.add.at(xe, blocks, Xs * ev[:, None])
    m1, m2 = s1[last] / s0[last][:, None], s2[last] / s0[last][:, None]
    U = (xe - d[:, None] * m1).sum(axis=0)
    info = (d[:, None] * (m2 - m1**2)).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi2 = np.where(info > 0, U**2 / info, 0.0)
    return chi2, stats.chi2.sf(chi2, 1)


def mann_whitney(X: np.ndarray, y01: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Mann–Whitney U test of every column between the two classes (scipy)."""
    res = stats.mannwhitneyu(X[y01 == 1], X[y01 == 0], axis=0, alternative="two-sided")
    return np.asarray(res.statistic, float), np.asarray(res.pvalue, float)


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (scipy.stats.false_discovery_control)."""
    p = np.nan_to_num(np.asarray(p, float), nan=1.0)
    return stats.false_discovery_control(p, method="bh")
