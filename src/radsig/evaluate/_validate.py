"""Input checks shared by every :mod:`radsig.evaluate` function.

All raise :class:`radsig.exceptions.StatisticsError` with a message that names the argument,
what was expected, what was received and how to fix it (R6).
"""

from __future__ import annotations

import numpy as np
from sksurv.util import Surv

from radsig.exceptions import StatisticsError


def as_1d(values, name: str, *, allow_nan: bool = False) -> np.ndarray:
    """Return ``values`` as a 1-D float array; reject NaN/inf unless ``allow_nan``."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise StatisticsError(f"{name} must be numeric; could not convert it to numbers "
                              f"({err}).") from err
    if arr.ndim != 1:
        arr = arr.squeeze()
        if arr.ndim != 1:
            raise StatisticsError(f"{name} must be one-dimensional, got shape {arr.shape}.")
    if arr.size == 0:
        raise StatisticsError(f"{name} is empty; pass at least two observations.")
    bad = ~np.isfinite(arr)
    if bad.any() and not allow_nan:
        raise StatisticsError(
            f"{name} holds {int(bad.sum())} missing or infinite value(s) (first at position "
            f"{int(np.flatnonzero(bad)[0])}); drop or impute those rows before evaluating.")
    return arr


def same_length(**arrays: np.ndarray) -> int:
    """Check that all arrays have one length; return it."""
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) > 1:
        got = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise StatisticsError(f"inputs must have the same length, got {got}.")
    return next(iter(lengths.values()))


def check_binary(y, name: str = "y") -> np.ndarray:
    """Return a 0/1 integer array; require both classes."""
    arr = as_1d(y, name)
    values = np.unique(arr)
    if not np.isin(values, [0.0, 1.0]).all():
        raise StatisticsError(f"{name} must be binary coded 0/1 (1 = event/positive), got values "
                              f"{values[:5].tolist()}{'…' if values.size > 5 else ''}.")
    if values.size < 2:
        raise StatisticsError(f"{name} holds only one class ({int(values[0])}) in {arr.size} "
                              "observations; both 0 and 1 are needed for this statistic.")
    return arr.astype(int)


def check_score(score, name: str = "score") -> np.ndarray:
    """Return a float array; reject NaNs and constant scores."""
    arr = as_1d(score, name)
    if np.ptp(arr) == 0:
        raise StatisticsError(f"{name} is constant ({arr[0]!r} for all {arr.size} observations); "
                              "a constant score cannot discriminate. Check the model output.")
    return arr


def check_prob(prob, name: str = "prob") -> np.ndarray:
    """Return predicted probabilities, which must lie in [0, 1]."""
    arr = as_1d(prob, name)
    if arr.min() < 0 or arr.max() > 1:
        raise StatisticsError(f"{name} must hold probabilities in [0, 1], got range "
                              f"[{arr.min():.4g}, {arr.max():.4g}]; pass predict_proba output, "
                              "not a linear predictor.")
    return arr


def check_survival(time, event, *, name: str = "survival data") -> np.ndarray:
    """Validate (time, event) and return a scikit-survival structured array (R4).

    Rejects NaNs, negative times, non-binary events and all-censored data.
    """
    t = as_1d(time, "time")
    e = as_1d(event, "event")
    same_length(time=t, event=e)
    if (t < 0).any():
        raise StatisticsError(f"time must be non-negative; {int((t < 0).sum())} negative value(s) "
                              f"(minimum {t.min():.4g}) in {name}.")
    if not np.isin(np.unique(e), [0.0, 1.0]).all():
        raise StatisticsError(f"event must be 0/1 or boolean (1 = event, 0 = censored), got "
                              f"values {np.unique(e)[:5].tolist()} in {name}.")
    if e.sum() == 0:
        raise StatisticsError(f"all {t.size} observations are censored in {name}; no event means "
                              "no survival statistic can be estimated.")
    return Surv.from_arrays(event=e.astype(bool), time=t)


def check_level(level: float) -> float:
    """Confidence level strictly between 0 and 1."""
    if not 0 < level < 1:
        raise StatisticsError(f"level must lie strictly between 0 and 1 (e.g. 0.95), got {level}.")
    return float(level)


def check_groups(groups, n: int, name: str = "groups", *, min_groups: int = 2) -> np.ndarray:
    """Return group labels as an object array of length ``n`` with at least ``min_groups`` values."""
    arr = np.asarray(groups)
    if arr.ndim != 1 or arr.size != n:
        raise StatisticsError(f"{name} must be 1-D with one label per observation; inputs must "
                              f"have the same length, got {name}={arr.size}, other inputs={n}.")
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in arr])
    if missing.any():
        raise StatisticsError(f"{name} holds {int(missing.sum())} missing label(s); drop those "
                              "rows or give them an explicit group.")
    if np.unique(arr.astype(str)).size < min_groups:
        raise StatisticsError(f"{name} must hold at least {min_groups} distinct groups, got "
                              f"{np.unique(arr.astype(str)).tolist()}.")
    return arr
