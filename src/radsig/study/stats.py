"""Statistics the study reports: thin adapters from :mod:`radsig.evaluate` to plain dicts.

Each function returns ``{estimate, ci_low, ci_high[, statistic, p_value]}`` (or the curve data
the report draws) so ``results.json`` holds plain numbers; every statistic itself is computed by
``radsig.evaluate``, which is tested against scikit-learn, scikit-survival, lifelines, dcurves
and R.
"""

from __future__ import annotations

import numpy as np

import radsig.evaluate as ev
from radsig.exceptions import StatisticsError


def _from(result, **extra) -> dict:
    out = {"estimate": float(result.estimate), "ci_low": float(result.ci_low),
           "ci_high": float(result.ci_high)}
    for key in ("statistic", "p_value", "se"):
        val = getattr(result, key, None)
        if val is not None and np.isfinite(val):
            out[key] = float(val)
    out.update(extra)
    return out


def _res(est, lo=np.nan, hi=np.nan, **extra) -> dict:
    out = {"estimate": float(est), "ci_low": float(lo), "ci_high": float(hi)}
    out.update({k: float(v) for k, v in extra.items()})
    return out


def auc_ci(y, score, level: float = 0.95) -> dict:
    """AUC with a DeLong confidence interval (clipped to [0, 1]); a cohort with fewer than two
    patients of a class has an AUC but no DeLong interval (NaN limits, ``note`` says why)."""
    try:
        return _from(ev.auc_ci(y, score, method="delong", level=level))
    except StatisticsError as err:
        if "DeLong's variance needs" not in str(err):
            raise
        from sklearn.metrics import roc_auc_score

        return {**_res(roc_auc_score(y, score)), "note": str(err)}


def delong_test(y, score_a, score_b, level: float = 0.95) -> dict:
    """Difference AUC(a) − AUC(b) on the same patients, with DeLong's test."""
    return _from(ev.delong_test(y, score_a, score_b, level=level))


def calibration(y, prob, *, n_boot: int = 200, seed: int = 0, n_bins: int = 5) -> dict:
    """Calibration slope (logistic recalibration, Wald CI), observed/expected ratio, Brier score
    (bootstrap CI) and the binned calibration curve."""
    y, prob = np.asarray(y, int), np.asarray(prob, float)
    try:
        slope = ev.calibration_intercept_slope(y, prob).summary.loc["slope"]
    except StatisticsError:  # perfect separation: the recalibration fit has no finite slope
        slope = None
    brier = ev.brier_score(y, prob, n_boot=n_boot, seed=seed)
    bins = ev.calibration_curve(y, prob, n_bins=n_bins).bins
    curve = [(float(r.predicted), float(r.observed), int(r.n)) for r in bins.itertuples() if r.n > 0]
    return {"calibration_slope": None if slope is None else _res(slope["estimate"], slope["ci_low"], slope["ci_high"]),
            "brier": _from(brier), "observed_expected": _res(y.mean() / max(prob.mean(), 1e-12)),
            "curve": curve}


def decision_curve(y, prob, thresholds=None) -> dict:
    """Net benefit of the model, treat-all and treat-none over threshold probabilities."""
    t = np.linspace(0.01, 0.8, 80) if thresholds is None else np.asarray(thresholds, float)
    table = ev.decision_curve(np.asarray(y, int), np.asarray(prob, float), t).table
    return {"threshold": table["threshold"].tolist(), "model": table["net_benefit"].tolist(),
            "treat_all": table["net_benefit_all"].tolist()}


def concordance_index(time, event, risk, *, n_boot: int = 200, seed: int = 0) -> dict:
    """Harrell's C-index (higher risk ↔ shorter time) with its (infinitesimal-jackknife) CI."""
    return _from(ev.concordance_index(time, event, risk))


def logrank(time, event, group) -> dict:
    """Log-rank test between risk groups."""
    r = ev.logrank_test(np.asarray(time, float), np.asarray(event, int), np.asarray(group))
    return _res(r.statistic, statistic=r.statistic, p_value=r.p_value)


def hazard_ratio(time, event, covariate) -> dict:
    """Cox hazard ratio per unit of ``covariate`` (or high vs low group), Wald CI and p.

    Without an event in one group the likelihood is monotone; a small ridge penalty then keeps
    the estimate finite (and the CI says how little is known).
    """
    X = np.asarray(covariate, float)[:, None]
    time, event = np.asarray(time, float), np.asarray(event, int)
    try:
        row = ev.cox_hazard_ratios(X, time, event).summary.iloc[0]
    except StatisticsError:
        row = ev.cox_hazard_ratios(X, time, event, penalizer=0.1).summary.iloc[0]
    return _res(row["estimate"], row["ci_low"], row["ci_high"], statistic=row["coef"] / row["se"],
                p_value=row["p_value"])


def time_dependent_auc(train_time, train_event, time, event, risk, horizons) -> dict:
    """Cumulative/dynamic AUC (IPCW) with bootstrap CIs at each horizon the data can support."""
    time, event = np.asarray(time, float), np.asarray(event, int)
    ok = [h for h in horizons if (time <= h)[event == 1].any() and (time > h).any()]
    if not ok:
        return {}
    try:
        table = ev.time_dependent_auc(time, event, np.asarray(risk, float), ok, n_boot=200, seed=0).table
    except StatisticsError:
        return {}
    return {f"{h:g}": {"estimate": float(r["estimate"]), "ci_low": float(r["ci_low"]),
                       "ci_high": float(r["ci_high"])} for h, r in table.iterrows()}


def kaplan_meier(time, event, at_risk_times=None) -> dict:
    """Kaplan–Meier curve (step points) with a 95% CI and the median survival."""
    time = np.asarray(time, float)
    km = ev.kaplan_meier(time, np.asarray(event, int))
    curve = km.curves
    ticks = np.linspace(0, time.max(), 5) if at_risk_times is None else np.asarray(at_risk_times)
    return {"time": curve["time"].tolist(), "survival": curve["survival"].tolist(),
            "ci_low": curve["ci_low"].tolist(), "ci_high": curve["ci_high"].tolist(),
            "median": float(km.medians["estimate"].iloc[0]),
            "at_risk_times": ticks.tolist(), "at_risk": [int((time >= x).sum()) for x in ticks]}


def maxstat_cutoff(time, event, score, min_prop: float = 0.2) -> float:
    """Cut-off maximising the log-rank statistic with at least *min_prop* of patients per group."""
    return float(ev.maxstat_cutoff(np.asarray(time, float), np.asarray(event, int),
                                   np.asarray(score, float), minprop=min_prop, pmethod="lausen94").cutoff)
