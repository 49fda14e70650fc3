"""Ensembles of different learners in a study (``kind: ensemble`` with ``learners``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from radsig.config.study import EndpointSpec, ModelSpec
from radsig.study import modelling as mdl


def _data(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 30))
    y = (X[:, 0] + 0.8 * X[:, 1] ** 2 - 0.8 + 0.7 * rng.normal(size=n) > 0).astype(int)
    feats = pd.DataFrame(X, columns=[f"CT_f{i:02d}" for i in range(30)], index=[f"P{i}" for i in range(n)])
    feats.iloc[3, 5] = np.nan  # imputed with the training median
    return feats, y


@pytest.fixture(scope="module")
def fitted():
    feats, y = _data(160, 0)
    spec = ModelSpec(name="ens", kind="ensemble", endpoint="resp", learners=["logistic", "svm", "rf", "gb"],
                     max_features=6)
    ep = EndpointSpec(name="resp", type="binary", column="resp", positive=1)
    return mdl.fit_ensemble(spec, ep, feats, y, modalities=["CT"], seed=3), spec, ep


def test_members_are_the_learners_and_freeze_as_json(fitted):
    frozen, _, _ = fitted
    assert [m["learner"] for m in frozen["members"]] == ["logistic", "svm", "rf", "gb"]
    assert all(m["kind"] == "learner" and m["estimator"]["format"] == "radsig-model" for m in frozen["members"])
    text = json.dumps(frozen)
    assert '"__tree__"' in text  # forest and boosting trees stored as node arrays, not pickles
    feats, _ = _data(80, 1)
    before = mdl.linear_predictor(frozen, feats, None, {})
    mdl._ESTIMATORS.clear()
    after = mdl.linear_predictor(json.loads(text), feats, None, {})
    np.testing.assert_array_equal(before, after)


def test_soft_vote_equals_sklearn_voting_classifier(fitted):
    """Mean of the frozen members' probabilities == VotingClassifier(soft).predict_proba."""
    from radsig.models import make_ensemble

    frozen, spec, _ = fitted
    train, y = _data(160, 0)
    terms = frozen["members"][0]["terms"]
    vote = make_ensemble("soft_voting", members=tuple(spec.learners), random_state=3)
    vote.fit(mdl._design(terms, train, None, {}), y)
    new, _ = _data(80, 1)
    expected = vote.predict_proba(mdl._design(terms, new, None, {}))[:, 1]
    got = 1 / (1 + np.exp(-mdl.linear_predictor(frozen, new, None, {})))
    np.testing.assert_allclose(got, np.clip(expected, 1e-6, 1 - 1e-6), atol=1e-6)


def test_trained_on_training_rows_only_and_beats_chance(fitted):
    from sklearn.metrics import roc_auc_score

    frozen, _, _ = fitted
    assert {t["name"] for t in frozen["members"][0]["terms"]} >= {"CT_f00"}
    train, _ = _data(160, 0)
    med = float(np.nanmedian(train["CT_f05"]))
    term = [t for t in frozen["members"][0]["terms"] if t["name"] == "CT_f05"]
    assert not term or term[0]["impute"] == pytest.approx(med)
    new, y = _data(300, 7)
    for m in (frozen, *frozen["members"]):
        assert roc_auc_score(y, mdl.linear_predictor(m, new, None, {})) > 0.65, m["name"]


def test_learners_need_a_binary_ensemble():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="learners"):
        ModelSpec(name="x", kind="radiomics", endpoint="resp", learners=["rf"])
    with pytest.raises(ValidationError):
        ModelSpec(name="x", kind="ensemble", endpoint="resp", learners=["xgboost"])


def test_decoded_estimators_are_kept_for_at_most_16_models(monkeypatch):
    """Scoring decodes each learner document once; the cache of decoded estimators is bounded
    (least recently used dropped), so a long session does not keep every forest it scored."""
    import radsig.models

    decoded = []
    monkeypatch.setattr(radsig.models, "model_from_document",
                        lambda doc, where: decoded.append(doc["checksum"]) or doc["checksum"])
    monkeypatch.setattr(mdl, "_ESTIMATORS", type(mdl._ESTIMATORS)())
    models = [{"name": f"m{i}", "estimator": {"checksum": f"c{i}"}} for i in range(20)]
    for m in models[:2] + models:
        assert mdl._estimator(m) == m["estimator"]["checksum"]
    assert decoded == [f"c{i}" for i in range(20)]  # c0 and c1 decoded once, then reused
    assert list(mdl._ESTIMATORS) == [f"c{i}" for i in range(4, 20)]
