"""Unsupervised and univariate filters: variance, correlation, Mann–Whitney, univariate Cox."""

from __future__ import annotations

import numbers

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.feature_selection import VarianceThreshold as VarianceFilter
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from radsig.select._target import check_binary, check_survival, check_y_given, is_survival
from radsig.select._univariate import bh_adjust, cox_score_test, mann_whitney

__all__ = ["CorrelationFilter", "MannWhitneyFilter", "UnivariateCoxFilter", "VarianceFilter",
           "relevance"]


def relevance(X: np.ndarray, y) -> np.ndarray:
    """Univariate association of each column with the outcome (larger = more relevant).

    Binary (or ordinal / continuous): |Spearman correlation| with ``y``; survival: Cox score
    chi-square.
    """
    check_y_given(y, "relevance")
    if is_survival(y):
        event, time = check_survival(y)
        return cox_score_test(X, event, time)[0]
    codes = np.unique(np.asarray(y).ravel(), return_inverse=True)[1]
    if np.unique(codes).size < 2:
        check_binary(y)
    ranks = stats.rankdata(X, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(np.column_stack([stats.rankdata(codes), ranks]), rowvar=False)[0, 1:]
    return np.nan_to_num(np.abs(r))


class CorrelationFilter(SelectorMixin, BaseEstimator):
    """Drop redundant features: among pairs with |r| above ``threshold`` keep one.

    Features are visited by priority and kept when their |r| with every kept feature is at most
    ``threshold``. Priority: relevance to ``y`` when ``y`` is given (see :func:`relevance`), else
    the lowest mean |r| with all other features first.

    Parameters
    ----------
    threshold : float, default=0.9
    method : {"spearman", "pearson"}, default="spearman"
    """

    _parameter_constraints: dict = {
        "threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "method": [StrOptions({"spearman", "pearson"})],
    }

    def __init__(self, *, threshold: float = 0.9, method: str = "spearman"):
        self.threshold = threshold
        self.method = method

    def fit(self, X, y=None) -> CorrelationFilter:
        """Choose the kept features on the training rows."""
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64)
        Z = stats.rankdata(X, axis=0) if self.method == "spearman" else X
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.abs(np.nan_to_num(np.corrcoef(Z, rowvar=False))) if X.shape[1] > 1 \
                else np.ones((1, 1))
        r = np.atleast_2d(r)
        if y is not None:
            order = np.argsort(-relevance(X, y), kind="stable")
        else:
            order = np.argsort(r.mean(axis=0), kind="stable")
        keep: list[int] = []
        for j in order:
            if not keep or np.max(r[j, keep]) <= self.threshold:
                keep.append(int(j))
        self.support_ = np.zeros(X.shape[1], bool)
        self.support_[keep] = True
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class _PValueFilter(SelectorMixin, BaseEstimator):
    _parameter_constraints: dict = {
        "alpha": [Interval(numbers.Real, 0, 1, closed="right")],
        "correction": [StrOptions({"fdr_bh", "none"})],
        "k": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "min_features": [Interval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(self, *, alpha: float = 0.05, correction: str = "fdr_bh", k: int | None = None,
                 min_features: int = 1):
        self.alpha = alpha
        self.correction = correction
        self.k = k
        self.min_features = min_features

    def _select(self, p: np.ndarray) -> None:
        self.p_values_ = np.nan_to_num(p, nan=1.0)
        self.p_adjusted_ = bh_adjust(p) if self.correction == "fdr_bh" else self.p_values_
        mask = self.p_adjusted_ <= self.alpha
        order = np.argsort(self.p_values_, kind="stable")
        if self.k is not None:
            mask = np.zeros_like(mask)
            mask[order[: self.k]] = True
        if mask.sum() < self.min_features:
            mask[order[: self.min_features]] = True
        self.support_ = mask

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


class MannWhitneyFilter(_PValueFilter):
    """Keep features whose Mann–Whitney p-value (BH-adjusted by default) is at most ``alpha``.

    With more than two classes the Kruskal–Wallis test is used instead.

    Parameters
    ----------
    alpha : float, default=0.05
    correction : {"fdr_bh", "none"}, default="fdr_bh"
    k : int or None, default=None
        Keep the ``k`` smallest p-values instead of thresholding.
    min_features : int, default=1
        Keep at least this many (the smallest p-values) so a pipeline never runs empty.
    """

    def fit(self, X, y) -> MannWhitneyFilter:
        """Test each feature between the classes on the training rows."""
        self._validate_params()
        check_y_given(y, type(self).__name__)
        X, y = validate_data(self, X, y, dtype=np.float64)
        classes = np.unique(y)
        if classes.size > 2:
            with np.errstate(invalid="ignore", divide="ignore"):
                p = stats.kruskal(*[X[y == c] for c in classes], axis=0).pvalue
            self._select(np.asarray(p, float))
        else:
            self._select(mann_whitney(X, check_binary(y))[1])
        return self


class UnivariateCoxFilter(_PValueFilter):
    """Keep features whose univariate Cox score-test p-value is at most ``alpha``.

    Same parameters as :class:`MannWhitneyFilter`; ``y`` is a survival structured array.
    """

    def fit(self, X, y) -> UnivariateCoxFilter:
        """Score-test each feature against survival on the training rows."""
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64)
        event, time = check_survival(y)
        self._select(cox_score_test(X, event, time)[1])
        return self
