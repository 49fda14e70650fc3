"""Internal validation inside the study file (``validation:``) and published numbers (``published:``).

``split``: one seeded, stratified split of the training cohort; the held-out part becomes the
internal-validation cohort ``<training>_split`` and the models are fitted on the rest, so every
later step (scoring, metrics, DeLong, risk groups, Table 1) treats it as any other cohort.

``nested_cv``: repeated stratified K-fold on the training cohort. In each outer fold the whole
model chain of the study — feature screening, de-correlation, LASSO with its inner CV (the tuning),
the refit, nomograms on Rad-scores, risk-group cut-offs — is fitted by
:func:`radsig.study.runner.fit_models` on the training folds only and scored on the held-out fold.
Discrimination (AUC or C-index) is computed per outer fold; the estimate is the mean over the
K × R folds and its CI uses the corrected resampled t statistic of Nadeau & Bengio (2003), whose
variance term ``(1/(K·R) + n_test/n_train) · s²`` accounts for the overlap of training folds
(the plain standard error of fold means is far too narrow). Curves, calibration, decision curves
and Kaplan–Meier risk groups use the pooled out-of-fold predictions (each patient's linear
predictor averaged over repeats; risk group = high in at least half of the repeats).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from radsig.study import evaluation as ev
from radsig.study import modelling as mdl
from radsig.study.data import CohortData, binary_target


def _strata(study, clin: pd.DataFrame) -> np.ndarray:
    """Stratification label: the first model's binary endpoint, or its survival event indicator."""
    ep = study.endpoint(study.models[0].endpoint)
    if ep.type == "binary":
        y = binary_target(clin, ep).to_numpy(float)
    else:
        y = pd.to_numeric(clin[ep.event], errors="coerce").to_numpy(float)
    return np.where(np.isfinite(y), y, -1).astype(int)


# --------------------------------------------------------------------------- split
def split_training(run) -> None:
    """Move a seeded (stratified) ``fraction`` of the training cohort into ``<training>_split``."""
    from sklearn.model_selection import train_test_split

    st, v = run.study, run.study.validation
    tr = st.training.name
    cd, feats = run.data[tr], run.features[tr]
    idx = np.arange(len(cd.clinical))
    keep, held = train_test_split(idx, test_size=v.fraction, random_state=st.seed,
                                  stratify=_strata(st, cd.clinical) if v.stratify else None)
    keep, held = np.sort(keep), np.sort(held)
    name = f"{tr}_split"
    held_ids = cd.clinical.index[held]
    idc = st.id_column
    part = CohortData(name, "internal", cd.manifest[cd.manifest[idc].isin(held_ids)], cd.clinical.iloc[held],
                      None if cd.features is None else cd.features.loc[cd.features.index.intersection(held_ids)],
                      cd.provenance)
    cd.clinical = cd.clinical.iloc[keep]
    data, features = {}, {}
    for n, c in run.data.items():
        data[n], features[n] = c, run.features[n]
        if n == tr:
            data[name], features[name] = part, feats.iloc[held]
    features[tr] = feats.iloc[keep]
    run.data, run.features = data, features
    run.failures[name] = run.failures[tr].iloc[0:0]
    flow = run.flow[tr]
    run.flow[tr] = {**flow, "analysed": len(keep)}
    run.flow[name] = {"role": "internal", "clinical_rows": len(held), "with_images": len(held),
                      "extraction_failed": 0, "analysed": len(held)}
    run.flow = {n: run.flow[n] for n in data}
    how = "stratified by the first model's endpoint, " if v.stratify else ""
    run.results["validation"] = {
        "method": "split", "fraction": v.fraction, "stratify": v.stratify, "seed": st.seed,
        "training_cohort": tr, "internal_cohort": name, "n_training": len(keep), "n_internal": len(held),
        "description": (f"Internal validation: one random split of cohort {tr!r} ({how}seed {st.seed}): "
                        f"{len(keep)} patients to fit the models ({tr!r} in the tables: apparent performance), "
                        f"{len(held)} ({v.fraction:.0%}) held out as cohort {name!r}, never used for fitting."),
    }


# --------------------------------------------------------------------------- nested CV
def _fold_metric(ep, clin: pd.DataFrame, lp: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score
    from sksurv.metrics import concordance_index_censored

    target, ok = ev.target_for(clin, ep)
    if ep.type == "binary":
        return float(roc_auc_score(target, lp[ok])) if len(np.unique(target)) == 2 else np.nan
    if not target["event"].any():
        return np.nan
    return float(concordance_index_censored(target["event"], target["time"], lp[ok])[0])


def corrected_cv_interval(values, folds: int, level: float = 0.95) -> dict:
    """Mean of per-fold metrics with the Nadeau–Bengio corrected resampled t interval (clipped to [0, 1])."""
    vals = np.asarray([x for x in values if np.isfinite(x)], float)
    j = len(vals)
    mean = float(vals.mean()) if j else float("nan")
    if j < 2:
        return {"estimate": mean, "ci_low": None, "ci_high": None, "n_folds": j}
    se = float(np.sqrt((1.0 / j + 1.0 / (folds - 1)) * vals.var(ddof=1)))
    half = float(sps.t.ppf(0.5 + level / 2, j - 1)) * se
    return {"estimate": mean, "ci_low": max(0.0, mean - half), "ci_high": min(1.0, mean + half),
            "se": se, "n_folds": j, "method": "mean over outer folds; corrected resampled t (Nadeau–Bengio)"}


def _score_all(frozen: list[dict], feats, clin) -> dict[str, np.ndarray]:
    scores: dict[str, np.ndarray] = {}
    for f in frozen:
        scores[f["name"]] = mdl.linear_predictor(f, feats, clin, scores)
        for m in mdl.learner_members(f):
            scores[m["name"]] = mdl.linear_predictor(m, feats, clin, scores)
    return scores


def nested_cv(run, progress=None) -> None:
    """Repeated stratified K-fold with every model refitted in each outer fold; metrics go to
    ``results.models.<model>.cohorts.<training>_cv`` and curves to ``run.curves``."""
    from sklearn.model_selection import StratifiedKFold

    from radsig.study.runner import fit_models

    st, v = run.study, run.study.validation
    tr = st.training.name
    feats, clin = run.features[tr], run.data[tr].clinical
    n, name = len(clin), f"{tr}_cv"
    strata = _strata(st, clin)
    names = [m["name"] for m in mdl.evaluated_models(run.frozen)]
    oof = {m: np.full((v.repeats, n), np.nan) for m in names}
    high = {m: np.zeros((v.repeats, n)) for m in names}
    per_fold: dict[str, list[float]] = {m: [] for m in names}
    total = v.repeats * v.folds
    for r in range(v.repeats):
        cv = StratifiedKFold(v.folds, shuffle=True, random_state=st.seed + r)
        for k, (a, b) in enumerate(cv.split(np.zeros(n), strata)):
            frozen = fit_models(st, feats.iloc[a], clin.iloc[a])  # training folds only
            scores = _score_all(frozen, feats.iloc[b], clin.iloc[b])
            for f in mdl.evaluated_models(frozen):
                lp = scores[f["name"]]
                oof[f["name"]][r, b] = lp
                high[f["name"]][r, b] = lp > f["cutoff"]["value"]
                per_fold[f["name"]].append(_fold_metric(st.endpoint(f["endpoint"]), clin.iloc[b], lp))
            if progress:
                progress("nested CV", r * v.folds + k + 1, total)
    for f in mdl.evaluated_models(run.frozen):
        m = f["name"]
        met, cur = _pooled_metrics(run, f, clin, oof[m].mean(axis=0), high[m].mean(axis=0) >= 0.5)
        key = "auc" if st.endpoint(f["endpoint"]).type == "binary" else "c_index"
        if key in met:
            met[f"{key}_pooled"] = met[key]
        met[key] = {**corrected_cv_interval(per_fold[m], v.folds), "folds": per_fold[m]}
        met["n"] = {"estimate": int(ev.target_for(clin, st.endpoint(f["endpoint"]))[1].sum()),
                    "ci_low": None, "ci_high": None}
        run.results["models"][m]["cohorts"][name] = met
        run.curves.setdefault(m, {})[name] = cur
    run.results["validation"] = {
        "method": "nested_cv", "folds": v.folds, "repeats": v.repeats, "seed": st.seed,
        "training_cohort": tr, "cv_cohorts": [name], "n": n,
        "description": (f"Internal validation: nested cross-validation on cohort {tr!r} (n = {n}): "
                        f"{v.folds}-fold stratified CV repeated {v.repeats} times (seeds {st.seed}…"
                        f"{st.seed + v.repeats - 1}); in each outer fold every model — screening, "
                        "de-correlation, LASSO with its inner 5-fold CV, refit, nomogram, cut-off — is "
                        "fitted on the training folds only. Cohort "
                        f"{name!r} in the tables: AUC / C-index = mean over the {total} outer folds with a "
                        "corrected resampled t 95% CI (Nadeau–Bengio); curves, calibration and risk groups "
                        f"from the pooled out-of-fold predictions. {tr!r} in the tables is the apparent "
                        "(resubstitution) performance of the models fitted on all of it."),
    }


def _pooled_metrics(run, frozen: dict, clin: pd.DataFrame, lp: np.ndarray, high: np.ndarray):
    st = run.study
    ep = st.endpoint(frozen["endpoint"])
    target, ok = ev.target_for(clin, ep)
    seed = st.seed + 997
    if ep.type == "binary":
        met, cur = ev.evaluate_binary(target, lp[ok], mdl.probability(frozen, lp[ok]),
                                      n_boot=st.bootstrap, seed=seed)
    else:
        t, e = ev.surv_arrays(clin, ep)
        met, cur = ev.evaluate_survival(target["time"], target["event"].astype(float), lp[ok], train=(t, e),
                                        horizons=ep.horizons, n_boot=min(st.bootstrap, 300), seed=seed)
    for sname in frozen["survival_endpoints"]:
        t, e = ev.surv_arrays(clin, st.endpoint(sname))
        good = np.isfinite(t) & np.isfinite(e)
        m2, c2 = ev.risk_group_analysis(t[good], e[good], high[good])
        met.update({f"{k}_{sname}": val for k, val in m2.items()})
        cur[f"km_{sname}"] = c2["km"]
    return met, cur


# --------------------------------------------------------------------------- published numbers
def published_rows(run) -> list[dict]:
    """Each ``published:`` number beside radsig's own on the same cohort, with the difference."""
    rows = []
    for spec in run.study.models:
        for cohort, p in spec.published.items():
            ours = run.results["models"][spec.name]["cohorts"].get(cohort, {}).get(p.metric)
            est = None if not ours else ours.get("estimate")
            rows.append({
                "model": spec.name, "cohort": cohort, "metric": p.metric, "source": p.source,
                "published": {"estimate": p.estimate, "ci_low": p.ci[0] if p.ci else None,
                              "ci_high": p.ci[1] if p.ci else None},
                "radsig": ours, "difference": None if est is None else est - p.estimate})
    return rows
