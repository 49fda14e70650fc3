"""Rad-score: raw-unit formula equals the standardised model; survival scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sksurv.util import Surv

from radsig.models import RadScore


def test_binary_radscore_formula_matches_standardised_fit():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(5, 2, size=(100, 20)), columns=[f"f{i}" for i in range(20)])
    y = (X.f2 - X.f4 + rng.normal(size=100) > 0).astype(int)
    m = RadScore(random_state=0).fit(X, y)
    sel = m.selector_
    z = (X.to_numpy() - sel.mean_) / sel.scale_
    np.testing.assert_allclose(m.decision_function(X), z @ sel.coef_ + sel.intercept_, atol=1e-10)
    assert {"f2", "f4"} <= set(m.selected_features_)
    assert m.formula_.startswith("Rad-score = ") and "× f2" in m.formula_
    assert m.score(X, y) > 0.75
    assert np.allclose(m.predict_proba(X).sum(1), 1)


def test_survival_radscore_is_centred_and_concordant():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(120, 30))
    time = rng.exponential(np.exp(-X[:, 0]))
    y = Surv.from_arrays(rng.random(120) < 0.8, time)
    m = RadScore(random_state=0).fit(X, y)
    assert m.task_ == "survival"
    assert abs(m.decision_function(X).mean()) < 1e-10
    assert m.score(X, y) > 0.65
