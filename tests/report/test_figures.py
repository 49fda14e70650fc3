"""Every figure renders to PNG and carries its basic content (labels, legend, risk table)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from radsig.evaluate import (
    calibration_curve,
    calibration_intercept_slope,
    clinical_impact_curve,
    cox_hazard_ratios,
    decision_curve,
    kaplan_meier,
    logrank_test,
    number_at_risk,
    roc_curve_ci,
    time_dependent_auc,
)
from radsig.report.figures import (
    format_p,
    plot_calibration,
    plot_clinical_impact,
    plot_decision_curve,
    plot_forest,
    plot_kaplan_meier,
    plot_roc,
    plot_td_auc,
)


def _png(fig: Figure) -> bytes:
    assert isinstance(fig, Figure)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
    return data


@pytest.fixture(scope="module")
def binary():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 200)
    y = (rng.uniform(size=200) < p).astype(int)
    return y, p


@pytest.fixture(scope="module")
def survival():
    rng = np.random.default_rng(1)
    x = rng.normal(size=150)
    t_event = rng.exponential(np.exp(-0.7 * x) * 400)
    t_cens = rng.uniform(50, 1500, 150)
    time = np.round(np.minimum(t_event, t_cens))
    return time, (t_event <= t_cens).astype(int), x


def test_roc_figure(binary):
    y, p = binary
    fig = plot_roc({"model": roc_curve_ci(y, p, n_boot=200, seed=0)}, title="ROC")
    _png(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "1 − Specificity" and ax.get_ylabel() == "Sensitivity"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("model: AUC 0.")
    assert ax.collections, "CI band missing"


def test_calibration_figure(binary):
    y, p = binary
    fig = plot_calibration(calibration_curve(y, p),
                           intercept_slope=calibration_intercept_slope(y, p))
    _png(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Predicted probability"
    assert ax.get_ylabel() == "Observed proportion"
    assert any("slope" in t.get_text() for t in ax.texts)


def test_decision_curve_figure(binary):
    y, p = binary
    fig = plot_decision_curve({"model": decision_curve(y, p)})
    _png(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Threshold probability" and ax.get_ylabel() == "Net benefit"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["model", "Treat all", "Treat none"]


def test_clinical_impact_figure(binary):
    y, p = binary
    fig = plot_clinical_impact(clinical_impact_curve(y, p))
    _png(fig)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Number per 1,000 patients"
    assert len(ax.get_lines()) == 2


def test_kaplan_meier_figure_has_number_at_risk_rows(survival):
    time, event, x = survival
    groups = np.where(x > np.median(x), "high", "low")
    km = kaplan_meier(time, event, groups)
    fig = plot_kaplan_meier(km, logrank=logrank_test(time, event, groups),
                            times=[0, 250, 500, 750, 1000], xlabel="Days")
    _png(fig)
    curves, table = fig.axes
    assert curves.get_ylabel() == "Survival probability" and table.get_xlabel() == "Days"
    assert any(t.get_text().startswith("log-rank p") for t in curves.texts)
    rows = [lab.get_text() for lab in table.get_yticklabels()]
    assert sorted(rows) == ["high", "low"]
    expected = number_at_risk(time, groups, [0, 250, 500, 750, 1000])
    shown = [t.get_text() for t in table.texts]
    assert len(shown) == 2 * 5
    assert shown[:5] == [str(v) for v in expected.loc["high"]]
    assert shown[5:] == [str(v) for v in expected.loc["low"]]


def test_td_auc_figure(survival):
    time, event, x = survival
    td = time_dependent_auc(time, event, x, [200, 400, 600], n_boot=100, seed=0)
    fig = plot_td_auc(td, xlabel="Days")
    _png(fig)
    assert fig.axes[0].get_ylabel() == "Time-dependent AUC"


def test_forest_figure(survival):
    time, event, x = survival
    X = pd.DataFrame({"score": x, "noise": np.random.default_rng(2).normal(size=x.size)})
    fig = plot_forest(cox_hazard_ratios(X, time, event))
    _png(fig)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["score", "noise"]
    assert ax.get_xscale() == "log"
    assert sum("(" in t.get_text() for t in ax.texts) == 3  # header + one row per covariate


@pytest.mark.parametrize("p, text", [(0.0004, "p < 0.001"), (0.0321, "p = 0.032"),
                                     (0.4567, "p = 0.46"), (float("nan"), "p = n/a")])
def test_format_p(p, text):
    assert format_p(p) == text
