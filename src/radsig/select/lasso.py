"""LASSO selectors with a cross-validated penalty: logistic (binary) and Cox (coxnet, survival).

The penalty is chosen by K-fold CV inside ``fit`` (so inside any outer fold that calls it), by
the best mean CV score (``rule="min"``) or by the glmnet one-standard-error rule (``rule="1se"``):
the strongest penalty whose mean score lies within one standard error of the best.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning as SkConvergenceWarning
from sklearn.feature_selection import SelectorMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.svm import l1_min_c
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from radsig.select._target import check_binary, check_survival


def choose_index(scores: np.ndarray, rule: str) -> int:
    """Pick a grid index from fold scores (higher is better), grid ordered strong → weak penalty.

    Parameters
    ----------
    scores : ndarray of shape (n_folds, n_grid)
    rule : {"min", "1se"}
        ``"min"``: best mean score. ``"1se"``: first (strongest-penalty) index whose mean is within
        one standard error (SD / sqrt(n_folds)) of the best mean.
    """
    mean = np.nanmean(scores, axis=0)
    best = int(np.nanargmax(mean))
    if rule == "min":
        return best
    k = np.sum(np.isfinite(scores[:, best]))
    se = np.nanstd(scores[:, best], ddof=1) / np.sqrt(max(k, 1)) if k > 1 else 0.0
    ok = np.flatnonzero(mean >= mean[best] - se)
    return int(ok[0])


def _standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return (X - mean) / scale, mean, scale


class _LassoBase(SelectorMixin, BaseEstimator):
    _parameter_constraints: dict = {
        "rule": [StrOptions({"min", "1se"})],
        "cv": [Interval(numbers.Integral, 2, None, closed="left")],
        "n_lambdas": [Interval(numbers.Integral, 2, None, closed="left")],
        "lambda_ratio": [Interval(numbers.Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "coef_")
        return self.coef_ != 0

    def _chosen(self, scores: np.ndarray) -> None:
        self.cv_scores_ = scores
        self.cv_mean_ = np.nanmean(scores, axis=0)
        self.index_min_ = choose_index(scores, "min")
        self.index_1se_ = choose_index(scores, "1se")
        self.index_ = self.index_min_ if self.rule == "min" else self.index_1se_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


class LassoLogisticSelector(_LassoBase):
    """L1-penalised logistic regression whose penalty is chosen by stratified K-fold CV.

    Features are standardised inside ``fit`` (training mean/SD); ``coef_`` is on that scale.
    Selected features are those with a non-zero coefficient at the chosen penalty.

    Parameters
    ----------
    rule : {"1se", "min"}, default="1se"
        How the penalty is chosen from the CV curve (see :func:`choose_index`).
    cv : int, default=5
        Number of stratified folds.
    n_lambdas : int, default=30
        Grid size; the grid runs from the penalty that selects nothing down ``lambda_ratio``-fold.
    lambda_ratio : float, default=1e-2
        Weakest / strongest penalty on the grid.
    scoring : {"deviance", "auc"}, default="deviance"
        CV criterion: binomial deviance (negated log loss, as glmnet) or ROC AUC.
    random_state : int, RandomState or None, default=None
        Seeds the fold split.

    Attributes
    ----------
    Cs_ : ndarray of shape (n_lambdas,)
        Inverse penalties (scikit-learn ``C``) from strongest to weakest penalty.
    C_ : float
        The chosen ``C``. ``C_min_``, ``C_1se_`` hold both rules' choices.
    coef_ : ndarray of shape (n_features,)
        Coefficients at ``C_`` on the standardised scale; ``intercept_`` likewise.
    cv_scores_ : ndarray of shape (cv, n_lambdas)
        Fold scores (higher is better).
    """

    _parameter_constraints: dict = {
        **_LassoBase._parameter_constraints,
        "scoring": [StrOptions({"deviance", "auc"})],
    }

    def __init__(self, *, rule: str = "1se", cv: int = 5, n_lambdas: int = 30,
                 lambda_ratio: float = 1e-2, scoring: str = "deviance", random_state=None):
        self.rule = rule
        self.cv = cv
        self.n_lambdas = n_lambdas
        self.lambda_ratio = lambda_ratio
        self.scoring = scoring
        self.random_state = random_state

    def _model(self, C: float) -> LogisticRegression:
        return LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", max_iter=1000,
                                  tol=1e-6, random_state=0)

    def _fold_scores(self, Z: np.ndarray, y: np.ndarray) -> np.ndarray:
        splitter = StratifiedKFold(self.cv, shuffle=True, random_state=self.random_state)
        scores = np.full((self.cv, len(self.Cs_)), np.nan)
        for k, (tr, te) in enumerate(splitter.split(Z, y)):
            Ztr, mu, sd = _standardise(Z[tr])
            Zte = (Z[te] - mu) / sd
            for j, C in enumerate(self.Cs_):
                p = self._model(C).fit(Ztr, y[tr]).predict_proba(Zte)[:, 1]
                if self.scoring == "auc":
                    scores[k, j] = roc_auc_score(y[te], p) if len(set(y[te])) == 2 else np.nan
                else:
                    scores[k, j] = -log_loss(y[te], p, labels=[0, 1])
        return scores

    def fit(self, X, y) -> LassoLogisticSelector:
        """Choose the penalty by CV, then refit on all of ``X`` at that penalty."""
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64)
        y01 = check_binary(y)
        self.classes_ = np.unique(y)
        Z, self.mean_, self.scale_ = _standardise(X)
        c0 = l1_min_c(Z, y01, loss="log")
        self.Cs_ = c0 * np.logspace(0, -np.log10(self.lambda_ratio), self.n_lambdas)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SkConvergenceWarning)
            self._chosen(self._fold_scores(X, y01))
            model = self._model(self.Cs_[self.index_]).fit(Z, y01)
        self.C_min_, self.C_1se_ = self.Cs_[self.index_min_], self.Cs_[self.index_1se_]
        self.C_ = float(self.Cs_[self.index_])
        self.coef_ = model.coef_.ravel().copy()
        self.intercept_ = float(model.intercept_[0])
        if not self.coef_.any():  # liblinear also shrinks the intercept: use the prevalence
            prevalence = float(np.clip(y01.mean(), 1e-6, 1 - 1e-6))
            self.intercept_ = float(np.log(prevalence / (1 - prevalence)))
        return self


class LassoCoxSelector(_LassoBase):
    """L1-penalised Cox model (scikit-survival coxnet) with the penalty chosen by K-fold CV.

    ``y`` is a scikit-survival structured array. Features are standardised inside ``fit``.
    The CV criterion is Harrell's C-index on each held-out fold (higher is better).

    Parameters
    ----------
    rule : {"1se", "min"}, default="1se"
    cv : int, default=5
    n_lambdas : int, default=30
    lambda_ratio : float, default=0.05
        ``alpha_min_ratio`` of the coxnet path.
    random_state : int, RandomState or None, default=None

    Attributes
    ----------
    alphas_ : ndarray of shape (n_lambdas,)
        Penalty path (strongest first). ``alpha_`` the chosen one, ``alpha_min_``, ``alpha_1se_``.
    coef_ : ndarray of shape (n_features,)
        Cox coefficients at ``alpha_`` on the standardised scale.
    """

    def __init__(self, *, rule: str = "1se", cv: int = 5, n_lambdas: int = 30,
                 lambda_ratio: float = 0.05, random_state=None):
        self.rule = rule
        self.cv = cv
        self.n_lambdas = n_lambdas
        self.lambda_ratio = lambda_ratio
        self.random_state = random_state

    def _path(self, Z, y, alphas=None):
        from sksurv.linear_model import CoxnetSurvivalAnalysis

        model = CoxnetSurvivalAnalysis(l1_ratio=1.0, n_alphas=self.n_lambdas, alphas=alphas,
                                       alpha_min_ratio=self.lambda_ratio, max_iter=100000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(Z, y)

    def _fold_scores(self, X, y, event, time) -> np.ndarray:
        from sksurv.metrics import concordance_index_censored

        splitter = KFold(self.cv, shuffle=True, random_state=self.random_state)
        scores = np.full((self.cv, len(self.alphas_)), np.nan)
        for k, (tr, te) in enumerate(splitter.split(X)):
            if not event[tr].any() or not event[te].any():
                continue
            Ztr, mu, sd = _standardise(X[tr])
            model = self._path(Ztr, y[tr], alphas=self.alphas_)
            risk = ((X[te] - mu) / sd) @ model.coef_
            for j in range(model.coef_.shape[1]):
                scores[k, j] = concordance_index_censored(event[te], time[te], risk[:, j])[0]
        return scores

    def fit(self, X, y) -> LassoCoxSelector:
        """Choose the penalty by CV (C-index), then refit on all of ``X`` at that penalty."""
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64)
        event, time = check_survival(y)
        Z, self.mean_, self.scale_ = _standardise(X)
        full = self._path(Z, y)
        self.alphas_ = np.asarray(full.alphas_, dtype=float)
        self._chosen(self._fold_scores(X, y, event, time))
        self.alpha_min_ = float(self.alphas_[self.index_min_])
        self.alpha_1se_ = float(self.alphas_[self.index_1se_])
        self.alpha_ = float(self.alphas_[self.index_])
        self.coef_ = np.asarray(full.coef_[:, self.index_], dtype=float).copy()
        return self
