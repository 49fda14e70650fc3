"""Nomogram figure: one points scale per predictor, total points, predicted risk scales.

Points follow the usual construction: each predictor's contribution ``coef_j * x_j`` over its
training range is mapped to 0–100 points relative to the predictor with the widest contribution
range; the sum of points maps linearly back to the linear predictor, which is shown as predicted
probability (logistic) or as survival probability at given times (Cox).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NomogramScales:
    """Geometry of a nomogram (all that the figure draws, testable without a figure)."""

    predictors: list[str]
    ranges: np.ndarray  # (n, 2) training min / max
    coef: np.ndarray
    points_per_unit: np.ndarray  # points per unit of each predictor (signed)
    lp_at_zero_points: float  # linear predictor when every predictor sits at 0 points
    lp_per_point: float
    max_total: float

    def points(self, values: np.ndarray) -> np.ndarray:
        """Points of each predictor for raw ``values`` of shape (..., n_predictors)."""
        lo = np.where(self.coef >= 0, self.ranges[:, 0], self.ranges[:, 1])
        return (np.asarray(values, float) - lo) * self.points_per_unit

    def linear_predictor(self, total_points: np.ndarray) -> np.ndarray:
        """Linear predictor for total points."""
        return self.lp_at_zero_points + np.asarray(total_points, float) * self.lp_per_point

    def total_for_lp(self, lp: np.ndarray) -> np.ndarray:
        """Total points for a linear predictor."""
        return (np.asarray(lp, float) - self.lp_at_zero_points) / self.lp_per_point


def nomogram_scales(model) -> NomogramScales:
    """Points geometry of a fitted :class:`radsig.models.Nomogram`."""
    coef = np.asarray(model.coef_, float)
    ranges = np.asarray(model.ranges_, float)
    span = np.abs(coef) * (ranges[:, 1] - ranges[:, 0])
    widest = float(span.max()) if span.max() > 0 else 1.0
    lo = np.where(coef >= 0, ranges[:, 0], ranges[:, 1])
    return NomogramScales(list(model.predictors_), ranges, coef, coef * 100.0 / widest,
                          float(model.intercept_ + np.sum(coef * lo)), widest / 100.0,
                          float(np.sum(span) * 100.0 / widest))


def _axis(ax, y, label, pos, ticks, fmt="{:g}", extent=None):
    lo, hi = extent if extent is not None else (min(pos), max(pos))
    ax.plot([lo, hi], [y, y], color="black", lw=1)
    for p, t in zip(pos, ticks, strict=True):
        ax.plot([p, p], [y, y + 0.12], color="black", lw=1)
        ax.text(p, y + 0.18, fmt.format(t), ha="center", va="bottom", fontsize=7)
    ax.text(-3, y, label, ha="right", va="center", fontsize=8)


def plot_nomogram(model, *, times=None, time_labels=None, probabilities=None, ax=None):
    """Draw the nomogram of a fitted logistic or Cox :class:`~radsig.models.Nomogram`.

    Parameters
    ----------
    model : fitted Nomogram
    times : sequence of float, optional
        Cox only: times (training unit) of the survival scales, e.g. ``(365, 1095, 1825)``.
    time_labels : sequence of str, optional
        Labels of those scales, e.g. ``("1-year", "3-year", "5-year")``.
    probabilities : sequence of float, optional
        Tick values on the probability scales (default 0.1 … 0.9).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    sc = nomogram_scales(model)
    probs = np.asarray(probabilities if probabilities is not None else
                       [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95])
    n_out = 1 if model.task_ == "binary" else len(times or ())
    rows = 2 + len(sc.predictors) + n_out
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.6 * rows + 0.8))
    y = rows
    _axis(ax, y, "Points", np.arange(0, 101, 10), np.arange(0, 101, 10))
    for j, name in enumerate(sc.predictors):
        y -= 1
        length = abs(sc.points_per_unit[j]) * (sc.ranges[j, 1] - sc.ranges[j, 0])
        ticks = MaxNLocator(int(np.clip(length // 8, 1, 6))).tick_values(*sc.ranges[j])
        ticks = ticks[(ticks >= sc.ranges[j, 0]) & (ticks <= sc.ranges[j, 1])]
        vals = np.zeros((len(ticks) + 2, len(sc.predictors)))
        vals[:] = np.where(sc.coef >= 0, sc.ranges[:, 0], sc.ranges[:, 1])
        vals[:, j] = np.r_[ticks, sc.ranges[j]]
        pts = sc.points(vals)[:, j]
        _axis(ax, y, name, pts[:-2], ticks, extent=(pts[-2:].min(), pts[-2:].max()))
    y -= 1
    scale = 100.0 / sc.max_total
    tot_ticks = MaxNLocator(8).tick_values(0, sc.max_total)
    tot_ticks = tot_ticks[tot_ticks <= sc.max_total]
    _axis(ax, y, "Total points", tot_ticks * scale, tot_ticks)
    for k in range(n_out):
        y -= 1
        if model.task_ == "binary":
            lp, label = np.log(probs / (1 - probs)), "Predicted probability"
        else:
            h0 = model.survival_at(np.zeros(1), [times[k]])[0, 0]
            h0 = -np.log(h0)
            lp = np.log(-np.log(probs) / h0) if h0 > 0 else np.full(len(probs), np.nan)
            label = (time_labels[k] if time_labels else f"t={times[k]:g}") + " survival"
        pos = sc.total_for_lp(lp) * scale
        ok = np.isfinite(pos) & (pos >= 0) & (pos <= 100)
        if ok.any():
            _axis(ax, y, label, pos[ok], probs[ok])
    ax.set_xlim(-40, 105)
    ax.set_ylim(y - 0.5, rows + 0.8)
    ax.axis("off")
    return ax.figure
