"""NRI and IDI against written-out definitions and the bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import expit

from radsig.evaluate import idi, nri


@pytest.fixture
def two_models():
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=400), rng.normal(size=400)
    y = (rng.uniform(size=400) < expit(x1 + x2)).astype(int)
    return y, expit(x1), expit(x1 + 0.8 * x2)


def test_categorical_nri_against_counts():
    """Events: 3 up, 1 down of 5 → 2/5; non-events: 2 down, 1 up of 5 → 1/5; NRI = 0.6."""
    y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
    old = np.array([.1, .1, .3, .5, .5, .3, .3, .1, .5, .1])
    new = np.array([.3, .3, .5, .3, .5, .1, .1, .3, .5, .1])
    res = nri(y, old, new, cutoffs=[0.2, 0.4])
    assert_allclose(res.details["nri_events"], 2 / 5)
    assert_allclose(res.details["nri_nonevents"], 1 / 5)
    assert_allclose(res.estimate, 0.6)
    # Pencina's z: NRI / sqrt((pu_e + pd_e)/n_e + (pu_ne + pd_ne)/n_ne)
    assert_allclose(res.statistic, 0.6 / np.sqrt(4 / 5 / 5 + 3 / 5 / 5))


def test_nri_and_idi_se_against_bootstrap(two_models):
    y, old, new = two_models
    rng = np.random.default_rng(1)
    boots_nri, boots_idi = [], []
    for _ in range(400):
        i = rng.integers(0, y.size, y.size)
        boots_nri.append(nri(y[i], old[i], new[i]).estimate)
        boots_idi.append(idi(y[i], old[i], new[i]).estimate)
    assert_allclose(nri(y, old, new).se, np.std(boots_nri, ddof=1), rtol=0.15)
    assert_allclose(idi(y, old, new).se, np.std(boots_idi, ddof=1), rtol=0.15)


def test_idi_is_difference_of_discrimination_slopes(two_models):
    y, old, new = two_models
    res = idi(y, old, new)
    slope = lambda p: p[y == 1].mean() - p[y == 0].mean()  # noqa: E731
    assert_allclose(res.estimate, slope(new) - slope(old), atol=1e-12)
    assert res.p_value < 0.001 and res.ci_low > 0


def test_nri_of_identical_models_is_zero(two_models):
    y, old, _ = two_models
    res = nri(y, old, old)
    assert res.estimate == 0 and res.p_value == 1
