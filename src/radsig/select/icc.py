"""Reproducibility filter: intraclass correlation from repeated extractions.

ICC forms (Shrout & Fleiss 1979; McGraw & Wong 1996), single measurement, from the two-way
ANOVA of an (n cases × k repeats) table with mean squares MSR (cases), MSC (repeats), MSE:

.. math::
    ICC(2,1) = \\frac{MSR - MSE}{MSR + (k-1) MSE + k (MSC - MSE) / n} \\quad
    ICC(3,1) = \\frac{MSR - MSE}{MSR + (k-1) MSE}

ICC(2,1): two-way random, absolute agreement. ICC(3,1): two-way mixed, consistency.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from radsig.exceptions import StatisticsError


def icc(values: np.ndarray, kind: str = "2,1") -> np.ndarray:
    """ICC of each feature from an array of shape (n_cases, k_repeats, n_features).

    Parameters
    ----------
    values : ndarray of shape (n_cases, k_repeats) or (n_cases, k_repeats, n_features)
    kind : {"2,1", "3,1"}

    Returns
    -------
    ndarray of shape (n_features,) (a float for 2-D input); NaN where a feature is constant.
    """
    v = np.asarray(values, dtype=float)
    squeeze = v.ndim == 2
    v = v[..., None] if squeeze else v
    n, k = v.shape[:2]
    if n < 2 or k < 2:
        raise StatisticsError(f"ICC needs >= 2 cases and >= 2 repeats, got {n} cases × {k} repeats")
    grand = v.mean(axis=(0, 1))
    ss_r = k * ((v.mean(axis=1) - grand) ** 2).sum(axis=0)
    ss_c = n * ((v.mean(axis=0) - grand) ** 2).sum(axis=0)
    ss_e = ((v - grand) ** 2).sum(axis=(0, 1)) - ss_r - ss_c
    msr, msc, mse = ss_r / (n - 1), ss_c / (k - 1), ss_e / ((n - 1) * (k - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "2,1":
            out = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        elif kind == "3,1":
            out = (msr - mse) / (msr + (k - 1) * mse)
        else:
            raise StatisticsError(f"ICC kind must be '2,1' or '3,1', got {kind!r}")
    return float(out[0]) if squeeze else out


def icc_table(repeats: pd.DataFrame, *, case: str = "case", repeat: str = "repeat",
              kind: str = "2,1") -> pd.Series:
    """ICC per feature from a wide table of repeated extractions (one row per case × repeat).

    Every case must have the same set of repeats; other columns are the features.
    """
    feats = [c for c in repeats.columns if c not in (case, repeat)]
    table = repeats.set_index([case, repeat])[feats].sort_index()
    counts = table.groupby(level=0).size()
    if counts.nunique() != 1:
        raise StatisticsError("ICC: cases have different numbers of repeats "
                              f"({counts.to_dict()}); give every case the same repeats")
    arr = table.to_numpy(dtype=float).reshape(len(counts), int(counts.iloc[0]), len(feats))
    return pd.Series(icc(arr, kind), index=feats, name=f"ICC({kind})")


class ICCFilter(SelectorMixin, BaseEstimator):
    """Keep features whose ICC from repeated extractions is at least ``threshold``.

    The repeated extractions (test–retest scans or perturbations, see
    :func:`radsig.select.perturb.perturbation_features`) are a separate reproducibility data set,
    passed as a parameter; ``fit`` only matches them to the columns of ``X``.

    Parameters
    ----------
    repeats : DataFrame
        Columns ``case``, ``repeat`` and features (names as in ``X``).
    threshold : float, default=0.75
    kind : {"2,1", "3,1"}, default="2,1"

    Attributes
    ----------
    icc_ : ndarray of shape (n_features_in_,)
    """

    _parameter_constraints: dict = {
        "repeats": [pd.DataFrame],
        "threshold": [Interval(numbers.Real, None, 1, closed="right")],
        "kind": [StrOptions({"2,1", "3,1"})],
    }

    def __init__(self, *, repeats=None, threshold: float = 0.75, kind: str = "2,1"):
        self.repeats = repeats
        self.threshold = threshold
        self.kind = kind

    def fit(self, X, y=None) -> ICCFilter:
        """Look up each column's ICC and keep the reproducible ones."""
        self._validate_params()
        validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        names = getattr(self, "feature_names_in_", None)
        if names is None:
            raise StatisticsError("ICCFilter needs X as a DataFrame so its columns can be "
                                  "matched to the repeated extractions by name")
        table = icc_table(self.repeats, kind=self.kind)
        missing = [n for n in names if n not in table.index]
        if missing:
            raise StatisticsError(f"ICCFilter: {len(missing)} feature(s) of X have no repeated "
                                  f"extraction (e.g. {missing[:3]}); extract them in the repeats")
        self.icc_ = table.loc[list(names)].to_numpy()
        self.support_ = np.nan_to_num(self.icc_, nan=-np.inf) >= self.threshold
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_
