"""Reclassification: net reclassification improvement (categorical and continuous) and
integrated discrimination improvement, with asymptotic CIs (Pencina et al. 2008, 2011).

No maintained Python library provides NRI/IDI, hence the few lines here.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from radsig.evaluate._results import TestResult
from radsig.evaluate._validate import as_1d, check_binary, check_level, check_prob, same_length
from radsig.exceptions import StatisticsError

__all__ = ["nri", "idi"]


def _inputs(y, prob_old, prob_new):
    yy = check_binary(y)
    po, pn = check_prob(prob_old, "prob_old"), check_prob(prob_new, "prob_new")
    same_length(y=yy, prob_old=po, prob_new=pn)
    return yy, po, pn


def _moves(old: np.ndarray, new: np.ndarray, cutoffs) -> tuple[np.ndarray, np.ndarray]:
    if cutoffs is None:
        return new > old, new < old
    cuts = np.sort(as_1d(cutoffs, "cutoffs"))
    if cuts.min() <= 0 or cuts.max() >= 1:
        raise StatisticsError(f"cutoffs must lie strictly between 0 and 1, got {cuts.tolist()}.")
    cat_old, cat_new = np.digitize(old, cuts), np.digitize(new, cuts)
    return cat_new > cat_old, cat_new < cat_old


def nri(y, prob_old, prob_new, *, cutoffs=None, level: float = 0.95) -> TestResult:
    """Net reclassification improvement of ``prob_new`` over ``prob_old``.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Binary outcome.
    prob_old, prob_new : array-like of shape (n_samples,)
        Predicted risks of the reference and the new model.
    cutoffs : sequence of float, optional
        Risk-category boundaries (categorical NRI, e.g. ``[0.1, 0.2]``). Without it the
        category-free (continuous) NRI is computed: any increase/decrease counts.

    Returns
    -------
    TestResult
        ``estimate`` = NRI(events) + NRI(non-events), CI from the multinomial variance of each
        part, ``statistic`` = Pencina's z under H0 and its two-sided ``p_value``;
        ``details``: ``nri_events, nri_nonevents`` and their standard errors.
    """
    yy, po, pn = _inputs(y, prob_old, prob_new)
    level = check_level(level)
    up, down = _moves(po, pn, cutoffs)
    parts, var_h1, var_h0 = {}, 0.0, 0.0
    for label, mask, sign in (("events", yy == 1, 1), ("nonevents", yy == 0, -1)):
        n = mask.sum()
        pu, pd_ = up[mask].mean(), down[mask].mean()
        parts[label] = sign * (pu - pd_)
        parts[f"se_{label}"] = float(np.sqrt((pu + pd_ - (pu - pd_) ** 2) / n))
        var_h1 += (pu + pd_ - (pu - pd_) ** 2) / n
        var_h0 += (pu + pd_) / n
    est = parts["events"] + parts["nonevents"]
    se = float(np.sqrt(var_h1))
    z_stat = est / np.sqrt(var_h0) if var_h0 > 0 else 0.0
    zc = stats.norm.ppf(0.5 + level / 2)
    kind = "categorical" if cutoffs is not None else "continuous"
    return TestResult(f"NRI ({kind})", est, est - zc * se, est + zc * se, yy.size,
                      f"nri-{kind}", level, se,
                      {"nri_events": float(parts["events"]),
                       "nri_nonevents": float(parts["nonevents"]),
                       "se_events": parts["se_events"], "se_nonevents": parts["se_nonevents"],
                       "cutoffs": None if cutoffs is None else list(map(float, cutoffs))},
                      p_value=float(2 * stats.norm.sf(abs(z_stat))), statistic=float(z_stat))


def idi(y, prob_old, prob_new, *, level: float = 0.95) -> TestResult:
    """Integrated discrimination improvement: the gain in discrimination slope,
    ``(mean p_new − mean p_old | events) − (mean p_new − mean p_old | non-events)``.

    The standard error combines the variances of the per-patient differences within events and
    non-events (Pencina 2008). ``details`` gives each model's discrimination slope.
    """
    yy, po, pn = _inputs(y, prob_old, prob_new)
    level = check_level(level)
    d = pn - po
    de, dn = d[yy == 1], d[yy == 0]
    est = de.mean() - dn.mean()
    se = float(np.sqrt(de.var(ddof=1) / de.size + dn.var(ddof=1) / dn.size))
    if np.ptp(d) <= 1e-12:
        raise StatisticsError("prob_new equals prob_old shifted by a constant for every patient; "
                              "the IDI has no variance to test.")
    zc = stats.norm.ppf(0.5 + level / 2)
    z = est / se
    slope = {name: float(p[yy == 1].mean() - p[yy == 0].mean())
             for name, p in (("slope_old", po), ("slope_new", pn))}
    return TestResult("IDI", est, est - zc * se, est + zc * se, yy.size, "idi-asymptotic", level,
                      se, slope, p_value=float(2 * stats.norm.sf(abs(z))), statistic=float(z))
