"""Clinical utility: decision curves (net benefit) and clinical impact curves.

Net benefit at threshold probability ``pt`` (Vickers & Elkin 2006):
``NB = TP/n − FP/n · pt/(1 − pt)``. For a time-to-event endpoint the true-positive rate is
``P(event by horizon | high risk) · P(high risk)`` with the conditional probability taken from a
Kaplan–Meier fit among the high-risk patients (Vickers et al. 2008), as the ``dcurves`` package
does. Written here because ``dcurves`` is a test-only dependency, works on column names of one
DataFrame and refits lifelines once per threshold (slow); here all thresholds are computed at
once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from radsig.evaluate._validate import as_1d, check_binary, check_prob, check_survival, same_length
from radsig.exceptions import StatisticsError

__all__ = ["decision_curve", "DecisionCurve", "clinical_impact_curve"]


@dataclass(frozen=True, eq=False)
class DecisionCurve:
    """Net benefit of the model, treat-all and treat-none over threshold probabilities.

    ``table`` columns: ``threshold, test_pos_rate, tp_rate, fp_rate, net_benefit,
    net_benefit_all, net_benefit_none, net_interventions_avoided`` (per 100 patients).
    """

    table: pd.DataFrame
    prevalence: float
    n: int
    horizon: float | None = None

    @property
    def summary(self) -> pd.DataFrame:
        return self.table.copy()


def _km_risk_by_mask(time: np.ndarray, event: np.ndarray, masks: np.ndarray,
                     horizon: float) -> np.ndarray:
    """1 − Kaplan–Meier survival at ``horizon`` within each row-subset of ``masks`` (K, n).

    Vectorised over the K subsets (one lifelines fit per threshold takes seconds for a full
    curve). A subset whose follow-up ends before ``horizon`` gives NaN, an empty one 0 (as
    dcurves).
    """
    uniq, inv = np.unique(time, return_inverse=True)
    w = masks.astype(float)
    at_time = np.zeros((masks.shape[0], uniq.size))
    deaths = np.zeros_like(at_time)
    np.add.at(at_time.T, inv, w.T)
    np.add.at(deaths.T, inv, (w * event[None, :]).T)
    at_risk = np.cumsum(at_time[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(at_risk > 0, 1 - deaths / at_risk, 1.0)
    factor[:, uniq > horizon] = 1.0
    risk = 1 - np.prod(factor, axis=1)
    last = np.where(masks, time[None, :], -np.inf).max(axis=1)
    risk[last < horizon] = np.nan
    risk[~masks.any(axis=1)] = 0.0
    return risk


def _rates(y, prob: np.ndarray, thresholds: np.ndarray, horizon: float | None):
    """Test-positive, true-positive and false-positive rates and the prevalence."""
    high = prob[None, :] >= thresholds[:, None]
    pos_rate = high.mean(axis=1)
    if horizon is None:
        prevalence = y.mean()
        tp = (high & (y[None, :] == 1)).sum(axis=1) / y.size
        fp = (high & (y[None, :] == 0)).sum(axis=1) / y.size
        return pos_rate, tp, fp, prevalence
    t, e = y["time"], y["event"].astype(float)
    prevalence = float(_km_risk_by_mask(t, e, np.ones((1, t.size), bool), horizon)[0])
    risk = _km_risk_by_mask(t, e, high, horizon)
    return pos_rate, risk * pos_rate, (1 - risk) * pos_rate, prevalence


def decision_curve(y, prob, thresholds=None, *, horizon: float | None = None,
                   harm: float = 0.0) -> DecisionCurve:
    """Decision-curve analysis for a binary or time-to-event endpoint.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or structured survival array
        Binary outcome (1 = event), or a scikit-survival structured array
        (``Surv.from_arrays(event, time)``) for a time-to-event endpoint (needs ``horizon``).
    prob : array-like of shape (n_samples,)
        Predicted probability of the event (by ``horizon`` for survival).
    thresholds : array-like, optional
        Threshold probabilities in [0, 1); default 0, 0.01, …, 0.99.
    horizon : float, optional
        Time point of a time-to-event endpoint.
    harm : float
        Harm of the test, subtracted from the model's net benefit.

    Returns
    -------
    DecisionCurve
    """
    pp = check_prob(prob)
    th = np.round(np.arange(0, 1, 0.01), 2) if thresholds is None else as_1d(thresholds,
                                                                             "thresholds")
    if th.min() < 0 or th.max() >= 1:
        raise StatisticsError(f"thresholds must lie in [0, 1), got range [{th.min():g}, "
                              f"{th.max():g}].")
    arr = np.asarray(y)
    if arr.dtype.names:
        if horizon is None:
            raise StatisticsError("a time-to-event decision curve needs horizon= (the time point "
                                  "the predicted probabilities refer to).")
        yy = check_survival(arr[arr.dtype.names[1]], arr[arr.dtype.names[0]])
    else:
        if horizon is not None:
            raise StatisticsError("horizon= is only for a survival y (structured array "
                                  "from sksurv.util.Surv.from_arrays).")
        yy = check_binary(arr)
    same_length(y=yy, prob=pp)
    odds = th / (1 - th)
    pos, tp, fp, prev = _rates(yy, pp, th, horizon)
    nb = tp - odds * fp - harm
    nb_all = prev - odds * (1 - prev)
    with np.errstate(divide="ignore", invalid="ignore"):
        avoided = np.where(th > 0, (nb - nb_all) / odds * 100, np.nan)
    table = pd.DataFrame({"threshold": th, "test_pos_rate": pos, "tp_rate": tp, "fp_rate": fp,
                          "net_benefit": nb, "net_benefit_all": nb_all, "net_benefit_none": 0.0,
                          "net_interventions_avoided": avoided})
    return DecisionCurve(table, float(prev), int(pp.size), horizon)


def clinical_impact_curve(y, prob, thresholds=None, *, horizon: float | None = None,
                          population: int = 1000) -> pd.DataFrame:
    """Clinical impact curve: of ``population`` patients, how many the model calls high risk and
    how many of those have the event, at each threshold probability.

    Returns
    -------
    DataFrame
        Columns ``threshold, n_high_risk, n_high_risk_with_event``.
    """
    dc = decision_curve(y, prob, thresholds, horizon=horizon)
    t = dc.table
    return pd.DataFrame({"threshold": t["threshold"],
                         "n_high_risk": t["test_pos_rate"] * population,
                         "n_high_risk_with_event": t["tp_rate"] * population})
