"""Validation designs: train → internal → external cohorts, repeated/nested CV, Harrell's
bootstrap optimism correction. Every fitted step is refitted inside each fold (the whole
estimator — pipeline, selector, ComBat — is cloned), so nothing is learnt from held-out rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold, StratifiedKFold

from radsig.evaluate import Estimate, auc_ci, concordance_index
from radsig.models._metrics import harrell_c, roc_auc
from radsig.select._target import check_binary, check_survival, is_survival


def model_score(model, X) -> np.ndarray:
    """A continuous score: P(class 1), else decision_function, else predict (Cox risk)."""
    if hasattr(model, "predict_proba") and not _is_survival_model(model):
        try:
            return np.asarray(model.predict_proba(X))[:, 1]
        except AttributeError:
            pass
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X), float)
    return np.asarray(model.predict(X), float)


def _is_survival_model(model) -> bool:
    return getattr(model, "task_", None) == "survival" or getattr(
        getattr(model, "steps", [[None, None]])[-1][1], "task_", None) == "survival"


def metric_with_ci(y, score, *, level: float = 0.95) -> Estimate:
    """AUC with DeLong CI (binary ``y``) or Harrell's C with its infinitesimal-jackknife CI
    (survival ``y``), both from :mod:`radsig.evaluate`.

    A constant score (e.g. a LASSO that kept no feature) cannot discriminate: the estimate is
    0.5 and the interval NaN, with ``method="constant score"``.
    """
    score = np.asarray(score, float)
    survival = is_survival(y)
    if np.ptp(score) == 0:
        name = "C-index (Harrell)" if survival else "AUC"
        return Estimate(name, 0.5, float("nan"), float("nan"), len(score), "constant score",
                        level)
    if survival:
        event, time = check_survival(y)
        return concordance_index(time, event, score, level=level)
    return auc_ci(check_binary(y), score, method="delong", level=level)


def _point(y, score) -> float:
    if is_survival(y):
        event, time = check_survival(y)
        return harrell_c(event, time, score)
    return roc_auc(check_binary(y), score)


def _rows(X, idx):
    return X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]


@dataclass(frozen=True)
class CVResult:
    """Out-of-fold performance of a cross-validated estimator.

    ``estimate``/``ci_low``/``ci_high`` are computed on the out-of-fold scores (averaged over
    repeats per sample); ``fold_scores`` holds the per-fold metric of every repeat.
    """

    metric: Estimate
    fold_scores: np.ndarray
    oof_scores: np.ndarray
    repeat_estimates: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def estimate(self) -> float:
        return self.metric.estimate

    @property
    def ci_low(self) -> float:
        return self.metric.ci_low

    @property
    def ci_high(self) -> float:
        return self.metric.ci_high


def cross_validate_model(estimator, X, y, *, cv: int = 5, repeats: int = 1,
                         random_state=0) -> CVResult:
    """Repeated K-fold CV (stratified for binary outcomes) with every step fitted inside folds.

    When the estimator itself tunes hyper-parameters by an inner CV (the LASSO selectors do),
    this is nested cross-validation.

    Returns
    -------
    CVResult
        AUC with DeLong CI (binary) or C-index with jackknife CI (survival), on the out-of-fold
        scores averaged over repeats, plus per-fold scores.
    """
    y_arr = np.asarray(y)
    survival = is_survival(y_arr)
    strat = None if survival else check_binary(y_arr)
    oof = np.zeros((repeats, len(y_arr)))
    folds, per_repeat = [], []
    for r in range(repeats):
        seed = None if random_state is None else random_state + r
        split = (KFold(cv, shuffle=True, random_state=seed).split(np.zeros(len(y_arr)))
                 if survival else
                 StratifiedKFold(cv, shuffle=True, random_state=seed).split(np.zeros(len(y_arr)),
                                                                            strat))
        for tr, te in split:
            model = clone(estimator).fit(_rows(X, tr), y_arr[tr])
            oof[r, te] = model_score(model, _rows(X, te))
            folds.append(_point(y_arr[te], oof[r, te]) if _scorable(y_arr[te]) else np.nan)
        per_repeat.append(_point(y_arr, oof[r]))
    mean_oof = oof.mean(axis=0)
    return CVResult(metric_with_ci(y_arr, mean_oof), np.asarray(folds), mean_oof,
                    np.asarray(per_repeat))


def _scorable(y) -> bool:
    if is_survival(y):
        return bool(y[y.dtype.names[0]].any())
    return np.unique(y).size == 2


@dataclass(frozen=True)
class OptimismResult:
    """Harrell's bootstrap optimism correction of an apparent performance."""

    metric: str
    apparent: float
    optimism: float
    estimate: float
    ci_low: float
    ci_high: float
    n_boot: int


def bootstrap_optimism(estimator, X, y, *, n_boot: int = 100, level: float = 0.95,
                       random_state=0) -> OptimismResult:
    """Optimism-corrected AUC / C-index (Harrell, Lee & Mark 1996).

    Fit on all rows → apparent score. For each bootstrap sample: fit on it, score on it and on
    the original rows; optimism = mean(boot score − original score); corrected = apparent −
    optimism. The interval is the percentile interval of apparent − optimism_b (approximate).
    """
    y_arr = np.asarray(y)
    apparent = _point(y_arr, model_score(clone(estimator).fit(X, y_arr), X))
    rng = np.random.default_rng(random_state)
    opt = []
    while len(opt) < n_boot:
        i = rng.integers(0, len(y_arr), len(y_arr))
        if not _scorable(y_arr[i]):
            continue
        m = clone(estimator).fit(_rows(X, i), y_arr[i])
        opt.append(_point(y_arr[i], model_score(m, _rows(X, i))) - _point(y_arr, model_score(m, X)))
    opt = np.asarray(opt)
    lo, hi = np.quantile(apparent - opt, [(1 - level) / 2, (1 + level) / 2])
    name = "c_index" if is_survival(y_arr) else "auc"
    return OptimismResult(name, apparent, float(opt.mean()), float(apparent - opt.mean()),
                          float(lo), float(hi), n_boot)


def train_validate(estimator, X_train, y_train, cohorts: dict) -> tuple[object,
                                                                       dict[str, Estimate]]:
    """Fit once on the training cohort, then score it and every other cohort unchanged.

    Parameters
    ----------
    cohorts : dict[str, (X, y)]
        Internal and any number of external validation cohorts, by name.

    Returns
    -------
    (fitted estimator, {"train": Estimate, name: Estimate, ...})
    """
    y_train = np.asarray(y_train)
    model = clone(estimator).fit(X_train, y_train)
    out = {"train": metric_with_ci(y_train, model_score(model, X_train))}
    for name, (Xc, yc) in cohorts.items():
        out[name] = metric_with_ci(np.asarray(yc), model_score(model, Xc))
    return model, out
