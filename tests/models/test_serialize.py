"""Model files: JSON round trip in a fresh process, tamper and version errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radsig.exceptions import ModelFileError
from radsig.models import RadScore, load_model, read_model_file, save_model

REPO = Path(__file__).resolve().parents[2]


def _data(n=80, p=15, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, p)), columns=[f"f{i}" for i in range(p)])
    y = (X.f0 - X.f1 + rng.normal(size=n) > 0).astype(int)
    return X, y


def _predict_in_fresh_process(model_path: Path, data_path: Path, out_path: Path) -> np.ndarray:
    code = (
        "import numpy as np, pandas as pd, sys\n"
        "from radsig.models import load_model\n"
        "m = load_model(sys.argv[1]); X = pd.read_csv(sys.argv[2], float_precision='round_trip')\n"
        "np.save(sys.argv[3], m.predict_proba(X))\n")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.run([sys.executable, "-c", code, str(model_path), str(data_path),
                           str(out_path)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return np.load(out_path)


@pytest.fixture
def radscore_file(tmp_path):
    X, y = _data()
    model = RadScore(random_state=0).fit(X, y)
    path = save_model(model, tmp_path / "m.json", feature_settings_hash="abc123",
                      cutoffs={"risk": 0.0}, metadata={"study": "unit"})
    return model, path, X


def test_radscore_reloaded_in_fresh_process_gives_identical_predictions(radscore_file, tmp_path):
    model, path, X = radscore_file
    X.to_csv(tmp_path / "X.csv", index=False)
    got = _predict_in_fresh_process(path, tmp_path / "X.csv", tmp_path / "p.npy")
    np.testing.assert_array_equal(got, model.predict_proba(X))


def test_model_file_records_provenance(radscore_file):
    model, path, _ = radscore_file
    doc, _ = read_model_file(path)
    assert doc["format_version"] == 1 and doc["radsig_version"]
    assert doc["feature_settings_hash"] == "abc123"
    assert doc["selected_features"] == list(model.selected_features_)
    assert doc["input_features"] == [f"f{i}" for i in range(15)]
    assert doc["checksum"].startswith("sha256:")


def test_ensemble_with_trees_and_svm_round_trips_exactly(tmp_path):
    from radsig.models import make_ensemble

    X, y = _data(n=60, p=6)
    for kind in ("soft_voting", "stacking"):
        model = make_ensemble(kind, n_estimators=15, random_state=0).fit(X, y)
        again = load_model(save_model(model, tmp_path / f"{kind}.json"))
        np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))


def test_tampered_file_is_refused(radscore_file):
    _, path, _ = radscore_file
    doc = json.loads(path.read_text())
    doc["model"]["state"]["intercept_"] = 5.0
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load_model(path)


def test_wrong_format_version_is_refused(radscore_file):
    _, path, _ = radscore_file
    doc = json.loads(path.read_text())
    doc["format_version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="format_version 99 is not supported"):
        load_model(path)


def test_not_json_and_foreign_class_are_refused(tmp_path, radscore_file):
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\x80\x04pickle")
    with pytest.raises(ModelFileError, match="not a readable radsig model file"):
        load_model(bad)
    from radsig.models.serialize import _checksum

    _, path, _ = radscore_file
    doc = json.loads(path.read_text())
    doc["model"]["__object__"] = "os.system"
    doc["checksum"] = _checksum(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="not on radsig's allow-list"):
        load_model(path)


def test_unsupported_estimator_cannot_be_saved(tmp_path):
    from sklearn.neighbors import KNeighborsClassifier

    X, y = _data(n=30, p=3)
    with pytest.raises(ModelFileError, match="cannot save a KNeighborsClassifier"):
        save_model(KNeighborsClassifier(3).fit(X, y), tmp_path / "k.json")


def test_model_inputs_are_checked_against_the_file(radscore_file):
    from radsig.models import check_model_inputs

    _, path, X = radscore_file
    doc, _ = read_model_file(path)
    check_model_inputs(doc, X.columns, feature_settings_hash="abc123")
    with pytest.raises(ModelFileError, match="lacks 1 of the 15 features"):
        check_model_inputs(doc, X.columns[1:])
    with pytest.raises(ModelFileError, match="settings hash zzz, but the model expects abc123"):
        check_model_inputs(doc, X.columns, feature_settings_hash="zzz")
