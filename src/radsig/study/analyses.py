"""Extra analyses of frozen model scores (the study file's ``analyses:``), run after evaluation.

Each analysis runs in every cohort that holds the columns / expression table it needs and returns
rows with ``estimate, ci_low, ci_high`` (and ``p_value``) so every number in ``results.json`` has a
confidence interval. Statistics come from :mod:`radsig.evaluate`; risk groups use the model's
training cut-off, never one chosen on the cohort being analysed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from radsig.config.analyses import AnalysisSpec
from radsig.exceptions import RadsigError, StatisticsError

TITLES = {"correlation": "Correlation of {model} with {what}",
          "response_by_group": "{endpoint} rate by {model} group (training cut-off)",
          "odds_ratio": "Odds ratio of {endpoint} per SD of {model}",
          "cox": "Cox model of {endpoint}: {model} per SD and covariates",
          "group_difference": "{what} by {model} group (Mann–Whitney; estimate = P(high > low))"}


def _ci(est, lo, hi, p=np.nan, **extra) -> dict:
    return {"estimate": float(est), "ci_low": float(lo), "ci_high": float(hi), "p_value": float(p), **extra}


def _expression(run, spec: AnalysisSpec, cohort: str) -> pd.DataFrame | None:
    if spec.expression is None:
        return None
    path = run.study.path(type(spec.expression)(str(spec.expression).format(cohort=cohort)))
    if not path.is_file():
        return None
    expr = pd.read_csv(path, index_col=0)
    return expr.T  # patients × genes


def _values(run, spec: AnalysisSpec, cohort: str) -> pd.DataFrame:
    clin = run.data[cohort].clinical
    cols = [c for c in spec.columns if c in clin.columns]
    table = clin[cols].apply(pd.to_numeric, errors="coerce")
    expr = _expression(run, spec, cohort)
    if expr is not None:
        expr.index = expr.index.astype(str)
        table = table.join(expr.reindex(table.index), how="left")
    return table


def _bh(p: np.ndarray) -> np.ndarray:
    from scipy.stats import false_discovery_control

    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = false_discovery_control(p[ok])
    return q


def _correlation(run, spec, cohort, score, high) -> list[dict]:
    from radsig.evaluate import correlation

    rows = []
    for col, x in _values(run, spec, cohort).items():
        ok = np.isfinite(x.to_numpy(float)) & np.isfinite(score)
        if ok.sum() < 8 or np.ptp(x.to_numpy(float)[ok]) == 0:
            continue
        r = correlation(score[ok], x.to_numpy(float)[ok], method=spec.method)
        rows.append({"variable": col, **_ci(r.estimate, r.ci_low, r.ci_high, r.p_value), "n": int(ok.sum())})
    q = _bh(np.array([r["p_value"] for r in rows]))
    return [{**r, "q_value": float(v)} for r, v in zip(rows, q, strict=True)]


def _group_difference(run, spec, cohort, score, high) -> list[dict]:
    from radsig.evaluate import mann_whitney

    rows = []
    for col, x in _values(run, spec, cohort).items():
        v = x.to_numpy(float)
        ok = np.isfinite(v)
        if ok.sum() < 8 or high[ok].all() or not high[ok].any():
            continue
        r = mann_whitney(v[ok], np.where(high[ok], "high", "low"))
        med = r.details["medians"]
        # radsig.evaluate gives P(second sorted label > first) = P(low > high); report P(high > low)
        rows.append({"variable": col, **_ci(1 - r.estimate, 1 - r.ci_high, 1 - r.ci_low, r.p_value),
                     "median_high": med[0], "median_low": med[1], "n": int(ok.sum())})
    q = _bh(np.array([r["p_value"] for r in rows]))
    return [{**r, "q_value": float(v)} for r, v in zip(rows, q, strict=True)]


def _response_by_group(run, spec, cohort, score, high) -> list[dict]:
    from radsig.evaluate import odds_ratio, response_by_group
    from radsig.study.data import binary_target

    y = binary_target(run.data[cohort].clinical, run.study.endpoint(spec.endpoint)).to_numpy(float)
    ok = np.isfinite(y)
    if len(np.unique(y[ok])) < 2 or high[ok].all() or not high[ok].any():
        return []
    res = response_by_group(y[ok].astype(int), np.where(high[ok], "high", "low"))
    orr = odds_ratio(high[ok].astype(int), y[ok].astype(int), kind="sample")
    rows = [{"variable": f"{spec.endpoint} rate, {g} group", **_ci(t["rate"], t["ci_low"], t["ci_high"]),
             "n": int(t["n"]), "events": int(t["responders"])} for g, t in res.details["table"].iterrows()]
    rows.append({"variable": f"{res.method} test (df={res.df:g})" if res.method == "chi2" else "Fisher exact test",
                 "estimate": float(res.statistic), "ci_low": None, "ci_high": None,
                 "p_value": float(res.p_value), "n": int(ok.sum())})
    table = np.asarray(orr.details["table"], float)
    if (table == 0).any():  # Haldane–Anscombe: +0.5 per cell keeps a zero cell's OR finite (Woolf CI)
        est, lo, hi = _haldane(table)
        rows.append({"variable": "odds ratio, high vs low (Haldane +0.5)", **_ci(est, lo, hi, orr.p_value),
                     "n": int(ok.sum())})
    else:
        rows.append({"variable": "odds ratio, high vs low", **_ci(orr.estimate, orr.ci_low, orr.ci_high,
                                                                  orr.p_value), "n": int(ok.sum())})
    return rows


def _haldane(table: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Odds ratio of a 2×2 table with 0.5 added to every cell, and its Woolf (log) CI.

    Written out because scipy's ``odds_ratio`` returns an infinite estimate for a zero cell."""
    from scipy.stats import norm

    t = table + 0.5
    log_or = np.log(t[0, 0] * t[1, 1] / (t[0, 1] * t[1, 0]))
    se = np.sqrt((1.0 / t).sum())
    z = norm.ppf(0.5 + level / 2)
    return float(np.exp(log_or)), float(np.exp(log_or - z * se)), float(np.exp(log_or + z * se))


def _design(run, spec, cohort, score) -> pd.DataFrame:
    from radsig.study.modelling import clinical_terms

    clin = run.data[cohort].clinical
    sd = float(np.nanstd(score)) or 1.0
    X = pd.DataFrame({f"{spec.model} (per SD)": score / sd}, index=clin.index)
    tr = run.data[run.study.training.name].clinical
    for t in clinical_terms(spec.covariates, tr):  # coding (levels) from the training cohort
        col = clin[t["column"]]
        X[t["label"]] = ((col.astype(str) == t["level"]).astype(float) if "level" in t
                         else pd.to_numeric(col, errors="coerce"))
    return X


def _odds_ratio(run, spec, cohort, score, high) -> list[dict]:
    import statsmodels.api as sm

    from radsig.study.data import binary_target

    y = binary_target(run.data[cohort].clinical, run.study.endpoint(spec.endpoint))
    X = _design(run, spec, cohort, score)
    ok = y.notna().to_numpy() & X.notna().all(axis=1).to_numpy()
    if len(np.unique(y[ok])) < 2:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.Logit(y[ok].to_numpy(float), sm.add_constant(X[ok].to_numpy(float))).fit(disp=0)
    ci = np.asarray(fit.conf_int())
    return [{"variable": name, **_ci(np.exp(fit.params[k + 1]), np.exp(ci[k + 1, 0]), np.exp(ci[k + 1, 1]),
                                     fit.pvalues[k + 1]), "n": int(ok.sum())} for k, name in enumerate(X.columns)]


def _cox(run, spec, cohort, score, high) -> list[dict]:
    from radsig.evaluate import cox_hazard_ratios
    from radsig.study.evaluation import surv_arrays

    t, e = surv_arrays(run.data[cohort].clinical, run.study.endpoint(spec.endpoint))
    X = _design(run, spec, cohort, score)
    ok = np.isfinite(t) & np.isfinite(e) & (t > 0) & X.notna().all(axis=1).to_numpy()
    if e[ok].sum() < 3:
        return []
    tab = cox_hazard_ratios(X[ok], t[ok], e[ok]).table
    return [{"variable": str(i), **_ci(r["estimate"], r["ci_low"], r["ci_high"], r["p_value"]), "n": int(ok.sum())}
            for i, r in tab.iterrows()]


RUNNERS = {"correlation": _correlation, "group_difference": _group_difference,
           "response_by_group": _response_by_group, "odds_ratio": _odds_ratio, "cox": _cox}


def run_analyses(run) -> list[dict]:
    """Every analysis of the study file in every cohort → JSON-able list for ``results.json``."""
    frozen = {m["name"]: m for m in run.frozen}
    out = []
    for spec in run.study.analyses:
        cut = frozen[spec.model]["cutoff"]["value"]
        what = ", ".join(spec.columns + (["expression genes"] if spec.expression else []))
        entry = {"name": spec.name, "kind": spec.kind, "model": spec.model, "endpoint": spec.endpoint,
                 "title": spec.title or TITLES[spec.kind].format(model=spec.model, endpoint=spec.endpoint,
                                                                what=what),
                 "cohorts": {}}
        for cohort in run.data:
            score = np.asarray(run.scores[cohort][spec.model], float)
            try:
                rows = RUNNERS[spec.kind](run, spec, cohort, score, score > cut)
            except (RadsigError, StatisticsError, np.linalg.LinAlgError, ValueError) as err:
                entry.setdefault("skipped", {})[cohort] = str(err)
                continue
            if rows:
                entry["cohorts"][cohort] = rows
        out.append(entry)
    return out


def report_rows(analyses: list[dict]) -> list[dict]:
    """Analyses as formatted tables for the HTML report."""
    from radsig.report.html import _ci as fmt_ci
    from radsig.report.tables import format_p

    labels = {"correlation": "r (95% CI)", "group_difference": "P(high > low) (95% CI)",
              "response_by_group": "rate / statistic / OR (95% CI)", "odds_ratio": "OR (95% CI)",
              "cox": "HR (95% CI)"}
    tables = []
    for a in analyses:
        est = labels[a["kind"]]
        rows = []
        for cohort, items in a["cohorts"].items():
            for r in items:
                rows.append({"cohort": cohort, "variable": r["variable"], "n": r.get("n", ""),
                             est: fmt_ci(r, 3 if a["kind"] == "correlation" else 2),
                             "p": format_p(r.get("p_value")) if r.get("p_value") is not None else "—",
                             "q (BH)": format_p(r["q_value"]) if "q_value" in r else ""})
        tables.append({"name": a["name"], "title": a["title"], "rows": rows,
                       "columns": ["cohort", "variable", "n", est, "p", "q (BH)"]})
    return tables
