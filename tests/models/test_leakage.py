"""Leakage: noise features + shuffled labels. Nested pipeline ≈ chance; select-then-CV is not."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from radsig.models import RadScore, cross_validate_model
from radsig.select import MannWhitneyFilter


@pytest.fixture(scope="module")
def noise():
    rng = np.random.default_rng(2024)
    X = rng.normal(size=(100, 1000))
    y = rng.permutation(np.repeat([0, 1], 50))
    return X, y


def test_nested_pipeline_on_noise_is_at_chance(noise):
    X, y = noise
    pipe = Pipeline([("filter", MannWhitneyFilter(k=50)),
                     ("radscore", RadScore(cv=3, n_lambdas=12, random_state=0))])
    res = cross_validate_model(pipe, X, y, cv=5, random_state=0)
    assert res.ci_low < 0.5 < res.ci_high
    assert res.ci_low <= res.estimate <= res.ci_high


def test_selecting_on_all_data_first_is_optimistic(noise):
    """Done wrong on purpose: the filter sees every label before the CV split."""
    X, y = noise
    leaked = MannWhitneyFilter(k=20).fit(X, y).transform(X)
    res = cross_validate_model(LogisticRegression(C=0.1, max_iter=2000), leaked, y, cv=5,
                               random_state=0)
    assert res.estimate > 0.75 and res.ci_low > 0.6
