"""maxstat against Lausen & Schumacher's published tables and a case with a known answer."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import brentq

from radsig.evaluate import maxstat_cutoff, median_cutoff, p_lausen92, p_lausen94, youden_cutoff
from radsig.evaluate.cutoffs import logrank_scores


@pytest.mark.parametrize("alpha, minprop, maxprop, quantile", [
    (0.10, 0.25, 0.75, 2.539), (0.05, 0.25, 0.75, 2.829), (0.01, 0.25, 0.75, 3.395),
    (0.05, 0.40, 0.60, 2.560), (0.05, 0.10, 0.90, 3.054), (0.01, 0.10, 0.90, 3.588),
    (0.025, 0.40, 0.90, 3.138),
])
def test_lausen92_against_published_table(alpha, minprop, maxprop, quantile):
    """Lausen & Schumacher (1992, Biometrics 48:73–85) Table 2 critical values."""
    b = brentq(lambda v: p_lausen92(v, minprop, maxprop) - alpha, 1.5, 6)
    assert_allclose(b, quantile, atol=6e-4)


def test_lausen94_against_published_value():
    """Lausen, Sauerbrei & Schumacher (1994), p. 489: P(M > 2.5) = 0.073 for n = 20,
    ε = 0.25."""
    assert round(p_lausen94(2.5, 20, 0.25, 0.75), 3) == 0.073


def test_maxstat_finds_known_cutoff():
    """Marker levels 0 (n=40), 1 (n=30), 2 (n=30); level-2 patients all die (times 1–30)
    before anyone else (times 31–100, levels 0 and 1 interleaved). Only the split 2 vs {0, 1}
    separates the curves, so the cut-off is 1 with 70 patients in the low group."""
    rng = np.random.default_rng(0)
    marker = np.r_[np.zeros(40), np.ones(30), np.full(30, 2.0)]
    late = rng.permutation(np.arange(31.0, 101.0))
    time = np.r_[late, rng.permutation(np.arange(1.0, 31.0))]
    event = np.ones(100, int)
    res = maxstat_cutoff(time, event, marker)
    assert res.cutoff == 1 and res.n_low == 70 and res.n_high == 30
    assert res.p_value < 1e-6
    assert (res.groups(marker) == np.where(marker > 1, "high", "low")).all()
    assert len(res.table) == 2  # two admissible splits


def test_maxstat_statistic_against_written_out_linear_rank_statistic(surv_data):
    time, event, x = surv_data
    res = maxstat_cutoff(time, event, x, minprop=0.2)
    a = logrank_scores(time, event)
    n = a.size
    row = res.table.iloc[len(res.table) // 2]
    low = x <= row["cutoff"]
    m = low.sum()
    s = a[low].sum()
    v = m * (n - m) / (n * (n - 1)) * np.sum((a - a.mean()) ** 2)
    assert_allclose(row["statistic"], abs(s - m * a.mean()) / np.sqrt(v), rtol=1e-10)
    assert_allclose(a.sum(), 0, atol=1e-9)  # martingale residuals sum to zero


def test_maxstat_null_and_alternative_pvalues(surv_data):
    time, event, x = surv_data
    strong = maxstat_cutoff(time, event, x, pmethod="permutation", n_perm=999, seed=0)
    assert strong.p_value <= 0.002
    noise = np.random.default_rng(5).normal(size=x.size)
    for method in ("lausen92", "lausen94", "permutation"):
        assert maxstat_cutoff(time, event, noise, pmethod=method, seed=0).p_value > 0.05


def test_median_and_youden_cutoffs():
    rng = np.random.default_rng(2)
    x = rng.uniform(size=401)
    assert median_cutoff(x).cutoff == np.median(x)
    y = (x > 0.7).astype(int)
    res = youden_cutoff(y, x)
    assert res.statistic == 1.0
    assert (res.groups(x) == np.where(y == 1, "high", "low")).all()
