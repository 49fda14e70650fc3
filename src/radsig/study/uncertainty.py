"""What a frozen study model needs to be served: parameter covariances, Cox baselines, training summaries.

* ``covariance``: the inverse of the observed information of the (weakly penalised) refit that
  produced the coefficients, over ``[intercept, coef_1 … coef_k]`` in term order (the intercept row
  and column are zero for Cox models, which have none). The penalty enters the information as in
  the fit (scikit-learn's logistic ``C = 1/penalty`` and scikit-survival's ridge ``alpha`` both add
  ``penalty * I`` to the Hessian of the negative log-likelihood; the intercept is not penalised).
  It is conditional on the selected features (selection uncertainty is not in it), which the model
  card says. The delta method turns it into a CI for each prediction (``radsig.serve.scoring``).
* ``baseline``: Cox models only: the Breslow baseline cumulative hazard at the endpoint's horizons,
  so a risk at each horizon is ``1 − exp(−H0(t)·exp(lp))``. Only the values at the horizons are kept
  (the full step function would list training patients' event times).
* ``training_summary``: per model input (feature, clinical column, model score): n, missing,
  mean, SD, percentiles and the range, every number rounded to 4 significant digits (the range
  outward) so that no training patient's value is stored; categorical columns: levels and counts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from radsig.study import modelling as mdl

#: penalty of the refit that gives a radiomics signature its coefficients (modelling.fit_radiomics)
REFIT_PENALTY = 0.5
#: penalty of the clinical / combined GLM (modelling.fit_linear → _fit_glm default)
LINEAR_PENALTY = 1e-4
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)


def _round(v: float, how: str = "nearest", digits: int = 4) -> float:
    """*v* to *digits* significant digits (``floor``/``ceil``: towards −∞ / +∞)."""
    v = float(v)
    if v == 0 or not math.isfinite(v):
        return v
    step = 10.0 ** (math.floor(math.log10(abs(v))) - digits + 1)
    q = v / step
    q = math.floor(q) if how == "floor" else math.ceil(q) if how == "ceil" else round(q)
    return float(f"{q * step:.{digits}g}")


def numeric_summary(x) -> dict:
    """Summary statistics of one training input, rounded (no value of a patient row is kept)."""
    x = pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(float)
    ok = x[np.isfinite(x)]
    out = {"n": int(ok.size), "missing": int(x.size - ok.size)}
    if ok.size == 0:
        return out
    pct = np.percentile(ok, PERCENTILES)
    out.update({"min": _round(ok.min(), "floor"), "max": _round(ok.max(), "ceil"),
                "mean": _round(ok.mean()), "sd": _round(ok.std(ddof=1) if ok.size > 1 else 0.0),
                **{f"p{p:02d}": _round(v) for p, v in zip(PERCENTILES, pct, strict=True)}})
    return out


def categorical_summary(x) -> dict:
    s = pd.Series(x)
    counts = s.dropna().astype(str).value_counts()
    return {"n": int(s.notna().sum()), "missing": int(s.isna().sum()),
            "levels": sorted(counts.index.tolist()), "counts": {k: int(v) for k, v in sorted(counts.items())}}


def training_summary(frozen: list[dict], feats: pd.DataFrame, clin: pd.DataFrame, scores: dict) -> dict:
    """Summaries of every input the frozen models use, on the training rows."""
    names = sorted({f for m in frozen for f in mdl.model_features(m)})
    columns = sorted({c for m in frozen for c in mdl.model_columns(m)})
    levels = {t["column"] for m in mdl.evaluated_models(frozen) for t in _all_terms(m) if "level" in t}
    return {
        "features": {f: numeric_summary(feats[f]) for f in names if f in feats.columns},
        "clinical": {c: categorical_summary(clin[c]) if c in levels else numeric_summary(clin[c])
                     for c in columns if c in clin.columns},
        "scores": {n: numeric_summary(v) for n, v in scores.items()},
    }


def _all_terms(model: dict) -> list[dict]:
    if model["kind"] == "ensemble":
        return [t for m in model["members"] for t in _all_terms(m)]
    return model.get("terms", [])


# --------------------------------------------------------------------------- information matrices
def _logistic_information(X1: np.ndarray, lp: np.ndarray) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-lp))
    return (X1 * (p * (1 - p))[:, None]).T @ X1


def _cox_information(X: np.ndarray, time: np.ndarray, event: np.ndarray, lp: np.ndarray) -> np.ndarray:
    """Observed information of Cox's partial likelihood, Breslow ties (as scikit-survival fits)."""
    w = np.exp(lp - lp.max())
    info = np.zeros((X.shape[1], X.shape[1]))
    for t in np.unique(time[event]):
        at = time >= t
        d = int(np.sum(event & (time == t)))
        wr = w[at]
        s0 = wr.sum()
        mu = (X[at] * wr[:, None]).sum(axis=0) / s0
        s2 = (X[at] * wr[:, None]).T @ X[at] / s0
        info += d * (s2 - np.outer(mu, mu))
    return info


def _inverse(info: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(info)


def covariance(frozen: dict, feats: pd.DataFrame, clin, scores: dict, target, link: str) -> np.ndarray:
    """Covariance of ``[intercept, coef…]`` of a linear frozen model (see the module docstring)."""
    penalty = REFIT_PENALTY if frozen["kind"] == "radiomics" else LINEAR_PENALTY
    X = mdl._design(frozen["terms"], feats, clin, scores)
    lp = mdl.linear_predictor(frozen, feats, clin, scores)
    k = X.shape[1]
    pca = frozen.get("score") == "pca"
    if pca:  # fitted as intercept + slope × PC1, PC1 = X @ loadings; coef_j = slope × loading_j
        load = np.array([frozen["pc1_loadings"][t["name"]] for t in frozen["terms"]])
        X = (X @ load)[:, None]
    if link == "logistic":
        X1 = np.column_stack([np.ones(len(X)), X])
        info = _logistic_information(X1, lp)
        info[1:, 1:] += penalty * np.eye(X.shape[1])
        cov = _inverse(info)
    else:
        info = _cox_information(X, target["time"].astype(float), target["event"].astype(bool), lp)
        info += max(penalty, 1e-4) * np.eye(X.shape[1])
        cov = np.zeros((X.shape[1] + 1, X.shape[1] + 1))
        cov[1:, 1:] = _inverse(info)
    if pca:
        J = np.zeros((k + 1, 2))
        J[0, 0], J[1:, 1] = 1.0, load
        cov = J @ cov @ J.T
    return (cov + cov.T) / 2


def add_uncertainty(frozen: dict, feats: pd.DataFrame, clin, scores: dict, target) -> None:
    """Store ``covariance`` in *frozen* and its linear members (learners have none)."""
    if frozen["kind"] == "ensemble":
        for m in frozen["members"]:
            if m["kind"] != "learner":
                add_uncertainty(m, feats, clin, scores, target)
        return
    if frozen["kind"] == "learner":
        return
    frozen["covariance"] = covariance(frozen, feats, clin, scores, target, frozen["link"]).tolist()


def baseline(lp: np.ndarray, time: np.ndarray, event: np.ndarray, horizons) -> dict:
    """Breslow baseline cumulative hazard at *horizons* (Cox models)."""
    from radsig.models.nomogram import breslow

    good = np.isfinite(time) & np.isfinite(event) & np.isfinite(lp)
    t_ev, cum = breslow(event[good].astype(bool), time[good], lp[good])
    values = [float(cum[t_ev <= h][-1]) if np.any(t_ev <= h) else 0.0 for h in horizons]
    return {"horizons": [float(h) for h in horizons], "cumulative_hazard": values}
