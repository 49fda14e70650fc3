"""Point metrics used inside model selection (AUC, Harrell's C).

Confidence intervals and tests live in :mod:`radsig.evaluate`; these are the bare estimates that
fitting and validation loops need, delegated to scikit-learn / scikit-survival.
"""

from __future__ import annotations

import numpy as np


def roc_auc(y01: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC; 0.5 when the score is constant."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y01, score))


def harrell_c(event: np.ndarray, time: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C-index of a risk score (higher risk = earlier event)."""
    from sksurv.metrics import concordance_index_censored

    return float(concordance_index_censored(np.asarray(event, bool), np.asarray(time, float),
                                            np.asarray(risk, float))[0])
