"""Study figures drawn from the curves the runner computed (PNG + SVG).

These draw from precomputed curve data so the numbers in a figure are the numbers in
``results.json``. Matplotlib with the Agg backend; each function returns the figure.
"""

from __future__ import annotations

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from radsig.cohort import _atomic

COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


def _layout(fig, left: float = 0.09) -> None:
    # fixed margins instead of tight_layout: tight_layout re-measures every text (slow)
    fig.subplots_adjust(left=left, right=0.98, bottom=0.16, top=0.9, wspace=0.32, hspace=0.45)


def _grid(n: int, size: float = 3.4):
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def roc_figure(curves: dict, results: dict, models: list[str], cohorts: list[str]):
    """ROC of each model per cohort, AUC (95% CI) in the legend."""
    fig, axes = _grid(len(cohorts))
    for ax, c in zip(axes, cohorts, strict=False):
        for k, m in enumerate(models):
            cur = curves.get(m, {}).get(c, {}).get("roc")
            if not cur:
                continue
            a = results["models"][m]["cohorts"][c]["auc"]
            ax.plot(cur["fpr"], cur["tpr"], color=COLORS[k % 10],
                    label=f"{m} {a['estimate']:.2f} ({a['ci_low']:.2f}–{a['ci_high']:.2f})")
        ax.plot([0, 1], [0, 1], ls=":", color="grey")
        ax.set(title=c, xlabel="1 − specificity", ylabel="sensitivity")
        ax.legend(fontsize=7, loc="lower right")
    _layout(fig)
    return fig


def calibration_figure(curves: dict, models: list[str], cohorts: list[str]):
    """Observed vs predicted probability by quantile group."""
    fig, axes = _grid(len(cohorts))
    for ax, c in zip(axes, cohorts, strict=False):
        for k, m in enumerate(models):
            cur = curves.get(m, {}).get(c, {}).get("calibration")
            if cur:
                pred, obs, _ = zip(*cur, strict=False)
                ax.plot(pred, obs, marker="o", color=COLORS[k % 10], label=m)
        ax.plot([0, 1], [0, 1], ls=":", color="grey")
        ax.set(title=c, xlabel="predicted probability", ylabel="observed proportion", xlim=(0, 1), ylim=(0, 1))
        ax.legend(fontsize=7)
    _layout(fig)
    return fig


def dca_figure(curves: dict, models: list[str], cohorts: list[str]):
    """Decision curves: net benefit of each model, treat all, treat none."""
    fig, axes = _grid(len(cohorts))
    for ax, c in zip(axes, cohorts, strict=False):
        ref = None
        for k, m in enumerate(models):
            cur = curves.get(m, {}).get(c, {}).get("dca")
            if cur:
                ref = cur
                ax.plot(cur["threshold"], cur["model"], color=COLORS[k % 10], label=m)
        if ref:
            ax.plot(ref["threshold"], ref["treat_all"], color="grey", label="treat all")
            ax.axhline(0, color="black", lw=0.8, label="treat none")
            top = max(max(ref["treat_all"]), 0.05)
            ax.set_ylim(-0.05, top * 1.2)
        ax.set(title=c, xlabel="threshold probability", ylabel="net benefit")
        ax.legend(fontsize=7)
    _layout(fig)
    return fig


def km_figure(curves: dict, results: dict, model: str, endpoint: str, cohorts: list[str], unit: str):
    """Kaplan–Meier by risk group per cohort with numbers at risk, log-rank p and HR."""
    fig, axes = _grid(len(cohorts), size=3.8)
    for ax, c in zip(axes, cohorts, strict=False):
        km = curves.get(model, {}).get(c, {}).get(f"km_{endpoint}", {})
        for k, (g, cur) in enumerate(sorted(km.items())):
            col = ("tab:blue", "tab:red")[k % 2]
            ax.step(cur["time"], cur["survival"], where="post", color=col, label=f"{g} (n={cur['n']})")
            ax.fill_between(cur["time"], cur["ci_low"], cur["ci_high"], step="post", alpha=0.15, color=col)
        met = results["models"][model]["cohorts"].get(c, {})
        lr, hr = met.get(f"logrank_{endpoint}"), met.get(f"hr_high_vs_low_{endpoint}")
        if lr and hr:
            ax.text(0.02, 0.04, f"log-rank p={lr['p_value']:.3g}\nHR {hr['estimate']:.2f} "
                    f"({hr['ci_low']:.2f}–{hr['ci_high']:.2f})", transform=ax.transAxes, fontsize=7)
        _at_risk(ax, km)
        ax.set(title=c, xlabel=f"time ({unit})", ylabel=f"{endpoint} probability", ylim=(0, 1.02))
        ax.legend(fontsize=7, loc="upper right")
    _layout(fig)
    return fig


def _at_risk(ax, km: dict) -> None:
    lines = [f"{g}: " + " ".join(str(n) for n in cur["at_risk"]) for g, cur in sorted(km.items())]
    if lines:
        ticks = next(iter(km.values()))["at_risk_times"]
        head = "at risk at " + ", ".join(f"{t:.0f}" for t in ticks)
        ax.text(0.98, 0.62, head + "\n" + "\n".join(lines), transform=ax.transAxes, fontsize=6, ha="right")


def tdauc_figure(curves: dict, model: str, cohorts: list[str], unit: str):
    """Time-dependent AUC at the study horizons, one line per cohort."""
    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    for k, c in enumerate(cohorts):
        td = curves.get(model, {}).get(c, {}).get("td_auc", {})
        if td:
            hs = sorted(td, key=float)
            ax.plot([float(h) for h in hs], [td[h] for h in hs], marker="o", color=COLORS[k % 10], label=c)
    ax.axhline(0.5, ls=":", color="grey")
    ax.set(xlabel=f"time ({unit})", ylabel="time-dependent AUC", ylim=(0.3, 1.0), title=model)
    ax.legend(fontsize=7)
    _layout(fig)
    return fig


def forest_figure(rows: list[tuple[str, dict]], xlabel: str = "hazard ratio (95% CI)"):
    """Forest plot of estimates with CIs on a log axis."""
    fig, ax = plt.subplots(figsize=(6, max(3.0, 0.35 * len(rows) + 1.2)))
    for i, (_label, r) in enumerate(rows):
        ax.errorbar(r["estimate"], i, xerr=[[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]],
                    fmt="s", color="black", capsize=3)
    ax.axvline(1.0, ls=":", color="grey")
    ax.set_yticks(range(len(rows)), [lab for lab, _ in rows], fontsize=7)
    ax.set_xscale("log")
    ticks = [t for t in (0.1, 0.25, 0.5, 1, 2, 4, 10)
             if min(r["ci_low"] for _, r in rows) / 2 <= t <= max(r["ci_high"] for _, r in rows) * 2]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(xlabel)
    ax.invert_yaxis()
    _layout(fig, left=0.42)
    return fig


def coef_figure(model: dict):
    """Rad-score coefficients of the selected (standardised) features."""
    terms = model["terms"]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(terms) + 1.2))
    ax.barh(range(len(terms)), [t["coef"] for t in terms],
            color=["tab:red" if t["coef"] > 0 else "tab:blue" for t in terms])
    ax.set_yticks(range(len(terms)), [t["label"] for t in terms], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("coefficient (per SD)")
    ax.set_title(model["name"])
    _layout(fig, left=0.42)
    return fig


def nomogram_figure(model: dict, train_values: dict[str, np.ndarray]):
    """A points nomogram: each term's training range mapped to 0–100 points (largest effect = 100)."""
    terms = model["terms"]
    spans = []
    for t in terms:
        raw = np.asarray(train_values[t["label"]], float)
        r_lo, r_hi = (0.0, 1.0) if "level" in t else tuple(np.nanpercentile(raw, [2, 98]))
        z_lo, z_hi = (r_lo - t["center"]) / t["scale"], (r_hi - t["center"]) / t["scale"]
        spans.append((r_lo, r_hi, abs(t["coef"]) * (z_hi - z_lo)))
    scale = 100.0 / max(s[2] for s in spans)
    fig, ax = plt.subplots(figsize=(7, 0.55 * (len(terms) + 2) + 0.6))
    ax.hlines(0, 0, 100, color="black")
    ax.text(-2, 0, "Points", ha="right", va="center", fontsize=8)
    for x in range(0, 101, 10):
        ax.text(x, 0.25, str(x), ha="center", fontsize=6)
    for i, (t, (lo, hi, span)) in enumerate(zip(terms, spans, strict=False), start=1):
        ax.hlines(i, 0, span * scale, color="tab:blue", lw=3)
        left, right = (lo, hi) if t["coef"] >= 0 else (hi, lo)
        ax.text(0, i + 0.25, f"{left:.3g}", fontsize=6)
        ax.text(span * scale, i + 0.25, f"{right:.3g}", fontsize=6, ha="right")
        ax.text(-2, i, t["label"], ha="right", va="center", fontsize=8)
    ax.text(-2, len(terms) + 1, "Total points → higher " + ("probability" if model["link"] == "logistic"
                                                             else "risk"), ha="right", va="center", fontsize=8)
    ax.set_xlim(-45, 105)
    ax.set_ylim(len(terms) + 1.6, -0.8)
    ax.axis("off")
    ax.set_title(f"Nomogram: {model['name']}")
    _layout(fig)
    return fig


def save(fig, folder, stem: str) -> tuple[str, str]:
    """Save PNG and SVG; returns their paths."""
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    _atomic.atomic_write(png, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    _atomic.atomic_write(svg, lambda tmp: fig.savefig(tmp, format="svg"))
    plt.close(fig)
    return str(png), str(svg)
