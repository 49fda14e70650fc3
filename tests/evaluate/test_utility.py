"""Decision curves against the dcurves package (binary and time-to-event)."""

from __future__ import annotations

import dcurves  # the test extra installs it: a missing one fails
import numpy as np
import pandas as pd
from numpy.testing import assert_allclose
from sksurv.util import Surv

from radsig.evaluate import clinical_impact_curve, decision_curve

TH = np.round(np.arange(0, 1, 0.05), 2)


def _dca(df, th=TH, **kw):
    ref = dcurves.dca(data=df, outcome="y", modelnames=["m"], thresholds=th, **kw)
    return (ref[ref.model == "m"]["net_benefit"].to_numpy(float),
            ref[ref.model == "all"]["net_benefit"].to_numpy(float))


def test_decision_curve_binary_against_dcurves():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.02, 0.98, 300)
    y = (rng.uniform(size=300) < p).astype(int)
    res = decision_curve(y, p, TH).table
    nb, nb_all = _dca(pd.DataFrame({"y": y, "m": p}))
    assert_allclose(res["net_benefit"], nb, atol=1e-12)
    assert_allclose(res["net_benefit_all"], nb_all, atol=1e-12)
    assert (res["net_benefit_none"] == 0).all()
    assert_allclose(res["net_benefit"].iloc[0], y.mean())  # pt = 0: treat all


def test_decision_curve_survival_against_dcurves(surv_data):
    time, event, x = surv_data
    time = np.round(time, 1)  # tied times
    p = 1 - np.exp(-np.exp(0.8 * x) * 0.7)
    y = Surv.from_arrays(event.astype(bool), time)
    th = np.round(np.arange(0, 1, 0.1), 1)  # dcurves refits lifelines per threshold: slow
    res = decision_curve(y, p, th, horizon=0.7).table
    nb, nb_all = _dca(pd.DataFrame({"y": event, "t": time, "m": p}), th, time=0.7,
                      time_to_outcome_col="t")
    assert_allclose(res["net_benefit"], nb, atol=1e-12)
    assert_allclose(res["net_benefit_all"], nb_all, atol=1e-12)


def test_clinical_impact_curve_counts():
    rng = np.random.default_rng(3)
    p = rng.uniform(size=200)
    y = (rng.uniform(size=200) < p).astype(int)
    cic = clinical_impact_curve(y, p, [0.0, 0.5], population=1000)
    assert_allclose(cic["n_high_risk"], [1000, 1000 * np.mean(p >= 0.5)])
    assert_allclose(cic["n_high_risk_with_event"].iloc[1], 1000 * np.mean((p >= 0.5) & (y == 1)))
