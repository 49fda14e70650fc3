"""Seeded synthetic data and real tables for the evaluate tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def binary_data():
    """n=300 binary outcome with two correlated scores (seeded)."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 300)
    a = y * 1.0 + rng.normal(size=300)
    b = y * 0.5 + 0.6 * a + rng.normal(size=300)
    return y, a, b


@pytest.fixture
def surv_data():
    """n=200 continuous-time survival data, risk linked to hazard, ~30 % censored (seeded)."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=200)
    t_event = rng.exponential(np.exp(-0.8 * x))
    t_cens = rng.exponential(2.5, size=200)
    time = np.minimum(t_event, t_cens)
    event = (t_event <= t_cens).astype(int)
    return time, event, x


@pytest.fixture(scope="session")
def maastro(shared):
    return pd.read_csv(shared / "realdata/hosny2018_deep_prognosis/Maastro.csv.gz",
                       usecols=["surv2yr", "logit_0", "logit_1"])


@pytest.fixture(scope="session")
def lung1(shared):
    return pd.read_csv(shared / "realdata/lung1_nsclc_radiomics/"
                                "NSCLC-Radiomics-Lung1.clinical-version3-Oct-2019.csv")
