"""Tumour-microenvironment phenotypes and an Immunoscore-like CD3/CD8 score, fitted on training data.

Both are scikit-learn estimators: the cut-offs (score quantiles, reference percentiles) are
learnt in ``fit`` on the training cohort and applied unchanged to other cohorts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from radsig.exceptions import ConfigError

TME_LABELS = ("desert", "excluded", "inflamed")


class TMEPhenotyper(BaseEstimator):
    """Label samples inflamed / excluded / desert from an immune score and a stromal score.

    Rule (thresholds learnt on the training samples): *inflamed* when the immune score is at or
    above its ``high_quantile``; otherwise *excluded* when the stromal score is at or above its
    ``high_quantile`` (immune cells kept out by stroma); otherwise *desert*. Without a stromal
    score the labels are inflamed / desert only.

    Parameters
    ----------
    high_quantile : float
        Training quantile above which a score counts as high.
    """

    def __init__(self, *, high_quantile: float = 0.5):
        self.high_quantile = high_quantile

    def fit(self, immune, stromal=None):
        if not 0.0 < self.high_quantile < 1.0:
            raise ConfigError(f"high_quantile must lie in (0, 1), got {self.high_quantile}")
        immune = np.asarray(immune, dtype=float)
        self.immune_cut_ = float(np.nanquantile(immune, self.high_quantile))
        self.stromal_cut_ = None if stromal is None else float(np.nanquantile(np.asarray(stromal, float),
                                                                                 self.high_quantile))
        return self

    def predict(self, immune, stromal=None) -> np.ndarray:
        check_is_fitted(self, "immune_cut_")
        immune = np.asarray(immune, dtype=float)
        out = np.where(immune >= self.immune_cut_, "inflamed", "desert").astype(object)
        if stromal is not None and self.stromal_cut_ is not None:
            stromal = np.asarray(stromal, dtype=float)
            out[(out == "desert") & (stromal >= self.stromal_cut_)] = "excluded"
        return out


class ImmunoscoreLike(BaseEstimator, TransformerMixin):
    """Immunoscore-like score from CD3 and CD8 densities in tumour core (CT) and invasive margin (IM).

    Each density is converted to its percentile within the training (reference) cohort; the
    score is the mean of the four percentiles (Pagès et al., Lancet 2018). Groups: low (0–25),
    intermediate (25–70], high (> 70).
    """

    COLUMNS = ("cd3_ct", "cd3_im", "cd8_ct", "cd8_im")

    def __init__(self, *, columns: tuple[str, ...] = COLUMNS):
        self.columns = columns

    def _frame(self, X) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            missing = [c for c in self.columns if c not in X.columns]
            if missing:
                raise ConfigError(f"IHC table lacks column(s) {missing}; expected {list(self.columns)}")
            return X[list(self.columns)].to_numpy(dtype=float)
        return np.asarray(X, dtype=float)

    def fit(self, X, y=None):
        self.reference_ = np.sort(self._frame(X), axis=0)
        return self

    def transform(self, X) -> np.ndarray:
        check_is_fitted(self, "reference_")
        values = self._frame(X)
        pct = np.column_stack([
            np.searchsorted(self.reference_[:, k][~np.isnan(self.reference_[:, k])], values[:, k], side="right")
            / max((~np.isnan(self.reference_[:, k])).sum(), 1) * 100.0
            for k in range(values.shape[1])])
        pct[np.isnan(values)] = np.nan
        return np.nanmean(pct, axis=1)

    @staticmethod
    def groups(score) -> np.ndarray:
        """Low (≤ 25), intermediate (≤ 70) or high (> 70)."""
        score = np.asarray(score, dtype=float)
        return np.select([score <= 25, score <= 70], ["low", "intermediate"], "high").astype(object)
