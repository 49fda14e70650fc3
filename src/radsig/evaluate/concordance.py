"""Survival discrimination: concordance index (Harrell, Uno) and time-dependent AUC, with CIs.

Point estimates are scikit-survival's (``concordance_index_censored``,
``concordance_index_ipcw``, ``cumulative_dynamic_auc``). Neither gives a standard error, so the
C-index variance is computed here by the infinitesimal jackknife over the same comparable pairs
(the approach of R's ``survival::concordance``), and the time-dependent AUC gets a bootstrap.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sksurv.metrics import (
    concordance_index_censored,
    concordance_index_ipcw,
    cumulative_dynamic_auc,
)
from sksurv.nonparametric import CensoringDistributionEstimator

from radsig.evaluate._bootstrap import check_n_boot, make_rng, percentile_interval
from radsig.evaluate._results import Estimate, ResultTable
from radsig.evaluate._validate import as_1d, check_level, check_survival, same_length
from radsig.exceptions import StatisticsError

__all__ = ["concordance_index", "time_dependent_auc"]

_CHUNK = 512


def _pair_influence(time, event, risk, weight, tol: float = 1e-8) -> tuple[float, np.ndarray]:
    """C-index and its per-subject infinitesimal-jackknife influence.

    A pair (i, j) is comparable when i had an event and ``t_j > t_i`` (or ``t_j == t_i`` with j
    censored), as in scikit-survival; it scores 1 if ``risk_i > risk_j``, 1/2 on a risk tie.
    Pair weight is ``weight[i]`` (1 for Harrell, ``1/G(t_i)^2`` for Uno).
    """
    n = time.size
    num_k, den_k = np.zeros(n), np.zeros(n)
    for start in range(0, n, _CHUNK):
        rows = slice(start, min(start + _CHUNK, n))
        ti, ei, ri, wi = time[rows, None], event[rows, None], risk[rows, None], weight[rows, None]
        comp = ei & ((time[None, :] > ti) | ((time[None, :] == ti) & ~event[None, :]))
        diff = ri - risk[None, :]
        score = np.where(np.abs(diff) <= tol, 0.5, (diff > 0).astype(float))
        a = comp * score * wi
        b = comp * wi
        num_k[rows] += a.sum(axis=1)
        den_k[rows] += b.sum(axis=1)
        num_k += a.sum(axis=0)
        den_k += b.sum(axis=0)
    total_num, total_den = num_k.sum() / 2, den_k.sum() / 2
    if total_den == 0:
        raise StatisticsError("no comparable pairs (every patient censored before the first "
                              "event, or all events after tau); the C-index is undefined.")
    c = total_num / total_den
    return float(c), (num_k - c * den_k) / total_den


def concordance_index(time, event, risk, *, method: str = "harrell", tau: float | None = None,
                      level: float = 0.95) -> Estimate:
    """Concordance index of a risk score with a CI (infinitesimal-jackknife standard error).

    Parameters
    ----------
    time, event : array-like of shape (n_samples,)
    risk : array-like of shape (n_samples,)
        Higher = higher risk (shorter survival); pass ``-predicted_survival_time`` otherwise.
    method : {"harrell", "uno"}
        Harrell's C, or Uno's IPCW C (censoring weights from the same data) truncated at
        ``tau``.
    tau : float, optional
        Truncation time for Uno's C (events after ``tau`` are not compared). Choose it so that
        some patients remain in follow-up at ``tau``.
    level : float

    Returns
    -------
    Estimate
        ``estimate, ci_low, ci_high, se``; ``details``: ``concordant, discordant, tied_risk``.
        For Uno's C the standard error treats the censoring weights as fixed.
    """
    y = check_survival(time, event)
    r = as_1d(risk, "risk")
    same_length(time=y, risk=r)
    level = check_level(level)
    t, e = y["time"], y["event"]
    if np.ptp(r) == 0:
        raise StatisticsError(f"risk is constant ({r[0]!r} for all {r.size} observations); a "
                              "constant score cannot discriminate. Check the model output.")
    # the C-index depends on the ranks only; scikit-survival counts risks within 1e-8 as tied,
    # so a risk in small units (e.g. × 1e-9) would become all ties: compare ranks instead
    r = stats.rankdata(r)
    if method == "harrell":
        c, con, dis, tied, _ = concordance_index_censored(e, t, r)
        w = np.ones(t.size)
    elif method == "uno":
        if tau is not None and tau <= t[e].min():
            raise StatisticsError(f"tau={tau} is before the first event ({t[e].min():g}); "
                                  "choose a later truncation time.")
        keep = t < tau if tau is not None else np.ones(t.size, bool)
        try:
            c, con, dis, tied, _ = concordance_index_ipcw(y, y, r, tau=tau)
            # censoring weights only where scikit-survival uses them (t < tau); a patient
            # followed to the end has G(t) = 0 and no weight
            w = np.zeros(t.size)
            w[keep] = CensoringDistributionEstimator().fit(y).predict_ipcw(y[keep]) ** 2
        except ValueError as err:
            where = f"tau={tau:g}" if tau is not None else "tau (not given)"
            raise StatisticsError(f"{where}: Uno's C-index needs patients still under follow-up "
                                  f"after every event it compares ({err}); set tau below the "
                                  f"last follow-up time ({t.max():g}).") from None
    else:
        raise StatisticsError(f"method must be 'harrell' or 'uno', got {method!r}.")
    c_check, infl = _pair_influence(t, e, r, w)
    se = float(np.sqrt(np.sum(infl ** 2)))
    z = stats.norm.ppf(0.5 + level / 2)
    return Estimate(f"C-index ({method.capitalize()})", float(c), max(0.0, c - z * se),
                    min(1.0, c + z * se), t.size, f"{method}-ij", level, se,
                    {"concordant": int(con), "discordant": int(dis), "tied_risk": int(tied),
                     "tau": tau, "n_events": int(e.sum())})


def _td_auc_once(y, r, times) -> np.ndarray:
    return cumulative_dynamic_auc(y, y, r, times)[0]


def _censoring_survival(time, event, weights) -> tuple[np.ndarray, np.ndarray]:
    """Reverse Kaplan–Meier G(u) at every unique time, for each row of bootstrap ``weights``
    (B, n) at once (same convention as scikit-survival: at a tie, events precede censoring)."""
    uniq, inv = np.unique(time, return_inverse=True)
    b = weights.shape[0]
    count, deaths = np.zeros((b, uniq.size)), np.zeros((b, uniq.size))
    np.add.at(count.T, inv, weights.T)
    np.add.at(deaths.T, inv, (weights * event[None, :]).T)
    at_risk = np.cumsum(count[:, ::-1], axis=1)[:, ::-1]
    cens = count - deaths
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cens > 0, cens / (at_risk - deaths), 0.0)
    return np.cumprod(1.0 - ratio, axis=1), inv


def _td_auc_boot(time, event, risk, grid, idx) -> np.ndarray:
    """Cumulative/dynamic AUC for every bootstrap row of ``idx`` at every time of ``grid``.

    Vectorised over resamples (a loop of scikit-survival calls takes seconds): bootstrap
    counts become weights, the censoring distribution is refitted per row, and the IPCW
    Mann–Whitney sum is taken over risk-sorted tie groups with cumulative sums.
    """
    n = time.size
    w = np.zeros((idx.shape[0], n))
    np.add.at(w, (np.repeat(np.arange(idx.shape[0]), n), idx.ravel()), 1.0)
    g, inv = _censoring_survival(time, event.astype(float), w)
    g_at = g[:, inv]
    ipcw = np.where(event[None, :], 1.0 / np.where(g_at > 0, g_at, 1.0), 0.0)
    bad_row = ((g_at == 0) & event[None, :] & (w > 0))
    order = np.argsort(risk, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(risk[order]) > 1e-8])
    out = np.full((idx.shape[0], grid.size), np.nan)
    for k, t in enumerate(grid):
        case = (time <= t) & event
        c = np.where(case[None, :], w * ipcw, 0.0)[:, order]
        d = (w * (time > t)[None, :])[:, order]
        cg, dg = np.add.reduceat(c, starts, axis=1), np.add.reduceat(d, starts, axis=1)
        below = np.cumsum(dg, axis=1) - dg
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = (cg * (below + 0.5 * dg)).sum(axis=1) / (cg.sum(axis=1) * dg.sum(axis=1))
        auc[(bad_row & case[None, :]).any(axis=1)] = np.nan
        out[:, k] = auc
    return out


def time_dependent_auc(time, event, risk, times, *, level: float = 0.95, n_boot: int = 1000,
                       seed: int | np.random.Generator | None = None) -> ResultTable:
    """Cumulative/dynamic time-dependent AUC (IPCW, Uno 2007) at each of ``times`` with
    percentile-bootstrap CIs.

    Cases at t: event at or before t; controls: still event-free after t. Censoring weights are
    estimated by Kaplan–Meier on the same data (scikit-survival ``cumulative_dynamic_auc``).

    Parameters
    ----------
    time, event, risk : array-like of shape (n_samples,)
    times : sequence of float
        Evaluation times, inside the follow-up range (after the first event, before the last
        follow-up).
    n_boot : int
        Bootstrap resamples (each refits the censoring distribution; vectorised).

    Returns
    -------
    ResultTable
        Index ``time``; columns ``estimate, ci_low, ci_high, p_value, n, cases, controls``;
        ``details['mean_auc']`` is the integrated AUC over ``times``.
    """
    y = check_survival(time, event)
    r = as_1d(risk, "risk")
    same_length(time=y, risk=r)
    level = check_level(level)
    grid = np.sort(as_1d(times, "times"))
    t, e = y["time"], y["event"]
    if grid[0] < t[e].min() or grid[-1] >= t.max():
        raise StatisticsError(f"times must lie within follow-up: from the first event "
                              f"({t[e].min():g}) to before the last follow-up time ({t.max():g}); "
                              f"got [{grid[0]:g}, {grid[-1]:g}].")
    if np.ptp(r) == 0:
        raise StatisticsError("risk is constant; a constant score cannot discriminate.")
    r = stats.rankdata(r)  # AUC depends on ranks only; no 1e-8 tie tolerance on small-unit risks
    try:
        auc, mean_auc = cumulative_dynamic_auc(y, y, r, grid)
    except ValueError as err:
        raise StatisticsError(f"times {grid.tolist()[:5]}: scikit-survival's cumulative/dynamic "
                              f"AUC cannot be computed there ({err}); choose times with cases "
                              "(events before) and controls (follow-up after).") from None
    idx = make_rng(seed).integers(0, t.size, size=(check_n_boot(n_boot), t.size))
    reps = _td_auc_boot(t, e, r, grid, idx)  # NaN where a resample has no case or control
    lo, hi = percentile_interval(reps, level)
    table = pd.DataFrame({"estimate": auc, "ci_low": lo, "ci_high": hi, "p_value": np.nan,
                          "n": t.size, "cases": [int(((t <= s) & e).sum()) for s in grid],
                          "controls": [int((t > s).sum()) for s in grid]},
                         index=pd.Index(grid, name="time"))
    return ResultTable("time-dependent AUC", table, "cumulative-dynamic-ipcw, bootstrap", level,
                       {"mean_auc": float(mean_auc), "n_boot": int(n_boot)})
