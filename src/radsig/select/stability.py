"""Stability selection (Meinshausen & Bühlmann 2010): keep features chosen in most subsamples."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from radsig.select._target import is_survival


class StabilitySelector(SelectorMixin, BaseEstimator):
    """Refit a selector on random subsamples; keep features selected at least ``threshold`` often.

    Parameters
    ----------
    selector : SelectorMixin or None, default=None
        Any selector with ``get_support``; None uses a LASSO (logistic or Cox by the target)
        with a 3-fold CV penalty (``rule="min"``).
    n_resamples : int, default=50
    sample_fraction : float, default=0.5
        Fraction of rows drawn without replacement each time.
    threshold : float, default=0.6
        Minimum selection frequency.
    random_state : int or None

    Attributes
    ----------
    frequencies_ : ndarray of shape (n_features_in_,)
        Selection frequency of each feature.
    """

    _parameter_constraints: dict = {
        "selector": [HasMethods(["fit", "get_support"]), None],
        "n_resamples": [Interval(numbers.Integral, 1, None, closed="left")],
        "sample_fraction": [Interval(numbers.Real, 0, 1, closed="right")],
        "threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, selector=None, n_resamples: int = 50, sample_fraction: float = 0.5,
                 threshold: float = 0.6, random_state=None):
        self.selector = selector
        self.n_resamples = n_resamples
        self.sample_fraction = sample_fraction
        self.threshold = threshold
        self.random_state = random_state

    def _base(self, y):
        if self.selector is not None:
            return self.selector
        from radsig.select.lasso import LassoCoxSelector, LassoLogisticSelector

        cls = LassoCoxSelector if is_survival(y) else LassoLogisticSelector
        return cls(rule="min", cv=3, n_lambdas=15, random_state=0)

    def fit(self, X, y) -> StabilitySelector:
        """Count how often each feature is selected across subsamples of the training rows."""
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        y = np.asarray(y)
        rng = check_random_state(self.random_state)
        m = min(X.shape[0], max(2, int(round(self.sample_fraction * X.shape[0]))))
        base = self._base(y)
        # classification targets: stratified subsamples so every class is present
        strata = None if is_survival(y) else y
        counts = np.zeros(X.shape[1])
        for _ in range(self.n_resamples):
            rows = self._draw(X.shape[0], m, strata, rng)
            counts += clone(base).fit(X[rows], y[rows]).get_support()
        self.frequencies_ = counts / self.n_resamples
        self.support_ = self.frequencies_ >= self.threshold
        return self

    @staticmethod
    def _draw(n: int, m: int, strata, rng) -> np.ndarray:
        if strata is None or m >= n:
            return rng.choice(n, m, replace=False)
        rows = []
        for c in np.unique(strata):
            idx = np.flatnonzero(strata == c)
            k = max(1, int(round(m * len(idx) / n)))
            rows.append(rng.choice(idx, min(k, len(idx)), replace=False))
        return np.concatenate(rows)

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_
