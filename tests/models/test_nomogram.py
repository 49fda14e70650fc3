"""Nomograms (logistic, Cox), fused signatures, PCA score, and the nomogram figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from radsig.models import FusedSignature, Nomogram, PCAScore, load_model, save_model
from radsig.report.nomogram import nomogram_scales, plot_nomogram


def _table(n=160, seed=0):
    rng = np.random.default_rng(seed)
    rad = pd.DataFrame(rng.normal(size=(n, 15)), columns=[f"original_f{i}" for i in range(15)])
    deep = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"deep_{i}" for i in range(5)])
    clin = pd.DataFrame({"age": rng.normal(65, 8, n), "cd8": rng.gamma(2.0, 1.0, n)})
    X = pd.concat([rad, deep, clin], axis=1)
    lp = 1.2 * rad.original_f0 + 0.8 * deep.deep_0 + 0.05 * (clin.age - 65) - 0.4 * clin.cd8
    return X, lp.to_numpy(), rng


def test_logistic_nomogram_points_reproduce_probability(tmp_path):
    X, lp, rng = _table()
    y = (lp + rng.logistic(size=len(lp)) > 0).astype(int)
    nomo = Nomogram(clinical=["age", "cd8"], scores={"Rad-score": "^original"}).fit(X, y)
    assert nomo.predictors_ == ["Rad-score", "age", "cd8"]
    assert nomo.coef_[0] > 0 and nomo.coef_[2] < 0
    sc = nomogram_scales(nomo)
    design = nomo._design(X)
    total = sc.points(design).sum(axis=1)
    assert sc.points(design).min() >= -1e-9 and sc.points(design).max() <= 100 + 1e-9
    np.testing.assert_allclose(sc.linear_predictor(total), nomo.decision_function(X), atol=1e-9)
    fig = plot_nomogram(nomo)
    fig.savefig(tmp_path / "nomo.png")
    assert (tmp_path / "nomo.png").stat().st_size > 1000
    again = load_model(save_model(nomo, tmp_path / "n.json"))
    np.testing.assert_array_equal(again.predict_proba(X), nomo.predict_proba(X))


def test_cox_nomogram_survival_against_lifelines(tmp_path):
    """Final Cox fit and Breslow baseline agree with lifelines on the same design."""
    from lifelines import CoxPHFitter

    X, lp, rng = _table(seed=1)
    y = Surv.from_arrays(rng.random(len(lp)) < 0.8, rng.exponential(365 * np.exp(-lp)))
    nomo = Nomogram(clinical=["age", "cd8"], scores={"Rad-score": "^original"}).fit(X, y)
    design = pd.DataFrame(nomo._design(X), columns=["rad", "age", "cd8"])
    design["T"], design["E"] = y["time"], y["event"]
    cph = CoxPHFitter().fit(design, "T", "E")
    np.testing.assert_allclose(nomo.coef_, cph.params_.to_numpy(), rtol=1e-4, atol=1e-6)
    # event times themselves: lifelines interpolates its step function between event times
    t = list(np.sort(y["time"][y["event"]])[[10, 40, 80]])
    ref = cph.predict_survival_function(design.iloc[:5], times=t).to_numpy().T
    np.testing.assert_allclose(nomo.predict_survival(X.iloc[:5], t), ref, atol=2e-3)
    fig = plot_nomogram(nomo, times=(365, 730), time_labels=("1-year", "2-year"))
    fig.savefig(tmp_path / "cox.png")
    again = load_model(save_model(nomo, tmp_path / "c.json"))
    np.testing.assert_array_equal(again.predict_survival(X, t), nomo.predict_survival(X, t))


def test_fused_signature_uses_both_blocks():
    X, lp, rng = _table(seed=2)
    y = (lp + rng.logistic(size=len(lp)) > 0).astype(int)
    fused = FusedSignature().fit(X, y)
    assert fused.predictors_ == ["radiomics", "deep"]
    assert all(c > 0 for c in fused.coef_)
    assert "deep_0" in fused.score_models_[1].selected_features_


def test_pca_score_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(PCAScore())


def test_pca_score_orientation():
    X, lp, rng = _table(seed=3)
    cols = [c for c in X.columns if c.startswith("original")][:5]
    common = rng.normal(size=len(lp))
    Z = X[cols].to_numpy() * 0.3 + common[:, None]
    y = (common + 0.5 * rng.normal(size=len(lp)) > 0).astype(int)
    pca = PCAScore().fit(Z, y)
    assert np.corrcoef(pca.decision_function(Z), y)[0, 1] > 0.5
    assert pca.explained_variance_ratio_[0] > 0.8
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        PCAScore().decision_function(Z)
