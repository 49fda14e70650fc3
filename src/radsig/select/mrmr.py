"""Minimum-redundancy maximum-relevance (mRMR) greedy selection.

Relevance: :func:`radsig.select.filters.relevance` (|Spearman| with a binary label, Cox score
chi-square for survival). Redundancy: mean |Spearman r| with the features already chosen.
Each step adds the feature maximising relevance / redundancy (``scheme="quotient"``, FCQ) or
relevance − redundancy on rank-scaled relevance (``scheme="difference"``).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import stats
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from radsig.select._target import check_y_given
from radsig.select.filters import relevance


class MRMRSelector(SelectorMixin, BaseEstimator):
    """Select ``n_features`` by mRMR on the training rows.

    Parameters
    ----------
    n_features : int, default=10
    scheme : {"quotient", "difference"}, default="quotient"

    Attributes
    ----------
    ranking_ : ndarray of int
        Column indices in the order chosen.
    relevance_ : ndarray of shape (n_features_in_,)
    """

    _parameter_constraints: dict = {
        "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
        "scheme": [StrOptions({"quotient", "difference"})],
    }

    def __init__(self, *, n_features: int = 10, scheme: str = "quotient"):
        self.n_features = n_features
        self.scheme = scheme

    def fit(self, X, y) -> MRMRSelector:
        """Rank features greedily by relevance against redundancy."""
        self._validate_params()
        check_y_given(y, type(self).__name__)
        X = validate_data(self, X, dtype=np.float64)
        rel = relevance(X, y)
        if self.scheme == "difference":
            rel = rel / rel.max() if rel.max() > 0 else rel
        ranks = stats.rankdata(X, axis=0)
        ranks = (ranks - ranks.mean(0)) / np.where(ranks.std(0) > 0, ranks.std(0), 1.0)
        n = min(self.n_features, X.shape[1])
        chosen = [int(np.argmax(rel))]
        red_sum = np.zeros(X.shape[1])
        while len(chosen) < n:
            red_sum += np.abs(ranks.T @ ranks[:, chosen[-1]]) / X.shape[0]
            red = red_sum / len(chosen)
            score = rel / np.maximum(red, 1e-12) if self.scheme == "quotient" else rel - red
            score[chosen] = -np.inf
            chosen.append(int(np.argmax(score)))
        self.relevance_ = rel
        self.ranking_ = np.asarray(chosen)
        self.support_ = np.zeros(X.shape[1], bool)
        self.support_[chosen] = True
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags
