"""Evaluate frozen models on every cohort: one dict per (model, cohort) for ``results.json``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from radsig.config.study import EndpointSpec, StudySpec
from radsig.exceptions import StatisticsError
from radsig.study import stats
from radsig.study.data import binary_target


def surv_arrays(clin: pd.DataFrame, ep: EndpointSpec) -> tuple[np.ndarray, np.ndarray]:
    t = pd.to_numeric(clin[ep.time], errors="coerce").to_numpy(float)
    e = pd.to_numeric(clin[ep.event], errors="coerce").to_numpy(float)
    return t, e


def target_for(clin: pd.DataFrame, ep: EndpointSpec):
    """(target for fitting, mask of rows with a usable endpoint)."""
    if ep.type == "binary":
        y = binary_target(clin, ep).to_numpy(float)
        ok = np.isfinite(y)
        return y[ok].astype(int), ok
    from sksurv.util import Surv

    t, e = surv_arrays(clin, ep)
    ok = np.isfinite(t) & np.isfinite(e) & (t > 0)
    return Surv.from_arrays(e[ok].astype(bool), t[ok]), ok


def evaluate_binary(y: np.ndarray, lp: np.ndarray, prob: np.ndarray | None, *, n_boot: int,
                    seed: int) -> tuple[dict, dict]:
    """Metrics and curves of a binary-endpoint score in one cohort."""
    from sklearn.metrics import roc_curve

    metrics = {"auc": stats.auc_ci(y, lp)}
    fpr, tpr, _ = roc_curve(y, lp)
    curves = {"roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist()}}
    if prob is not None:
        cal = stats.calibration(y, prob, n_boot=min(n_boot, 100), seed=seed)
        if cal["calibration_slope"] is not None:  # undefined when the scores separate y (e.g. a forest on its training set)
            metrics["calibration_slope"] = cal["calibration_slope"]
        metrics["brier"] = cal["brier"]
        metrics["observed_expected"] = cal["observed_expected"]
        curves["calibration"] = cal["curve"]
        curves["dca"] = stats.decision_curve(y, prob)
    return metrics, curves


def evaluate_survival(t, e, lp, *, train: tuple, horizons, n_boot: int, seed: int) -> tuple[dict, dict]:
    """C-index, HR per SD of the score and time-dependent AUC at the horizons."""
    metrics = {"c_index": stats.concordance_index(t, e, lp, n_boot=n_boot, seed=seed)}
    sd = float(np.std(lp)) or 1.0
    metrics["hr_per_sd"] = stats.hazard_ratio(t, e, lp / sd)
    tdauc = stats.time_dependent_auc(train[0], train[1], t, e, lp, horizons)
    for h, v in tdauc.items():
        metrics[f"td_auc_{h}"] = v
    return metrics, {"td_auc": {h: v["estimate"] for h, v in tdauc.items()}}


def risk_group_analysis(t, e, high: np.ndarray) -> tuple[dict, dict]:
    """KM by group, log-rank test and HR of the high-score group vs the low-score group."""
    metrics: dict = {}
    curves: dict = {"km": {}}
    ticks = np.linspace(0, np.max(t), 5)
    for name, g in (("low", ~high), ("high", high)):
        if g.sum() >= 2:
            curves["km"][name] = stats.kaplan_meier(t[g], e[g], ticks)
            curves["km"][name]["n"] = int(g.sum())
    if high.any() and (~high).any():
        lr = stats.logrank(t, e, high.astype(int))
        metrics["logrank"] = lr
        metrics["hr_high_vs_low"] = stats.hazard_ratio(t, e, high.astype(float))
    return metrics, curves


def cutoff_for(spec_cutoff: str, lp_train: np.ndarray, target, ep: EndpointSpec,
               surv: tuple | None) -> tuple[float, str]:
    """Risk-group cut-off on the training Rad-score (never on validation data)."""
    if spec_cutoff == "maxstat" and surv is not None:
        return stats.maxstat_cutoff(surv[0], surv[1], surv[2]), "maxstat (training, log-rank)"
    if spec_cutoff == "youden" and ep.type == "binary":
        from sklearn.metrics import roc_curve

        fpr, tpr, thr = roc_curve(target, lp_train)
        k = int(np.argmax(tpr - fpr))
        return float(thr[k]), "Youden index (training)"
    return float(np.median(lp_train)), "median (training)"


def comparisons(study: StudySpec, scores: dict, cohorts: dict, targets: dict) -> list[dict]:
    """DeLong tests (binary) between model pairs in every cohort where both were scored."""
    out = []
    for a, b in study.comparisons:
        ep_a, ep_b = study.model(a).endpoint, study.model(b).endpoint
        if ep_a != ep_b or study.endpoint(ep_a).type != "binary":
            continue
        for c in cohorts:
            y, ok = targets[(c, ep_a)]
            try:
                res = stats.delong_test(y, scores[c][a][ok], scores[c][b][ok])
            except StatisticsError as err:  # e.g. both models rank every patient identically
                res = {"estimate": None, "ci_low": None, "ci_high": None, "statistic": None,
                       "p_value": None, "note": str(err)}
            out.append({"test": "DeLong", "model_a": a, "model_b": b, "cohort": c,
                        "endpoint": ep_a, "metric": "auc_difference", **res})
    return out
