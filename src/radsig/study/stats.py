"""Statistics the study reports, behind one seam (``radsig.evaluate`` first, stand-ins otherwise).

Each function returns plain dicts ``{estimate, ci_low, ci_high[, statistic, p_value]}`` so the
results file does not depend on which implementation ran. ``radsig.evaluate`` is used where it
provides the function; otherwise these stand-ins use scikit-learn, scikit-survival and lifelines,
and DeLong's method for AUC variance (written out here because scikit-learn has no AUC variance).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats


def _evaluate():
    """``radsig.evaluate`` when installed (the project's tested statistics), else None."""
    try:
        import radsig.evaluate as ev
    except ImportError:  # pragma: no cover - the module ships with radsig
        return None
    return ev if hasattr(ev, "auc_ci") else None


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


def _midrank(x: np.ndarray) -> np.ndarray:
    return stats.rankdata(x, method="average")


def _delong_parts(y: np.ndarray, scores: np.ndarray):
    """DeLong structural components for k score vectors (rows of ``scores``)."""
    pos, neg = scores[:, y == 1], scores[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    aucs, v10, v01 = [], [], []
    for k in range(scores.shape[0]):
        r_all = _midrank(np.concatenate([pos[k], neg[k]]))
        r_pos, r_neg = _midrank(pos[k]), _midrank(neg[k])
        aucs.append((r_all[:m].sum() - m * (m + 1) / 2) / (m * n))
        v10.append((r_all[:m] - r_pos) / n)
        v01.append(1.0 - (r_all[m:] - r_neg) / m)
    v10, v01 = np.array(v10), np.array(v01)
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return np.array(aucs), cov


def auc_ci(y, score, level: float = 0.95) -> dict:
    """AUC with a DeLong confidence interval (clipped to [0, 1])."""
    ev = _evaluate()
    if ev is not None:
        return _from(ev.auc_ci(y, score, method="delong", level=level))
    y, score = np.asarray(y, int), np.asarray(score, float)
    auc, cov = _delong_parts(y, score[None, :])
    se = float(np.sqrt(max(cov[0, 0], 0.0)))
    z = stats.norm.ppf(0.5 + level / 2)
    return _res(auc[0], max(0.0, auc[0] - z * se), min(1.0, auc[0] + z * se), se=se)


def delong_test(y, score_a, score_b, level: float = 0.95) -> dict:
    """Difference AUC(a) − AUC(b) on the same patients, with DeLong's test."""
    ev = _evaluate()
    if ev is not None:
        return _from(ev.delong_test(y, score_a, score_b, level=level))
    y = np.asarray(y, int)
    aucs, cov = _delong_parts(y, np.vstack([np.asarray(score_a, float), np.asarray(score_b, float)]))
    diff = aucs[0] - aucs[1]
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    se = float(np.sqrt(max(var, 1e-300)))
    zval = diff / se
    z = stats.norm.ppf(0.5 + level / 2)
    return _res(diff, diff - z * se, diff + z * se, statistic=zval, p_value=2 * stats.norm.sf(abs(zval)))


def _bootstrap(fn, arrays, n_boot: int, seed: int, level: float = 0.95,
               stratify=None) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    n = len(arrays[0])
    vals = []
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        try:
            v = fn(*(a[idx] for a in arrays))
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError):
            continue
        if np.isfinite(v):
            vals.append(v)
    if len(vals) < 10:
        return np.nan, np.nan
    a = (1 - level) / 2
    return float(np.quantile(vals, a)), float(np.quantile(vals, 1 - a))


def _slope(y, p) -> float:
    """Slope of logistic recalibration y ~ a + b·logit(p), by Newton–Raphson (2 parameters)."""
    y = np.asarray(y, float)
    if y.min() == y.max():
        return np.nan
    lp = np.log(np.clip(p, 1e-9, 1 - 1e-9) / np.clip(1 - p, 1e-9, 1))
    X = np.column_stack([np.ones_like(lp), lp])
    beta = np.zeros(2)
    for _ in range(50):
        mu = 1 / (1 + np.exp(-np.clip(X @ beta, -30, 30)))
        hess = X.T @ (X * (mu * (1 - mu))[:, None]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hess, X.T @ (y - mu))
        beta += step
        if np.abs(step).max() < 1e-8:
            break
    return float(beta[1])


def calibration(y, prob, *, n_boot: int = 200, seed: int = 0, n_bins: int = 5) -> dict:
    """Calibration slope (logistic recalibration), observed/expected ratio, Brier score, curve."""
    y, prob = np.asarray(y, int), np.asarray(prob, float)
    slope = _slope(y, prob)
    lo, hi = _bootstrap(_slope, (y, prob), n_boot, seed)
    brier = float(np.mean((prob - y) ** 2))
    b_lo, b_hi = _bootstrap(lambda a, b: float(np.mean((b - a) ** 2)), (y, prob), n_boot, seed)
    oe = float(y.mean() / max(prob.mean(), 1e-12))
    edges = np.unique(np.quantile(prob, np.linspace(0, 1, n_bins + 1)))
    bins = np.clip(np.searchsorted(edges, prob, side="right") - 1, 0, len(edges) - 2)
    curve = [(float(prob[bins == b].mean()), float(y[bins == b].mean()), int((bins == b).sum()))
             for b in range(len(edges) - 1) if (bins == b).any()]
    return {"calibration_slope": _res(slope, lo, hi), "brier": _res(brier, b_lo, b_hi),
            "observed_expected": _res(oe), "curve": curve}


def decision_curve(y, prob, thresholds=None) -> dict:
    """Net benefit of the model, treat-all and treat-none over threshold probabilities."""
    y, prob = np.asarray(y, int), np.asarray(prob, float)
    t = np.linspace(0.01, 0.8, 80) if thresholds is None else np.asarray(thresholds, float)
    n, prev = len(y), y.mean()
    nb = [((prob >= th) & (y == 1)).sum() / n - ((prob >= th) & (y == 0)).sum() / n * th / (1 - th)
          for th in t]
    all_ = prev - (1 - prev) * t / (1 - t)
    return {"threshold": t.tolist(), "model": [float(v) for v in nb], "treat_all": all_.tolist()}


def _cindex(time, event, risk) -> float:
    from lifelines.utils import concordance_index as _ci

    return float(_ci(time, -risk, event.astype(bool)))  # lifelines: higher score = longer survival


def concordance_index(time, event, risk, *, n_boot: int = 200, seed: int = 0) -> dict:
    """Harrell's C-index (higher risk ↔ shorter time) with a CI (jackknife, or bootstrap stand-in)."""
    ev = _evaluate()
    if ev is not None:
        return _from(ev.concordance_index(time, event, risk))
    time, event, risk = (np.asarray(a, float) for a in (time, event, risk))
    est = _cindex(time, event, risk)
    lo, hi = _bootstrap(_cindex, (time, event, risk), n_boot, seed)
    return _res(est, lo, hi)


def logrank(time, event, group) -> dict:
    """Log-rank test between risk groups."""
    ev = _evaluate()
    if ev is not None:
        r = ev.logrank_test(np.asarray(time, float), np.asarray(event, int), np.asarray(group))
        return _res(r.statistic, statistic=r.statistic, p_value=r.p_value)
    from lifelines.statistics import multivariate_logrank_test

    r = multivariate_logrank_test(np.asarray(time, float), np.asarray(group), np.asarray(event, int))
    return _res(r.test_statistic, statistic=r.test_statistic, p_value=r.p_value)


def hazard_ratio(time, event, covariate) -> dict:
    """Cox hazard ratio per unit of ``covariate`` (or high vs low group), Wald CI and p."""
    import pandas as pd
    from lifelines import CoxPHFitter

    df = pd.DataFrame({"t": np.asarray(time, float), "e": np.asarray(event, int),
                       "x": np.asarray(covariate, float)})
    from lifelines.exceptions import ConvergenceError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cph = CoxPHFitter().fit(df, "t", "e")
        except ConvergenceError:  # e.g. no event in one group (monotone likelihood): small ridge
            cph = CoxPHFitter(penalizer=0.1).fit(df, "t", "e")
    s = cph.summary.loc["x"]
    return _res(s["exp(coef)"], s["exp(coef) lower 95%"], s["exp(coef) upper 95%"],
                statistic=s["z"], p_value=s["p"])


def time_dependent_auc(train_time, train_event, time, event, risk, horizons) -> dict:
    """Cumulative/dynamic AUC at each horizon (IPCW, censoring from the training cohort)."""
    from sksurv.metrics import cumulative_dynamic_auc
    from sksurv.util import Surv

    ev = _evaluate()
    if ev is not None:
        return _td_auc_evaluate(ev, time, event, risk, horizons)
    tr = Surv.from_arrays(np.asarray(train_event, bool), np.asarray(train_time, float))
    te = Surv.from_arrays(np.asarray(event, bool), np.asarray(time, float))
    out = {}
    max_t = min(np.max(np.asarray(train_time)[np.asarray(train_event, bool)]),
                np.max(np.asarray(time, float)))
    for h in horizons:
        if not (np.min(time) < h < max_t) or not ((np.asarray(time) <= h) & (np.asarray(event) == 1)).any():
            continue
        try:
            auc, _ = cumulative_dynamic_auc(tr, te, np.asarray(risk, float), [h])
        except ValueError:
            continue
        out[f"{h:g}"] = {"estimate": float(auc[0]), "ci_low": None, "ci_high": None}
    return out


def _td_auc_evaluate(ev, time, event, risk, horizons) -> dict:
    from radsig.exceptions import StatisticsError

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
    from lifelines import KaplanMeierFitter

    kmf = KaplanMeierFitter().fit(np.asarray(time, float), np.asarray(event, int))
    ci = kmf.confidence_interval_survival_function_
    time = np.asarray(time, float)
    ticks = np.linspace(0, time.max(), 5) if at_risk_times is None else np.asarray(at_risk_times)
    return {"time": kmf.timeline.tolist(), "survival": kmf.survival_function_.iloc[:, 0].tolist(),
            "ci_low": ci.iloc[:, 0].tolist(), "ci_high": ci.iloc[:, 1].tolist(),
            "median": float(kmf.median_survival_time_),
            "at_risk_times": ticks.tolist(), "at_risk": [int((time >= x).sum()) for x in ticks]}


def maxstat_cutoff(time, event, score, min_prop: float = 0.2) -> float:
    """Cut-off maximising the log-rank statistic over the central quantiles of ``score``."""
    score = np.asarray(score, float)
    cands = np.unique(np.quantile(score, np.linspace(min_prop, 1 - min_prop, 41)))
    best, best_stat = float(np.median(score)), -np.inf
    for c in cands:
        g = score > c
        if g.all() or not g.any():
            continue
        st = logrank(time, event, g.astype(int))["statistic"]
        if st > best_stat:
            best, best_stat = float(c), st
    return best
