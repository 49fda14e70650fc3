"""ComBat harmonisation as a scikit-learn transformer: fitted on training data, applied to new data.

``X`` is a table holding the feature columns plus a batch (centre / scanner) column and any
covariates whose effect must be protected. ``fit`` estimates, on the training rows only, the
feature-wise covariate effects, the pooled mean and variance, and the (empirical-Bayes) location
and scale of each training batch. ``transform`` applies those frozen estimates to any rows.

Centres never seen in training (``unseen``):

* ``"error"`` (default): refuse, naming the centre.
* ``"pooled"``: keep the training pooled estimates and apply no batch adjustment (the new rows
  are standardised and mapped back with the training grand mean and variance, i.e. gamma = 0,
  delta = 1). The unseen centre's own shift is *not* removed.
* ``"adapt"``: estimate the new centre's location and scale from its own rows in the
  ``transform`` call (at least 2 rows), with empirical-Bayes shrinkage computed across its
  features, while every training estimate (covariate effects, grand mean, pooled variance)
  stays frozen. This uses the new cohort's features, never its outcomes.

``ref_batch`` gives reference-batch ComBat: one training centre stays as it is and the others
(and, with ``unseen="adapt"``, new centres) are mapped onto it. The ``"pooled"`` option leaves
an unseen centre's rows unchanged (identity up to rounding); it exists so that a pipeline can
still score such rows, and says so rather than pretending to harmonise them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from radsig.exceptions import StatisticsError
from radsig.harmonize import _eb


class ComBat(TransformerMixin, BaseEstimator):
    """ComBat harmonisation (parametric / non-parametric EB) fitted on training data only.

    Parameters
    ----------
    batch : str or int, default="batch"
        Column (name, or position for arrays) holding the batch label.
    categorical : sequence of str or int, default=()
        Categorical covariates to protect (one-hot, first level dropped).
    continuous : sequence of str or int, default=()
        Continuous covariates to protect.
    parametric : bool, default=True
        Parametric (True) or non-parametric (False) empirical-Bayes priors.
    eb : bool, default=True
        Shrink batch estimates with empirical Bayes; False uses the raw per-batch estimates.
    mean_only : bool, default=False
        Adjust location only (delta = 1).
    unseen : {"error", "pooled", "adapt"}, default="error"
        What ``transform`` does with a batch not present in training (see module docstring).
    ref_batch : str or None, default=None
        Reference-batch ComBat: this training batch is left unchanged and every other batch is
        mapped onto its mean and variance (grand mean and pooled variance from the reference
        rows only).

    Attributes
    ----------
    batches_ : ndarray of str
        Training batch labels. ``gamma_star_``, ``delta_star_`` : (n_batches, n_features).
    grand_mean_, var_pooled_ : ndarray of shape (n_features,)
    beta_cov_ : ndarray of shape (n_covariate_columns, n_features)
    features_ : ndarray of str
        Harmonised feature columns (every column that is not batch or covariate).
    """

    _parameter_constraints: dict = {
        "batch": [str, int], "categorical": ["array-like"], "continuous": ["array-like"],
        "parametric": ["boolean"], "eb": ["boolean"], "mean_only": ["boolean"],
        "unseen": [StrOptions({"error", "pooled", "adapt"})],
        "ref_batch": [str, None],
    }

    def __init__(self, *, batch="batch", categorical=(), continuous=(), parametric: bool = True,
                 eb: bool = True, mean_only: bool = False, unseen: str = "error",
                 ref_batch: str | None = None):
        self.batch = batch
        self.categorical = categorical
        self.continuous = continuous
        self.parametric = parametric
        self.eb = eb
        self.mean_only = mean_only
        self.unseen = unseen
        self.ref_batch = ref_batch

    # ------------------------------------------------------------------ helpers
    def _split(self, X) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, list]:
        df = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))
        special = [self.batch, *self.categorical, *self.continuous]
        missing = [c for c in special if c not in df.columns]
        if missing:
            raise StatisticsError(f"ComBat: column(s) {missing} not found in X (columns "
                                  f"{list(df.columns)[:8]}…); pass the batch and covariate "
                                  "columns with the features")
        feats = [c for c in df.columns if c not in special]
        Y = df[feats].to_numpy(dtype=float)
        if not np.all(np.isfinite(Y)):
            raise StatisticsError("ComBat: features hold NaN or infinite values; impute them "
                                  "(inside the pipeline) before harmonising")
        return Y, df[self.batch].astype(str).to_numpy(), df[[*self.categorical,
                                                              *self.continuous]], feats

    def _covariates(self, cov: pd.DataFrame) -> np.ndarray:
        cols = []
        for c, levels in zip(self.categorical, self.cat_levels_, strict=True):
            v = cov[c].astype(str).to_numpy()
            cols += [(v == lev).astype(float) for lev in levels[1:]]
        cols += [cov[c].to_numpy(dtype=float) for c in self.continuous]
        return np.column_stack(cols) if cols else np.zeros((len(cov), 0))

    def _batch_posteriors(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g_hat = z.mean(axis=0)
        d_hat = np.ones_like(g_hat) if self.mean_only else z.var(axis=0, ddof=1)
        d_hat = np.where(d_hat > 0, d_hat, 1.0)
        if not self.eb:
            return g_hat, d_hat
        if self.mean_only:
            return _eb.mean_only(g_hat, _eb.priors(g_hat, d_hat), len(z)), d_hat
        if self.parametric:
            return _eb.parametric(z, g_hat, d_hat, _eb.priors(g_hat, d_hat))
        return _eb.nonparametric(z, g_hat, d_hat)

    # ------------------------------------------------------------------ API
    def fit(self, X, y=None) -> ComBat:
        """Estimate covariate effects, pooled moments and per-batch EB location/scale."""
        self._validate_params()
        Y, b, cov, feats = self._split(X)
        self.features_ = np.asarray([str(f) for f in feats], dtype=object)
        self.batches_, idx, counts = np.unique(b, return_inverse=True, return_counts=True)
        if len(self.batches_) < 2 or counts.min() < 2:
            raise StatisticsError(f"ComBat needs >= 2 batches with >= 2 samples each; got "
                                  f"{dict(zip(self.batches_, counts.tolist(), strict=True))}")
        self.cat_levels_ = [np.unique(cov[c].astype(str)) for c in self.categorical]
        C = self._covariates(cov)
        design = np.column_stack([np.eye(len(self.batches_))[idx], C])
        beta = np.linalg.lstsq(design, Y, rcond=None)[0]
        k = len(self.batches_)
        ref = self._ref_index()
        rows = np.ones(len(Y), bool) if ref is None else idx == ref
        self.grand_mean_ = (counts / counts.sum()) @ beta[:k] if ref is None else beta[ref]
        self.beta_cov_ = beta[k:]
        var = ((Y[rows] - design[rows] @ beta) ** 2).mean(axis=0)
        self.var_pooled_ = np.where(var > 0, var, 1.0)
        z = (Y - self.grand_mean_ - C @ self.beta_cov_) / np.sqrt(self.var_pooled_)
        post = [self._batch_posteriors(z[idx == i]) for i in range(k)]
        self.gamma_star_ = np.array([p[0] for p in post])
        self.delta_star_ = np.array([p[1] for p in post])
        if ref is not None:
            self.gamma_star_[ref], self.delta_star_[ref] = 0.0, 1.0
        self.n_features_in_ = len(feats) + 1 + len(cov.columns)
        return self

    def _ref_index(self) -> int | None:
        if self.ref_batch is None:
            return None
        hit = np.flatnonzero(self.batches_ == str(self.ref_batch))
        if not hit.size:
            raise StatisticsError(f"ComBat: ref_batch {self.ref_batch!r} is not a training batch "
                                  f"(batches: {list(self.batches_)})")
        return int(hit[0])

    def transform(self, X) -> np.ndarray:
        """Harmonise rows with the training estimates; returns the feature columns only."""
        check_is_fitted(self, "gamma_star_")
        Y, b, cov, feats = self._split(X)
        if [str(f) for f in feats] != list(self.features_):
            raise StatisticsError("ComBat: the feature columns differ from those seen in fit "
                                  f"({len(feats)} vs {len(self.features_)}); use the same table")
        mod = self._covariates(cov) @ self.beta_cov_
        z = (Y - self.grand_mean_ - mod) / np.sqrt(self.var_pooled_)
        gamma = np.zeros_like(z)
        delta = np.ones_like(z)
        for lev in np.unique(b):
            rows = b == lev
            hit = np.flatnonzero(self.batches_ == lev)
            if hit.size:
                gamma[rows], delta[rows] = self.gamma_star_[hit[0]], self.delta_star_[hit[0]]
            else:
                gamma[rows], delta[rows] = self._unseen(lev, z[rows])
        return (z - gamma) / np.sqrt(delta) * np.sqrt(self.var_pooled_) + self.grand_mean_ + mod

    def _unseen(self, lev: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.unseen == "error":
            raise StatisticsError(
                f"ComBat: batch {lev!r} was not seen in training (known: {list(self.batches_)}); "
                "set unseen='adapt' to fit its location/scale alone, or unseen='pooled' to apply "
                "the training pooled estimates without a batch adjustment")
        if self.unseen == "pooled":
            return np.zeros(z.shape[1]), np.ones(z.shape[1])
        if len(z) < 2:
            raise StatisticsError(f"ComBat unseen='adapt' needs >= 2 rows of batch {lev!r} in "
                                  f"one transform call, got {len(z)}")
        return self._batch_posteriors(z)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The harmonised feature columns (batch and covariate columns are dropped)."""
        check_is_fitted(self, "features_")
        return np.asarray(self.features_, dtype=object)
