"""Nomograms and combined signatures: Rad-score(s) + clinical + immune scores in one model.

A :class:`Nomogram` fits, on the training rows only, one LASSO :class:`RadScore` per score block
(a list of columns or a regex), then an unpenalised logistic (binary) or Cox (survival) model on
the block scores plus the clinical columns given as-is. :class:`FusedSignature` is the same
model with radiomics and deep-feature blocks and no clinical columns.

Cox: coefficients by scikit-survival's ``CoxPHSurvivalAnalysis`` (Breslow ties); the baseline
cumulative hazard is the Breslow estimator, stored as arrays so the model saves to JSON.
"""

from __future__ import annotations

import numbers
import re

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from radsig.exceptions import ConfigError
from radsig.models.radscore import RadScore, format_formula
from radsig.select._target import check_binary, check_survival, is_survival


def _columns(df: pd.DataFrame, spec) -> list[str]:
    if isinstance(spec, str):
        cols = [c for c in df.columns if re.search(spec, str(c))]
    else:
        cols = [c for c in spec if c in df.columns]
        if len(cols) != len(list(spec)):
            raise ConfigError(f"columns {sorted(set(spec) - set(cols))[:5]} not found in X")
    if not cols:
        raise ConfigError(f"no column of X matches {spec!r}")
    return cols


def breslow(event, time, lp) -> tuple[np.ndarray, np.ndarray]:
    """Breslow baseline cumulative hazard at the unique event times."""
    t_ev = np.unique(time[event])
    risk = np.exp(lp)
    h = np.array([event[time == t].sum() / risk[time >= t].sum() for t in t_ev])
    return t_ev, np.cumsum(h)


class Nomogram(BaseEstimator):
    """Rad-score block(s) + clinical / immune columns → logistic or Cox nomogram.

    Parameters
    ----------
    scores : dict[str, list[str] | str] or None, default=None
        Score blocks: name → columns or a regex on column names. Each becomes a LASSO RadScore
        fitted on training rows. None: one block "Rad-score" over every non-clinical column.
    clinical : sequence of str, default=()
        Columns that enter the final model as they are (numeric; encode categories first),
        e.g. age, stage, an immune score (CD3/CD8 density).
    radscore : estimator or None
        Template for the score blocks (cloned and fitted per block on its columns); any
        estimator with ``decision_function`` works, e.g. a Pipeline of filters ending in a
        RadScore. Default ``RadScore(random_state=0)``.

    Attributes
    ----------
    task_ : {"binary", "survival"}
    predictors_ : list of str
        Final-model predictors (block names, then clinical columns).
    coef_, intercept_ : final-model coefficients (intercept 0 for Cox)
    ranges_ : ndarray of shape (n_predictors, 2)
        Training min / max of each predictor (for the points scales).
    baseline_times_, baseline_cumhaz_ : Cox only, Breslow baseline cumulative hazard.
    formula_ : str
    """

    def __init__(self, *, scores=None, clinical=(), radscore=None):
        self.scores = scores
        self.clinical = clinical
        self.radscore = radscore

    def _default_blocks(self, X: pd.DataFrame) -> dict:
        return {"Rad-score": [c for c in X.columns if c not in set(self.clinical)]}

    def _blocks(self, X: pd.DataFrame) -> dict[str, list[str]]:
        spec = self.scores if self.scores is not None else self._default_blocks(X)
        return {name: _columns(X, s) for name, s in spec.items()}

    def _design(self, X) -> np.ndarray:
        cols = [m.decision_function(X[c]) for m, c in zip(self.score_models_, self.block_columns_, strict=True)]
        cols += [X[c].to_numpy(dtype=float) for c in self.clinical]
        return np.column_stack(cols)

    def fit(self, X, y) -> Nomogram:
        """Fit the score blocks, then the final model, on the training rows."""
        if not isinstance(X, pd.DataFrame):
            raise ConfigError("Nomogram needs X as a DataFrame (columns are named in scores/"
                              "clinical)")
        y = np.asarray(y)
        blocks = self._blocks(X)
        template = self.radscore if self.radscore is not None else RadScore(random_state=0)
        self.block_columns_ = list(blocks.values())
        self.score_models_ = [clone(template).fit(X[c], y) for c in self.block_columns_]
        self.predictors_ = [*blocks, *self.clinical]
        Z = self._design(X)
        self.ranges_ = np.column_stack([Z.min(axis=0), Z.max(axis=0)])
        if is_survival(y):
            self._fit_cox(Z, y)
        else:
            self._fit_logistic(Z, y)
        self.formula_ = format_formula(self.predictors_, self.coef_, self.intercept_,
                                       label="logit(p)" if self.task_ == "binary" else "log HR")
        return self

    def _fit_logistic(self, Z, y) -> None:
        self.task_ = "binary"
        self.classes_ = np.unique(y)
        lr = LogisticRegression(C=np.inf, max_iter=5000).fit(Z, check_binary(y))
        self.coef_, self.intercept_ = lr.coef_.ravel(), float(lr.intercept_[0])

    def _fit_cox(self, Z, y) -> None:
        from sksurv.linear_model import CoxPHSurvivalAnalysis

        self.task_ = "survival"
        event, time = check_survival(y)
        cox = CoxPHSurvivalAnalysis(ties="breslow").fit(Z, y)
        self.coef_, self.intercept_ = np.asarray(cox.coef_, float), 0.0
        self.baseline_times_, self.baseline_cumhaz_ = breslow(event, time, Z @ self.coef_)

    def decision_function(self, X) -> np.ndarray:
        """Linear predictor (log-odds or log relative hazard)."""
        check_is_fitted(self, "coef_")
        return self._design(X) @ self.coef_ + self.intercept_

    def predict_proba(self, X) -> np.ndarray:
        """Binary only: class probabilities."""
        if getattr(self, "task_", "binary") != "binary":
            raise AttributeError("predict_proba is for binary nomograms; use predict_survival")
        p = 1 / (1 + np.exp(-self.decision_function(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X) -> np.ndarray:
        """Binary: class; survival: risk (linear predictor)."""
        lp = self.decision_function(X)
        return lp if self.task_ == "survival" else self.classes_[(lp > 0).astype(int)]

    def survival_at(self, lp, times) -> np.ndarray:
        """S(t | lp) = exp(-H0(t) exp(lp)) for each lp (rows) and time (columns)."""
        idx = np.searchsorted(self.baseline_times_, np.asarray(times, float), side="right") - 1
        h0 = np.where(idx >= 0, self.baseline_cumhaz_[np.clip(idx, 0, None)], 0.0)
        return np.exp(-np.outer(np.exp(np.asarray(lp, float)), h0))

    def predict_survival(self, X, times) -> np.ndarray:
        """Survival probabilities at ``times`` (same unit as the training times)."""
        check_is_fitted(self, "baseline_cumhaz_")
        return self.survival_at(self.decision_function(X), times)


class FusedSignature(Nomogram):
    """Radiomics + deep features: one LASSO score per block, fused by logistic / Cox.

    Parameters
    ----------
    scores : dict, default={"radiomics": "^(original|wavelet|log)", "deep": "^deep"}
        Blocks by regex or column list.
    radscore : RadScore or None
    """

    def __init__(self, *, scores=None, radscore=None, clinical=()):
        super().__init__(scores=scores, clinical=clinical, radscore=radscore)

    def _default_blocks(self, X: pd.DataFrame) -> dict:
        return {"radiomics": "^(original|wavelet|log)", "deep": "^deep"}


class PCAScore(TransformerMixin, BaseEstimator):
    """PCA composite score: standardise, project on the first principal component(s).

    The sign of each component is fixed in training so that it correlates positively with the
    outcome (event indicator for survival) when ``y`` is given, else so that its loadings sum
    to a positive number.

    Parameters
    ----------
    n_components : int, default=1
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left")]}

    def __init__(self, *, n_components: int = 1):
        self.n_components = n_components

    def fit(self, X, y=None) -> PCAScore:
        """Fit scaler and PCA on training rows; orient the components."""
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64)
        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        self.pca_ = PCA(n_components=self.n_components).fit(Z)
        pcs = self.pca_.transform(Z)
        if y is None:
            sign = np.sign(self.pca_.components_.sum(axis=1))
        else:
            target = (check_survival(y)[0] if is_survival(y) else
                      np.unique(np.asarray(y).ravel(), return_inverse=True)[1]).astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                sign = np.nan_to_num(np.sign([np.corrcoef(pcs[:, k], target)[0, 1]
                                              for k in range(pcs.shape[1])]))
        self.sign_ = np.where(sign == 0, 1.0, sign)
        self.explained_variance_ratio_ = self.pca_.explained_variance_ratio_
        return self

    def transform(self, X) -> np.ndarray:
        """Composite score(s), shape (n_samples, n_components)."""
        check_is_fitted(self, "sign_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.pca_.transform(self.scaler_.transform(X)) * self.sign_

    def decision_function(self, X) -> np.ndarray:
        """The first composite score."""
        return self.transform(X)[:, 0]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """``pca_score0``, ``pca_score1``…"""
        check_is_fitted(self, "sign_")
        return np.asarray([f"pca_score{k}" for k in range(len(self.sign_))], dtype=object)
