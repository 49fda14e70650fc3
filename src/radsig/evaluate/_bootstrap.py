"""Vectorised bootstrap machinery: all resamples are drawn as one ``(n_boot, n)`` index matrix.

Hand-written because scipy.stats.bootstrap re-evaluates a Python statistic per batch and cannot
keep class counts fixed (stratified resampling, as pROC does for AUC); here the statistics are
computed on the whole index matrix at once with array operations.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from radsig.exceptions import StatisticsError


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A NumPy Generator from a seed, a Generator or None."""
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def check_n_boot(n_boot: int) -> int:
    if int(n_boot) != n_boot or n_boot < 100:
        raise StatisticsError(f"n_boot must be an integer >= 100 for a stable interval, "
                              f"got {n_boot!r}; 2000 is a good default.")
    return int(n_boot)


def resample_indices(n: int, n_boot: int, rng: np.random.Generator,
                     strata: np.ndarray | None = None) -> np.ndarray:
    """Bootstrap index matrix of shape ``(n_boot, n)``.

    With ``strata`` each stratum is resampled within itself, so stratum sizes stay fixed
    (columns are grouped by stratum, in the order of ``np.unique(strata)``).
    """
    if strata is None:
        return rng.integers(0, n, size=(n_boot, n))
    blocks = []
    for value in np.unique(strata):
        members = np.flatnonzero(strata == value)
        blocks.append(members[rng.integers(0, members.size, size=(n_boot, members.size))])
    return np.concatenate(blocks, axis=1)


def percentile_interval(samples: np.ndarray, level: float, axis: int = 0) -> tuple:
    """Percentile bootstrap interval, ignoring NaN replicates."""
    alpha = (1 - level) / 2
    lo, hi = np.nanquantile(samples, [alpha, 1 - alpha], axis=axis)
    return lo, hi


def auc_from_index(y: np.ndarray, score: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """AUC (Mann–Whitney form, ties count 1/2) of every bootstrap row of ``idx`` at once.

    Rows with a single class give NaN.
    """
    yb = y[idx]
    ranks = rankdata(score[idx], axis=1)
    n1 = yb.sum(axis=1).astype(float)
    n0 = yb.shape[1] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * yb).sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)
    auc[(n1 == 0) | (n0 == 0)] = np.nan
    return auc


def rowwise_count_greater(sorted_rows: np.ndarray, thresholds: np.ndarray,
                          n_levels: int) -> np.ndarray:
    """For integer-coded rows sorted ascending, count entries ``>`` each threshold, row by row.

    ``sorted_rows`` is ``(B, m)``, ``thresholds`` is ``(B, K)``; both hold integers in
    ``[0, n_levels)``. A row offset turns B searches into one ``np.searchsorted`` call.
    """
    b, m = sorted_rows.shape
    offset = (np.arange(b) * (n_levels + 1))[:, None]
    flat = (sorted_rows + offset).ravel()
    pos = np.searchsorted(flat, (thresholds + offset).ravel(), side="right")
    pos = pos.reshape(thresholds.shape) - (np.arange(b) * m)[:, None]
    return m - pos
