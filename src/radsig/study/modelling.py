"""Fit the study's models on the training cohort and freeze them as JSON-able dicts.

A frozen model is a list of linear terms (feature, clinical level or another model's score, each
with its training centre/scale/imputation value and coefficient) plus an intercept and a link, or
an ensemble of frozen models (soft vote: mean probability). An ensemble member may also be a
``learner`` (random forest, SVM, gradient boosting, logistic regression on the features selected on
training), whose fitted scikit-learn estimator is embedded as a :mod:`radsig.models.serialize`
document (JSON, allow-listed classes, checksum; never pickle). :func:`linear_predictor` is the
only scoring code: the study scores every cohort with the frozen dict, and ``radsig predict``
does the same, so both agree exactly. Only training rows reach any ``fit``.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

import numpy as np
import pandas as pd
from scipy import stats

from radsig.config.study import EndpointSpec, ModelSpec
from radsig.exceptions import StatisticsError


# --------------------------------------------------------------------------- scoring
def level_key(value) -> str:
    """A category as text, numbers normalised (1, 1.0 and "1.0" are the same level "1"): a
    column read as float because of an empty cell must not turn every level into a new one."""
    text = str(value).strip()
    try:
        num = float(text)
    except ValueError:
        return text
    return f"{num:g}" if np.isfinite(num) and num == int(num) and abs(num) < 1e15 else text


def _term_values(term: dict, feats: pd.DataFrame, clin: pd.DataFrame, scores: dict) -> np.ndarray:
    src = term["source"]
    if src == "feature":
        x = pd.to_numeric(feats[term["name"]], errors="coerce").to_numpy(float)
    elif src == "model":
        x = np.asarray(scores[term["name"]], float)
    elif "level" in term:
        x = (clin[term["column"]].map(level_key) == level_key(term["level"])).to_numpy(float)
        x[clin[term["column"]].isna().to_numpy()] = np.nan
    else:
        x = pd.to_numeric(clin[term["column"]], errors="coerce").to_numpy(float)
    x = np.where(np.isfinite(x), x, term["impute"])
    return (x - term["center"]) / term["scale"]


#: decoded learner estimators by their document's checksum, most recently used last; bounded, as
#: a forest can hold megabytes and a long session (a notebook, the test suite) scores many studies
_ESTIMATORS: OrderedDict[str, object] = OrderedDict()
_ESTIMATORS_MAX = 16


def _estimator(model: dict):
    from radsig.models import model_from_document

    doc = model["estimator"]
    key = doc["checksum"]
    if key in _ESTIMATORS:
        _ESTIMATORS.move_to_end(key)
        return _ESTIMATORS[key]
    est = _ESTIMATORS[key] = model_from_document(doc, f"model {model['name']!r}")
    while len(_ESTIMATORS) > _ESTIMATORS_MAX:
        _ESTIMATORS.popitem(last=False)
    return est


def linear_predictor(model: dict, feats: pd.DataFrame, clin: pd.DataFrame, scores: dict) -> np.ndarray:
    """The model's linear predictor (Rad-score) for aligned feature/clinical rows."""
    if model["kind"] == "learner":  # logit of the learner's probability on the standardised features
        X = _design(model["terms"], feats, clin, scores)
        p = np.clip(_estimator(model).predict_proba(X)[:, 1], 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))
    if model["kind"] == "ensemble":
        lps = [linear_predictor(m, feats, clin, scores) for m in model["members"]]
        if model["link"] == "logistic":
            p = np.mean([1 / (1 + np.exp(-lp)) for lp in lps], axis=0)
            return np.log(p / (1 - p))
        return np.mean(lps, axis=0)
    lp = np.full(len(feats) if len(feats) else len(clin), float(model["intercept"]))
    for term in model["terms"]:
        lp = lp + term["coef"] * _term_values(term, feats, clin, scores)
    return lp


def probability(model: dict, lp: np.ndarray) -> np.ndarray | None:
    return 1 / (1 + np.exp(-lp)) if model["link"] == "logistic" else None


def formula(model: dict, digits: int = 4) -> str:
    """Human-readable Rad-score formula on standardised inputs, z(x) = (x − centre) / scale."""
    if model["kind"] == "ensemble":
        return "mean probability of: " + "; ".join(m["name"] for m in model["members"])
    if model["kind"] == "learner":
        return f"{LEARNER_LABELS[model['learner']]} on z(" + "), z(".join(t["label"] for t in model["terms"]) + ")"
    parts = [f"{model['intercept']:.{digits}f}"]
    for t in model["terms"]:
        sign = "+" if t["coef"] >= 0 else "−"
        parts.append(f"{sign} {abs(t['coef']):.{digits}f} × z({t['label']})")
    return " ".join(parts)


# --------------------------------------------------------------------------- fitting helpers
def _term(source: str, name: str, x: np.ndarray, **extra) -> dict:
    med = float(np.nanmedian(x)) if np.isfinite(x).any() else 0.0
    xi = np.where(np.isfinite(x), x, med)
    sd = float(xi.std())
    return {"source": source, "name": name, "label": extra.pop("label", name), "impute": med,
            "center": float(xi.mean()), "scale": sd if sd > 1e-12 else 1.0, "coef": 0.0, **extra}


def _design(terms: list[dict], feats, clin, scores) -> np.ndarray:
    return np.column_stack([_term_values(t, feats, clin, scores) for t in terms])


def clinical_terms(covariates: list[str], clin: pd.DataFrame) -> list[dict]:
    """Numeric columns as is; text/categorical columns as indicators (first level = reference)."""
    terms = []
    for col in covariates:
        num = pd.to_numeric(clin[col], errors="coerce")
        if num.notna().sum() >= 0.9 * clin[col].notna().sum() and clin[col].nunique() > 2:
            terms.append(_term("clinical", col, num.to_numpy(float), column=col))
            continue
        levels = sorted(clin[col].dropna().astype(str).unique())
        for lev in levels[1:]:
            x = (clin[col].astype(str) == lev).to_numpy(float)
            terms.append(_term("clinical", f"{col}={lev}", x, column=col, level=lev, levels=levels))
    return terms


def _fit_glm(X: np.ndarray, target, ep: EndpointSpec, penalty: float = 1e-4) -> tuple[float, np.ndarray]:
    if ep.type == "binary":
        from sklearn.linear_model import LogisticRegression

        m = LogisticRegression(C=1.0 / penalty, max_iter=5000).fit(X, target)
        return float(m.intercept_[0]), m.coef_[0]
    from sksurv.linear_model import CoxPHSurvivalAnalysis

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = CoxPHSurvivalAnalysis(alpha=max(penalty, 1e-4)).fit(X, target)
    return 0.0, np.asarray(m.coef_)


def _univariate_p(X: np.ndarray, target, ep: EndpointSpec) -> np.ndarray:
    if ep.type == "binary":
        y = np.asarray(target, int)
        return np.asarray(stats.mannwhitneyu(X[y == 1], X[y == 0], axis=0).pvalue, float)  # per column
    c = harrell_c_columns(target["event"], target["time"], X)
    return 1.0 - np.abs(c - 0.5)  # a rank, not a p-value: larger |C − 0.5| first


def harrell_c_columns(event, time, X: np.ndarray, chunk: int = 64) -> np.ndarray:
    """Harrell's C-index of every column of ``X`` at once, with scikit-survival's pair rules.

    Comparable pairs (i, j): i has an event and t_j > t_i, or t_j == t_i and j is censored;
    concordant when x_i > x_j, half a pair when x_i == x_j. Equal to
    ``sksurv.metrics.concordance_index_censored`` column by column (tested), but one pair matrix
    serves all columns: screening 1,000+ features of a table study took seconds per fit, and
    nested CV refits it in every fold.
    """
    event, time = np.asarray(event, bool), np.asarray(time, float)
    X = np.asarray(X, float)
    comparable = event[:, None] & ((time[None, :] > time[:, None])
                                   | ((time[None, :] == time[:, None]) & ~event[None, :]))
    ii, jj = np.nonzero(comparable)
    out = np.full(X.shape[1], np.nan)
    if len(ii) == 0:
        return out
    for start in range(0, X.shape[1], chunk):
        xi, xj = X[ii, start:start + chunk], X[jj, start:start + chunk]
        out[start:start + chunk] = ((xi > xj).sum(axis=0) + 0.5 * (xi == xj).sum(axis=0)) / len(ii)
    return out


def _screen(X: np.ndarray, target, ep: EndpointSpec, thr: float, keep_max: int = 40) -> list[int]:
    p = _univariate_p(X, target, ep)
    order = [i for i in np.argsort(p) if np.isfinite(p[i])]
    if ep.type == "binary":
        order = [i for i in order if p[i] < 0.05] or order[:5]
    rho = np.abs(stats.spearmanr(X).statistic) if X.shape[1] > 1 else np.ones((1, 1))
    rho = np.atleast_2d(rho)
    kept: list[int] = []
    for i in order:
        if all(rho[i, j] <= thr for j in kept):
            kept.append(i)
        if len(kept) >= keep_max:
            break
    return kept


def _lasso(X: np.ndarray, target, ep: EndpointSpec, seed: int) -> tuple[float, np.ndarray]:
    if ep.type == "binary":
        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.model_selection import StratifiedKFold

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # sklearn 1.8+ parameter renames
            m = LogisticRegressionCV(Cs=np.logspace(-2, 1, 20), penalty="l1", solver="liblinear",
                                     cv=StratifiedKFold(5, shuffle=True, random_state=seed),
                                     scoring="roc_auc", max_iter=5000, random_state=seed).fit(X, target)
        return float(m.intercept_[0]), m.coef_[0]
    return _coxnet_cv(X, target, seed)


def _coxnet_cv(X: np.ndarray, target, seed: int) -> tuple[float, np.ndarray]:
    from sklearn.model_selection import KFold
    from sksurv.linear_model import CoxnetSurvivalAnalysis
    from sksurv.metrics import concordance_index_censored

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = CoxnetSurvivalAnalysis(l1_ratio=1.0, alpha_min_ratio=0.02, n_alphas=30).fit(X, target)
        alphas = full.alphas_
        score = np.zeros(len(alphas))
        for tr, va in KFold(5, shuffle=True, random_state=seed).split(X):
            m = CoxnetSurvivalAnalysis(l1_ratio=1.0, alphas=alphas).fit(X[tr], target[tr])
            for k in range(len(alphas)):
                risk = X[va] @ m.coef_[:, k]
                if np.ptp(risk) > 0:
                    score[k] += concordance_index_censored(target["event"][va], target["time"][va], risk)[0]
    return 0.0, full.coef_[:, int(np.argmax(score))]


# --------------------------------------------------------------------------- model kinds
def fit_radiomics(spec: ModelSpec, ep: EndpointSpec, feats: pd.DataFrame, target, *,
                  modalities: list[str], seed: int) -> dict:
    """Screen → de-correlate → LASSO (logistic or Cox) → Rad-score, on training rows only."""
    cols = [c for c in feats.columns if not modalities or c.split("_", 1)[0] in modalities]
    frac_ok = feats[cols].notna().mean()
    cols = [c for c in cols if frac_ok[c] >= 0.8]
    terms = [_term("feature", c, feats[c].to_numpy(float)) for c in cols]
    terms = [t for t in terms if t["scale"] != 1.0 or feats[t["name"]].std() > 0]
    if not terms:
        raise StatisticsError(f"model {spec.name!r}: no usable feature (all constant or missing)")
    X = _design(terms, feats, None, {})
    keep = _screen(X, target, ep, spec.correlation_threshold)
    if spec.score == "pca":
        return _pca_score(spec, ep, X, terms, keep, target)
    _, coef = _lasso(X[:, keep], target, ep, seed)
    nz = [k for k in np.argsort(-np.abs(coef)) if coef[k] != 0][: spec.max_features] or [0]
    chosen = [keep[k] for k in nz]
    # LASSO selects; a weakly penalised refit on the selected features gives the Rad-score
    # (un-shrunk coefficients and a proper intercept, so probabilities are calibrated).
    intercept, sub = _fit_glm(X[:, chosen], target, ep, penalty=0.5)
    out_terms = []
    for idx, c in zip(chosen, sub, strict=False):
        out_terms.append({**terms[idx], "coef": float(c)})
    return {"name": spec.name, "kind": "radiomics", "link": _link(ep), "intercept": float(intercept),
            "terms": out_terms, "n_candidates": len(terms), "n_screened": len(keep)}


def _pca_score(spec: ModelSpec, ep: EndpointSpec, X: np.ndarray, terms: list[dict], keep: list[int],
               target) -> dict:
    """Composite score = first principal component of the screened features (training only),
    signed to rise with the endpoint, then calibrated by a one-variable logistic / Cox fit."""
    chosen = keep[: spec.max_features]
    Z = X[:, chosen]
    _, _, vt = np.linalg.svd(Z - Z.mean(axis=0), full_matrices=False)
    load = vt[0]
    pc1 = Z @ load
    ref = target if ep.type == "binary" else -target["time"] * target["event"]
    if stats.spearmanr(pc1, ref).statistic < 0:
        load, pc1 = -load, -pc1
    intercept, slope = _fit_glm(pc1[:, None], target, ep, penalty=0.5)
    out_terms = [{**terms[i], "coef": float(slope[0] * w)} for i, w in zip(chosen, load, strict=True)]
    return {"name": spec.name, "kind": "radiomics", "link": _link(ep), "intercept": float(intercept),
            "terms": out_terms, "n_candidates": len(terms), "n_screened": len(keep),
            "score": "pca", "pc1_loadings": {terms[i]["name"]: float(w) for i, w in zip(chosen, load, strict=True)},
            "pc1_slope": float(slope[0])}


def fit_linear(spec: ModelSpec, ep: EndpointSpec, feats, clin: pd.DataFrame, target,
               scores: dict) -> dict:
    """Clinical or combined model (nomogram): weakly penalised GLM / Cox on its terms."""
    terms = [_term("model", n, np.asarray(scores[n], float), label=f"Rad-score {n}")
             for n in spec.include]
    terms += clinical_terms(spec.covariates, clin)
    X = _design(terms, feats, clin, scores)
    intercept, coef = _fit_glm(X, target, ep)
    return {"name": spec.name, "kind": spec.kind, "link": _link(ep), "intercept": intercept,
            "terms": [{**t, "coef": float(c)} for t, c in zip(terms, coef, strict=False)]}


LEARNER_LABELS = {"logistic": "logistic regression", "svm": "SVM (RBF, Platt-scaled)",
                  "rf": "random forest", "gb": "gradient boosting"}


def fit_ensemble(spec: ModelSpec, ep: EndpointSpec, feats, target, *, modalities: list[str],
                 seed: int) -> dict:
    """Soft vote of one radiomics signature per modality, or of ``spec.learners`` (see
    :func:`fit_learner_ensemble`)."""
    if spec.learners:
        return fit_learner_ensemble(spec, ep, feats, target, modalities=modalities, seed=seed)
    members = []
    for mod in modalities:
        sub = spec.model_copy(update={"name": f"{spec.name}_{mod}"})
        members.append(fit_radiomics(sub, ep, feats, target, modalities=[mod], seed=seed))
    return {"name": spec.name, "kind": "ensemble", "link": _link(ep), "members": members}


def fit_learner_ensemble(spec: ModelSpec, ep: EndpointSpec, feats, target, *, modalities: list[str],
                         seed: int) -> dict:
    """Soft vote of different learners (:func:`radsig.models.make_ensemble`) on training rows only.

    The features are those a radiomics signature of this spec selects on the training cohort
    (screen → de-correlate → LASSO with its CV, up to ``max_features``), imputed and standardised
    with training statistics; every learner is fitted on them. Each fitted member is frozen as its
    own ``learner`` model (a :func:`radsig.models.model_document`), and the ensemble probability is
    the mean of the members' probabilities — exactly scikit-learn's soft vote.
    """
    from radsig.models import make_ensemble, model_document

    if ep.type != "binary":
        raise StatisticsError(f"model {spec.name!r}: learners need a binary endpoint, {ep.name!r} is {ep.type}")
    sig = fit_radiomics(spec, ep, feats, target, modalities=modalities, seed=seed)
    terms = [{**t, "coef": 0.0} for t in sig["terms"]]
    X = _design(terms, feats, None, {})
    y = np.asarray(target, int)
    vote = make_ensemble("soft_voting", members=tuple(spec.learners), random_state=seed).fit(X, y)
    names = [f"f{i}" for i in range(len(terms))]
    members = []
    for learner in spec.learners:
        est = vote.named_estimators_[learner]
        doc = model_document(est, metadata={"study_model": spec.name, "learner": learner, "features": names})
        members.append({"name": f"{spec.name}_{learner}", "kind": "learner", "learner": learner, "member_of": spec.name,
                        "link": "logistic", "terms": terms, "estimator": doc})
    return {"name": spec.name, "kind": "ensemble", "link": "logistic", "members": members,
            "learners": list(spec.learners), "n_candidates": sig["n_candidates"],
            "n_screened": sig["n_screened"]}


def _link(ep: EndpointSpec) -> str:
    return "logistic" if ep.type == "binary" else "cox"


def learner_members(frozen: dict) -> list[dict]:
    """The ``learner`` members of an ensemble of learners (empty for any other model)."""
    return [m for m in frozen.get("members", []) if m["kind"] == "learner"] if frozen["kind"] == "ensemble" else []


def evaluated_models(frozen: list[dict]) -> list[dict]:
    """Every model that gets metrics: the frozen models, each followed by its learner members."""
    return [m for f in frozen for m in (f, *learner_members(f))]


def model_features(model: dict) -> list[str]:
    """Image features a frozen model needs."""
    if model["kind"] == "learner":
        return [t["name"] for t in model["terms"]]
    if model["kind"] == "ensemble":
        return sorted({f for m in model["members"] for f in model_features(m)})
    return [t["name"] for t in model["terms"] if t["source"] == "feature"]


def model_columns(model: dict) -> list[str]:
    """Clinical columns a frozen model needs."""
    if model["kind"] == "learner":
        return []
    if model["kind"] == "ensemble":
        return sorted({c for m in model["members"] for c in model_columns(m)})
    return sorted({t["column"] for t in model["terms"] if t["source"] == "clinical"})
