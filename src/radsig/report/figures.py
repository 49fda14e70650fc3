"""Publication figures for :mod:`radsig.evaluate` results, in one consistent style.

Every function takes result objects (never raw data), draws on a new
:class:`matplotlib.figure.Figure` (no pyplot global state, safe in threads and servers) and returns
it; the report embeds it with ``fig.savefig(buf, format="png"|"svg")``.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator, Mapping, Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from radsig.evaluate import (
    CalibrationCurve,
    DecisionCurve,
    KaplanMeierResult,
    ResultTable,
    RocCurve,
    TestResult,
    number_at_risk,
)

__all__ = ["STYLE", "publication_style", "format_p", "plot_roc", "plot_calibration",
           "plot_decision_curve", "plot_clinical_impact", "plot_kaplan_meier", "plot_td_auc", "plot_forest"]

#: rcParams shared by every radsig figure (colour-blind-safe Okabe–Ito cycle).
STYLE: dict = {
    "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
    "xtick.labelsize": 8, "ytick.labelsize": 8, "axes.spines.top": False,
    "axes.spines.right": False, "axes.linewidth": 0.8, "lines.linewidth": 1.6,
    "legend.frameon": False, "savefig.dpi": 300, "figure.dpi": 100, "savefig.bbox": "tight",
    "axes.prop_cycle": mpl.cycler(color=["#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                         "#E69F00", "#56B4E9", "#F0E442", "#000000"]),
}
_REFERENCE = {"color": "0.55", "linestyle": "--", "linewidth": 0.9}


@contextmanager
def publication_style() -> Iterator[None]:
    """Context in which matplotlib uses radsig's figure style."""
    with mpl.rc_context(STYLE):
        yield


def format_p(p: float) -> str:
    """``p = 0.032``, ``p = 0.32``, ``p < 0.001``."""
    if p is None or not np.isfinite(p):
        return "p = n/a"
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def _named(obj, kind) -> dict:
    return {"": obj} if isinstance(obj, kind) else dict(obj)


def _new(width: float = 3.5, height: float = 3.3, **kw) -> Figure:
    return Figure(figsize=(width, height), layout="constrained", **kw)


def plot_roc(rocs: RocCurve | Mapping[str, RocCurve], *, title: str | None = None,
             band: bool = True) -> Figure:
    """ROC curve(s) with the bootstrap sensitivity band; the legend gives AUC (95 % CI)."""
    with publication_style():
        fig = _new()
        ax = fig.add_subplot()
        for i, (name, roc) in enumerate(_named(rocs, RocCurve).items()):
            color = f"C{i}"
            a = roc.auc
            label = f"{name + ': ' if name else ''}AUC {a.estimate:.2f} " \
                    f"({a.ci_low:.2f}–{a.ci_high:.2f})"
            ax.step(roc.fpr, roc.tpr, where="post", color=color, label=label)
            if band:
                ax.fill_between(roc.fpr_grid, roc.tpr_low, roc.tpr_high, step="post",
                                color=color, alpha=0.18, linewidth=0)
        ax.plot([0, 1], [0, 1], **_REFERENCE)
        ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="1 − Specificity", ylabel="Sensitivity",
               aspect="equal")
        ax.legend(loc="lower right")
        if title:
            ax.set_title(title)
    return fig


def plot_calibration(curves: CalibrationCurve | Mapping[str, CalibrationCurve], *,
                     intercept_slope: ResultTable | None = None,
                     title: str | None = None) -> Figure:
    """Calibration plot: binned observed rate (Wilson CI) and lowess curve against predicted
    probability, with the ideal diagonal; optional intercept/slope annotation."""
    with publication_style():
        fig = _new()
        ax = fig.add_subplot()
        for i, (name, cc) in enumerate(_named(curves, CalibrationCurve).items()):
            b = cc.bins
            ax.errorbar(b["predicted"], b["observed"],
                        yerr=[b["observed"] - b["ci_low"], b["ci_high"] - b["observed"]],
                        fmt="o", ms=3.5, color=f"C{i}", capsize=2, elinewidth=0.8,
                        label=f"{name + ': ' if name else ''}grouped")
            ax.plot(cc.smooth["predicted"], cc.smooth["observed"], color=f"C{i}",
                    label=f"{name + ': ' if name else ''}smoothed")
        ax.plot([0, 1], [0, 1], label="ideal", **_REFERENCE)
        if intercept_slope is not None:
            t = intercept_slope.table
            ax.text(0.03, 0.97, f"intercept {t.loc['intercept', 'estimate']:.2f}\n"
                                f"slope {t.loc['slope', 'estimate']:.2f}",
                    transform=ax.transAxes, va="top", fontsize=8)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="Predicted probability",
               ylabel="Observed proportion", aspect="equal")
        ax.legend(loc="lower right")
        if title:
            ax.set_title(title)
    return fig


def plot_decision_curve(curves: DecisionCurve | Mapping[str, DecisionCurve], *,
                        title: str | None = None, max_threshold: float | None = None) -> Figure:
    """Net benefit against threshold probability for the model(s), treat-all and treat-none."""
    with publication_style():
        fig = _new(4.2, 3.2)
        ax = fig.add_subplot()
        named = _named(curves, DecisionCurve)
        first = next(iter(named.values())).table
        top = 0.0
        for i, (name, dc) in enumerate(named.items()):
            t = dc.table
            ax.plot(t["threshold"], t["net_benefit"], color=f"C{i}", label=name or "Model")
            top = max(top, np.nanmax(t["net_benefit"]))
        ax.plot(first["threshold"], first["net_benefit_all"], color="0.35", linewidth=1.0,
                label="Treat all")
        ax.axhline(0, color="0.0", linewidth=0.8, label="Treat none")
        top = max(top, float(np.nanmax(first["net_benefit_all"])), 0.01)
        ax.set(ylim=(-0.1 * top, 1.1 * top), xlim=(0, max_threshold or first["threshold"].max()),
               xlabel="Threshold probability", ylabel="Net benefit")
        ax.legend(loc="upper right")
        if title:
            ax.set_title(title)
    return fig


def plot_clinical_impact(impact: pd.DataFrame, *, population: int = 1000,
                         title: str | None = None) -> Figure:
    """Clinical impact curve: number called high risk and number of those with the event, per
    ``population`` patients, against threshold probability (from
    :func:`radsig.evaluate.clinical_impact_curve`)."""
    with publication_style():
        fig = _new(4.2, 3.2)
        ax = fig.add_subplot()
        ax.plot(impact["threshold"], impact["n_high_risk"], color="C1",
                label="Number high risk")
        ax.plot(impact["threshold"], impact["n_high_risk_with_event"], color="C0",
                linestyle="--", label="Number high risk with event")
        ax.set(ylim=(0, population * 1.02), xlim=(0, impact["threshold"].max()),
               xlabel="Threshold probability", ylabel=f"Number per {population:,} patients")
        ax.legend(loc="upper right")
        if title:
            ax.set_title(title)
    return fig


def _risk_table(ax, km: KaplanMeierResult, ticks: Sequence[float], colors: dict) -> None:
    counts = number_at_risk(km.time, km.groups, ticks)
    names = list(counts.index)
    for row, name in enumerate(names):
        y = len(names) - 1 - row
        for t, value in zip(ticks, counts.loc[name], strict=True):
            ax.text(t, y, str(int(value)), ha="center", va="center", fontsize=7,
                    color=colors[name])
    ax.set_yticks(range(len(names)), [str(n) for n in reversed(names)], fontsize=7)
    ax.set_ylim(-0.5, len(names) - 0.5)
    ax.set_title("Number at risk", loc="left", fontsize=8)
    ax.tick_params(axis="x", length=0, labelbottom=False)
    ax.tick_params(axis="y", length=0, pad=14)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)


def plot_kaplan_meier(km: KaplanMeierResult, *, logrank: TestResult | None = None,
                      times: Sequence[float] | None = None, xlabel: str = "Time",
                      ylabel: str = "Survival probability", title: str | None = None,
                      ci: bool = True) -> Figure:
    """Kaplan–Meier curves with CI bands, censoring marks, log-rank p and a number-at-risk table
    (one row per group, in a second axes below the curves)."""
    with publication_style():
        n_groups = len(km.group_names)
        fig = _new(4.2, 3.2 + 0.18 * n_groups)
        ax, tab = fig.subplots(2, 1, sharex=True,
                               gridspec_kw={"height_ratios": [4, 0.6 + 0.3 * n_groups]})
        colors = {}
        for i, (name, curve) in enumerate(km.curves.groupby("group", sort=False)):
            colors[name] = color = f"C{i}"
            label = f"{name} (n={int(km.medians.loc[name, 'n'])})"
            ax.step(curve["time"], curve["survival"], where="post", color=color, label=label)
            if ci:
                ax.fill_between(curve["time"], curve["ci_low"], curve["ci_high"], step="post",
                                color=color, alpha=0.15, linewidth=0)
            cens = curve[curve["censored"] > 0]
            ax.plot(cens["time"], cens["survival"], "|", color=color, ms=5, mew=0.8)
        ax.set(ylim=(0, 1.02), ylabel=ylabel)
        ax.set_xlim(left=0)
        if logrank is not None:
            ax.text(0.97, 0.97, f"log-rank {format_p(logrank.p_value)}", transform=ax.transAxes,
                    ha="right", va="top", fontsize=8)
        if n_groups > 1 or km.group_names != ["all"]:
            ax.legend(loc="lower left")
        if title:
            ax.set_title(title)
        ticks = list(times) if times is not None else [
            t for t in ax.get_xticks() if 0 <= t <= km.time.max()]
        ax.set_xticks(ticks)
        _risk_table(tab, km, ticks, colors)
        tab.set_xlabel(xlabel)
        tab.tick_params(axis="x", labelbottom=True)
    return fig


def plot_td_auc(td_auc: ResultTable, *, xlabel: str = "Time", title: str | None = None,
                label: str | None = None) -> Figure:
    """Time-dependent AUC(t) with its pointwise CI band and the 0.5 reference line."""
    with publication_style():
        fig = _new(4.0, 3.0)
        ax = fig.add_subplot()
        t = td_auc.table
        x = t.index.to_numpy(float)
        ax.plot(x, t["estimate"], marker="o", ms=3.5, color="C0", label=label or "AUC(t)")
        ax.fill_between(x, t["ci_low"], t["ci_high"], color="C0", alpha=0.18, linewidth=0)
        ax.axhline(0.5, **_REFERENCE)
        ax.set(ylim=(0.3, 1.0), xlabel=xlabel, ylabel="Time-dependent AUC")
        if "mean_auc" in td_auc.details:
            ax.text(0.03, 0.97, f"integrated AUC {td_auc.details['mean_auc']:.2f}",
                    transform=ax.transAxes, va="top", fontsize=8)
        if title:
            ax.set_title(title)
    return fig


def _log_ticks(ax, low: float, high: float) -> None:
    """Readable ticks (0.5, 1, 2 …) on a log-scaled ratio axis."""
    nice = np.array([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 2,
                     3, 5, 10, 20, 50, 100])
    ticks = nice[(nice >= low) & (nice <= high)]
    while ticks.size > 7:  # thin out, always keeping 1
        keep = np.zeros(ticks.size, bool)
        keep[::2] = True
        keep[ticks == 1] = True
        ticks = ticks[keep]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())


def plot_forest(hazard_ratios: ResultTable | pd.DataFrame, *, title: str | None = None,
                xlabel: str = "Hazard ratio (95% CI)") -> Figure:
    """Forest plot of hazard (or odds) ratios on a log axis, with ``HR (CI)`` and p per row."""
    table = hazard_ratios.table if isinstance(hazard_ratios, ResultTable) else hazard_ratios
    n = len(table)
    with publication_style():
        fig = _new(5.0, 0.6 + 0.32 * max(n, 2))
        ax = fig.add_subplot()
        y = np.arange(n)[::-1]
        est, lo, hi = (table[c].to_numpy(float) for c in ("estimate", "ci_low", "ci_high"))
        ax.errorbar(est, y, xerr=[est - lo, hi - est], fmt="s", ms=4, color="C0",
                    ecolor="C0", capsize=2, elinewidth=1)
        ax.axvline(1.0, **_REFERENCE)
        ax.set_xscale("log")
        _log_ticks(ax, np.nanmin(np.r_[lo, 1.0]), np.nanmax(np.r_[hi, 1.0]))
        ax.set_yticks(y, [str(i) for i in table.index])
        ax.set(xlabel=xlabel, ylim=(-0.7, n - 0.3))
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        trans = ax.get_yaxis_transform()
        ax.text(1.02, n - 0.3, "HR (95% CI)    p", transform=trans, fontsize=8,
                fontweight="bold", va="bottom")
        pvals = table["p_value"] if "p_value" in table else [math.nan] * n
        for yi, e, l_, h, p in zip(y, est, lo, hi, pvals, strict=True):
            ax.text(1.02, yi, f"{e:.2f} ({l_:.2f}–{h:.2f})  {format_p(p)}", transform=trans,
                    va="center", fontsize=8)
        if title:
            ax.set_title(title)
    return fig
