"""One place that checks targets: binary labels and scikit-survival structured arrays (R4)."""

from __future__ import annotations

import numpy as np

from radsig.exceptions import StatisticsError


def is_survival(y) -> bool:
    """True when ``y`` is a structured array with two fields (event, time)."""
    y = np.asarray(y)
    return y.dtype.names is not None and len(y.dtype.names) == 2


def check_survival(y, *, name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Validate a scikit-survival target and return ``(event: bool, time: float)``.

    Parameters
    ----------
    y : structured array of shape (n_samples,)
        Built with ``sksurv.util.Surv.from_arrays(event, time)``.
    name : str
        How the target is named in error messages.

    Raises
    ------
    StatisticsError
        Not a structured array, non-boolean event, negative or non-finite time, or all censored.
    """
    arr = np.asarray(y)
    if arr.dtype.names is None or len(arr.dtype.names) != 2:
        raise StatisticsError(
            f"{name} must be a survival structured array with fields (event, time), got dtype "
            f"{arr.dtype}; build it with sksurv.util.Surv.from_arrays(event, time)")
    ev_field, t_field = arr.dtype.names
    event = arr[ev_field]
    if event.dtype != bool:
        raise StatisticsError(f"{name}['{ev_field}'] must be boolean (True = event), got "
                              f"dtype {event.dtype}; convert with .astype(bool)")
    time = arr[t_field].astype(float)
    if not np.all(np.isfinite(time)) or np.any(time < 0):
        raise StatisticsError(f"{name}['{t_field}'] must hold finite times >= 0; found "
                              f"{int(np.sum(~np.isfinite(time) | (time < 0)))} invalid values")
    if not event.any():
        raise StatisticsError(f"{name}: all {len(event)} samples are censored; a survival model "
                              "needs at least one event")
    return event.astype(bool), time


def check_y_given(y, who: str) -> None:
    """Raise a clear error when a supervised step gets no target."""
    if y is None:
        raise StatisticsError(f"{who} requires y to be passed, but the target y is None; "
                              "pass the outcome (labels or a survival array) to fit")


def check_binary(y, *, name: str = "y") -> np.ndarray:
    """Validate a binary target and return it as a 0/1 integer array.

    Raises
    ------
    StatisticsError
        When ``y`` does not hold exactly two classes.
    """
    arr = np.asarray(y).ravel()
    classes = np.unique(arr)
    if classes.size != 2:
        word = "class" if classes.size == 1 else "classes"
        raise StatisticsError(f"{name} must hold exactly two classes for a binary model, got "
                              f"{classes.size} {word} ({classes[:5].tolist()}); check the "
                              "outcome column")
    return (arr == classes[1]).astype(int)
