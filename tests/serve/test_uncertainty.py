"""The stored parameter covariance and Cox baseline (radsig.study.uncertainty) against reference
implementations: statsmodels' logistic regression, lifelines' Cox model, a finite-difference
Hessian of the penalised likelihood; and the training summaries keep no patient value."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radsig.config.study import EndpointSpec, ModelSpec
from radsig.study import modelling as mdl
from radsig.study import uncertainty as unc


def _data(n=200, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)) * [1.0, 2.0, 0.5] + [0.0, 5.0, -1.0]
    lp = -0.3 + X @ [0.8, -0.4, 1.2] - (-0.4 * 5 + 1.2 * -1)
    return X, lp, rng


def _clinical_model(X, target, ep):
    clin = pd.DataFrame(X, columns=["a", "b", "c"])
    spec = ModelSpec(name="m", kind="clinical", endpoint=ep.name, covariates=["a", "b", "c"])
    return mdl.fit_linear(spec, ep, None, clin, target, {}), clin


def test_logistic_covariance_equals_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    X, lp, rng = _data()
    y = (rng.random(len(lp)) < 1 / (1 + np.exp(-lp))).astype(int)
    ep = EndpointSpec(name="r", type="binary", column="r")
    frozen, clin = _clinical_model(X, y, ep)
    cov = unc.covariance(frozen, pd.DataFrame(index=clin.index), clin, {}, y, "logistic")
    Z = np.column_stack([(X[:, j] - t["center"]) / t["scale"] for j, t in enumerate(frozen["terms"])])
    ref = sm.Logit(y, sm.add_constant(Z)).fit(disp=0)
    np.testing.assert_allclose([frozen["intercept"], *[t["coef"] for t in frozen["terms"]]], ref.params, rtol=1e-3)
    np.testing.assert_allclose(cov, ref.cov_params(), rtol=2e-3)  # penalty 1e-4 vs none


def test_penalised_refit_covariance_is_the_inverse_hessian_of_its_objective():
    """A radiomics signature's refit (penalty 0.5): the fitted coefficients are a stationary point of
    loglik − penalty/2 ‖β‖² (so the penalty enters as fitted) and the covariance is the inverse of
    that objective's finite-difference Hessian."""
    X, lp, rng = _data(seed=5)
    y = (rng.random(len(lp)) < 1 / (1 + np.exp(-lp))).astype(int)
    feats = pd.DataFrame(X, columns=["CT_a", "CT_b", "CT_c"])
    ep = EndpointSpec(name="r", type="binary", column="r")
    spec = ModelSpec(name="rad", kind="radiomics", endpoint="r", max_features=3)
    frozen = mdl.fit_radiomics(spec, ep, feats, y, modalities=["CT"], seed=0)
    Z = np.column_stack([(feats[t["name"]] - t["center"]) / t["scale"] for t in frozen["terms"]])
    Z1 = np.column_stack([np.ones(len(Z)), Z])
    pen = unc.REFIT_PENALTY

    def objective(theta, pen=pen):
        eta = Z1 @ theta
        return np.sum(y * eta - np.logaddexp(0, eta)) - pen / 2 * np.sum(theta[1:] ** 2)

    theta = np.r_[frozen["intercept"], [t["coef"] for t in frozen["terms"]]]
    h = 1e-4
    k = len(theta)

    def grad(p):
        return np.array([(objective(theta + h * e, p) - objective(theta - h * e, p)) / (2 * h) for e in np.eye(k)])

    # stationary up to the solver's tolerance for this penalty, not for none or a per-patient one
    assert np.max(np.abs(grad(pen))) < 0.05 < min(np.max(np.abs(grad(0.0))), np.max(np.abs(grad(pen * len(y)))))
    hess = np.array([[(objective(theta + h * a + h * b) - objective(theta + h * a - h * b)
                       - objective(theta - h * a + h * b) + objective(theta - h * a - h * b)) / (4 * h * h)
                      for b in np.eye(k)] for a in np.eye(k)])
    cov = unc.covariance(frozen, feats, None, {}, y, "logistic")
    np.testing.assert_allclose(cov, np.linalg.inv(-hess), rtol=1e-4)


def test_cox_covariance_and_baseline_equal_lifelines():
    lifelines = pytest.importorskip("lifelines")
    from sksurv.util import Surv

    X, lp, rng = _data(n=250, seed=11)
    t = rng.exponential(1 / np.exp(lp - lp.mean())) * 10 + rng.random(len(lp)) * 1e-6  # no ties
    c = rng.exponential(15, len(lp))
    time, event = np.minimum(t, c), t <= c
    ep = EndpointSpec(name="os", type="survival", time="t", event="e", horizons=[5, 10])
    target = Surv.from_arrays(event, time)
    frozen, clin = _clinical_model(X, target, ep)
    cov = unc.covariance(frozen, pd.DataFrame(index=clin.index), clin, {}, target, "cox")
    assert np.all(cov[0] == 0) and np.all(cov[:, 0] == 0)
    Z = pd.DataFrame({f"z{j}": (X[:, j] - tt["center"]) / tt["scale"] for j, tt in enumerate(frozen["terms"])})
    ref = lifelines.CoxPHFitter().fit(Z.assign(T=time, E=event), "T", "E")  # Efron == Breslow without ties
    np.testing.assert_allclose([tt["coef"] for tt in frozen["terms"]], ref.params_.to_numpy(), rtol=1e-3)
    np.testing.assert_allclose(cov[1:, 1:], ref.variance_matrix_.to_numpy(), rtol=2e-3)
    lpf = mdl.linear_predictor(frozen, pd.DataFrame(index=clin.index), clin, {})
    base = unc.baseline(lpf, time, event.astype(float), ep.horizons)
    # lifelines' baseline is at the covariate means; re-centre to lp = 0 with the same coefficients
    h0 = ref.baseline_cumulative_hazard_["baseline cumulative hazard"]
    shift = np.exp(-(Z.mean().to_numpy() @ ref.params_.to_numpy()))
    ref_at = [h0[h0.index <= h].iloc[-1] * shift for h in ep.horizons]
    np.testing.assert_allclose(base["cumulative_hazard"], ref_at, rtol=5e-3)


def test_training_summary_rounds_away_patient_values():
    rng = np.random.default_rng(0)
    x = rng.normal(10, 3, 141)  # odd n: the exact median is a patient's value
    s = unc.numeric_summary(x)
    assert s["min"] <= x.min() and s["max"] >= x.max()
    values = set(x.tolist())
    assert not any(v in values for k, v in s.items() if k not in ("n", "missing"))
    assert all(len(f"{v:g}".replace(".", "").replace("-", "").lstrip("0")) <= 4 for k, v in s.items()
               if k not in ("n", "missing"))
    assert unc._round(-12.345678, "floor") == -12.35 and unc._round(-12.345678, "ceil") == -12.34
    assert unc._round(0.000123456, "ceil") == 0.0001235


def _binary_frame(n=160, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (rng.random(n) < 1 / (1 + np.exp(-(X[:, 0] + X[:, 1])))).astype(int)
    return pd.DataFrame(X, columns=["CT_a", "CT_b", "CT_c", "CT_d"]), y


def test_pca_score_covariance_maps_the_slope_variance_onto_the_terms():
    """A PCA composite (intercept + slope × PC1): the stored covariance over the terms gives, for any
    patient, exactly the variance of intercept + slope × PC1 from the 2 × 2 fit covariance."""
    feats, y = _binary_frame()
    ep = EndpointSpec(name="r", type="binary", column="r")
    spec = ModelSpec(name="pc", kind="radiomics", endpoint="r", score="pca", max_features=4)
    frozen = mdl.fit_radiomics(spec, ep, feats, y, modalities=["CT"], seed=0)
    cov = unc.covariance(frozen, feats, None, {}, y, "logistic")
    load = np.array([frozen["pc1_loadings"][t["name"]] for t in frozen["terms"]])
    Z = np.column_stack([(feats[t["name"]] - t["center"]) / t["scale"] for t in frozen["terms"]])
    pc1 = Z @ load
    p = 1 / (1 + np.exp(-(frozen["intercept"] + frozen["pc1_slope"] * pc1)))
    X2 = np.column_stack([np.ones(len(pc1)), pc1])
    info = (X2 * (p * (1 - p))[:, None]).T @ X2 + np.diag([0.0, unc.REFIT_PENALTY])
    cov2 = np.linalg.inv(info)
    g = np.column_stack([np.ones(len(Z)), Z])
    np.testing.assert_allclose(np.einsum("ij,jk,ik->i", g, cov, g), np.einsum("ij,jk,ik->i", X2, cov2, X2), rtol=1e-9)


def test_learner_ensemble_is_scored_without_ci_and_says_so(tmp_path):
    """A soft vote of learners (SVM, forest) has no covariance: the service scores it exactly as
    predict's scoring code and says, in the warnings, that it has no CI."""
    from radsig.serve.scoring import ServedModel
    from radsig.study.predict import score_frame

    feats, y = _binary_frame(seed=4)
    ep = EndpointSpec(name="r", type="binary", column="r")
    spec = ModelSpec(name="vote", kind="ensemble", endpoint="r", learners=["logistic", "rf"], max_features=3)
    frozen = mdl.fit_ensemble(spec, ep, feats, y, modalities=["CT"], seed=0)
    frozen["cutoff"] = {"value": 0.0, "method": "fixed"}
    unc.add_uncertainty(frozen, feats, None, {}, y)
    assert all("covariance" not in m for m in frozen["members"])
    doc = {"study": "t", "id_column": "id", "modalities": ["CT"], "clinical_columns": [], "models": [frozen],
           "feature_settings": {"raw": {}, "hash": "x", "extractor": "basic"}}
    sm = ServedModel(tmp_path / "model.json", doc, "sha256:test")
    sm.features = mdl.model_features(frozen)
    rows = feats.iloc[:5]
    res = sm.score([({f: float(rows.iloc[i][f]) for f in sm.features}, {}) for i in range(5)])
    ref = score_frame([frozen], rows.reset_index(drop=True), None)["vote"]
    for i, r in enumerate(res):
        assert abs(r["predictions"]["vote"]["score"] - ref[i]) <= 1e-12
        assert r["predictions"]["vote"]["ci_low"] is None
        assert any(w["code"] == "no_ci" and w["model"] == "vote" for w in r["warnings"])
