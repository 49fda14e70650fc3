"""Rad-score: a LASSO-selected linear signature with its formula in the original feature units.

Binary outcomes use :class:`~radsig.select.lasso.LassoLogisticSelector`; survival outcomes
(scikit-survival structured arrays) use :class:`~radsig.select.lasso.LassoCoxSelector`.
The selector standardises internally; the fitted coefficients are folded back into the raw units
so that ``Rad-score = intercept + sum_j coef_j * x_j`` is directly usable.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from radsig.select._target import check_binary, check_survival, is_survival
from radsig.select.lasso import LassoCoxSelector, LassoLogisticSelector


def format_formula(names, coef, intercept: float, *, label: str = "Rad-score",
                   digits: int = 4) -> str:
    """The linear formula as text, e.g. ``Rad-score = -0.12 + 0.53 × glcm_Idm − 0.08 × age``."""
    parts = [f"{label} = {intercept:.{digits}g}"]
    for name, c in zip(names, coef, strict=True):
        sign = "−" if c < 0 else "+"
        parts.append(f" {sign} {abs(c):.{digits}g} × {name}")
    return "".join(parts)


class RadScore(BaseEstimator):
    """LASSO Rad-score for a binary (logistic) or survival (Cox) outcome.

    Parameters
    ----------
    rule : {"1se", "min"}, default="1se"
        Penalty choice from the inner CV curve.
    cv : int, default=5
        Inner folds used to choose the penalty.
    n_lambdas : int, default=30
        Penalty grid size.
    random_state : int or None, default=None
        Seeds the inner CV split.

    Attributes
    ----------
    task_ : {"binary", "survival"}
    selector_ : LassoLogisticSelector or LassoCoxSelector
        The fitted selector (standardised-scale coefficients).
    selected_features_ : ndarray of str
        Names (``feature_names_in_`` when fitted on a DataFrame, else ``x<i>``).
    coef_ : ndarray of shape (n_selected,)
        Coefficients of the selected features in raw units.
    intercept_ : float
        Intercept in raw units (for Cox: the centring constant, so the training mean score is 0).
    formula_ : str
        The Rad-score formula as text.
    """

    _parameter_constraints: dict = {
        "rule": [StrOptions({"min", "1se"})],
        "cv": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_lambdas": [Interval(numbers.Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, rule: str = "1se", cv: int = 5, n_lambdas: int = 30,
                 random_state=None):
        self.rule = rule
        self.cv = cv
        self.n_lambdas = n_lambdas
        self.random_state = random_state

    def fit(self, X, y) -> RadScore:
        """Select features and fit coefficients on the training data only."""
        self._validate_params()
        survival = is_survival(y)
        X = validate_data(self, X, dtype=np.float64)
        kw = dict(rule=self.rule, cv=self.cv, n_lambdas=self.n_lambdas,
                  random_state=self.random_state)
        if survival:
            check_survival(y)
            self.task_ = "survival"
            sel = LassoCoxSelector(**kw).fit(X, y)
            b0 = 0.0
        else:
            y01 = check_binary(y)
            self.task_ = "binary"
            self.classes_ = np.unique(np.asarray(y).ravel())
            sel = LassoLogisticSelector(**kw).fit(X, y01)
            b0 = sel.intercept_
        self.selector_ = sel
        mask = sel.coef_ != 0
        names = getattr(self, "feature_names_in_", np.array([f"x{i}" for i in range(X.shape[1])]))
        self.support_ = mask
        self.selected_features_ = np.asarray(names, dtype=object)[mask].astype(str)
        self.coef_ = sel.coef_[mask] / sel.scale_[mask]
        self.intercept_ = float(b0 - np.sum(self.coef_ * sel.mean_[mask]))
        self.formula_ = format_formula(self.selected_features_, self.coef_, self.intercept_)
        return self

    def decision_function(self, X) -> np.ndarray:
        """The Rad-score of each sample (log-odds for binary; log relative hazard for Cox)."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return X[:, self.support_] @ self.coef_ + self.intercept_

    def predict(self, X) -> np.ndarray:
        """Binary: predicted class; survival: the risk score (higher = shorter survival)."""
        score = self.decision_function(X)
        if self.task_ == "survival":
            return score
        return self.classes_[(score > 0).astype(int)]

    def predict_proba(self, X) -> np.ndarray:
        """Binary only: class probabilities, shape (n_samples, 2)."""
        check_is_fitted(self, "coef_")
        if self.task_ != "binary":
            raise AttributeError("predict_proba is only available for a binary Rad-score; "
                                 "this one was fitted on a survival target")
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def score(self, X, y) -> float:
        """ROC AUC (binary) or Harrell's C-index (survival)."""
        from radsig.models._metrics import harrell_c, roc_auc

        s = self.decision_function(X)
        if self.task_ == "survival":
            event, time = check_survival(y)
            return harrell_c(event, time, s)
        return roc_auc(check_binary(y), s)
