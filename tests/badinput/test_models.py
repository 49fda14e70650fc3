"""Bad model files: every wrong, truncated, tampered or foreign file is a ModelFileError that names
the file and what is wrong; `radsig predict` turns it into one `error:` line, exit 2.

The study document here is small and hand-built (the shape radsig.study.modelling freezes), written
by the same serializer `radsig study` uses, so these tests need no demo run.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from radsig.exceptions import ModelFileError
from radsig.models.serialize import _checksum, read_model_file, write_model_file


def _term(name, coef, **extra):
    return {"source": "feature", "name": name, "label": name, "impute": 1.0, "center": 1.0,
            "scale": 2.0, "coef": coef, **extra}


def _study_doc() -> dict:
    """Content of a study model file: a radiomics model and a nomogram on top of it."""
    rad = {"name": "radiomics", "kind": "radiomics", "link": "logistic", "intercept": -0.5,
           "terms": [_term("CT_firstorder_Mean", 0.8), _term("PET_glcm_Contrast", -0.3)],
           "cutoff": {"value": 0.1, "method": "median"}, "endpoint": "response",
           "survival_endpoints": []}
    nomo = {"name": "combined", "kind": "combined", "link": "logistic", "intercept": 0.2,
            "terms": [{**_term("radiomics", 1.1), "source": "model"},
                      {**_term("age", 0.02), "source": "clinical", "column": "age"}],
            "cutoff": {"value": 0.0, "method": "median"}, "endpoint": "response",
            "survival_endpoints": []}
    return {"study": "unit", "id_column": "patient_id",
            "feature_settings": {"raw": {"setting": {"binWidth": 25}}, "hash": "abc", "extractor": "radsig.features"},
            "modalities": ["CT", "PET"], "clinical_columns": ["age"], "models": [rad, nomo]}


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.json"
    write_model_file(_study_doc(), path)
    return path


def _resign(doc: dict) -> dict:
    """An edit made by someone who also recomputed the checksum (so the schema check must catch it)."""
    doc["checksum"] = _checksum(doc)
    return doc


def _edit(fn, resign=True):
    def apply(path):
        doc = json.loads(path.read_text())
        fn(doc)
        path.write_text(json.dumps(_resign(doc) if resign else doc))
    return apply


def _text(text):
    def apply(path):
        path.write_text(text)
    return apply


def _bytes(fn):
    def apply(path):
        path.write_bytes(fn(path.read_bytes()))
    return apply


def _set_coef(doc, value):
    doc["models"][0]["terms"][0]["coef"] = value


def _nan_literal(path):
    doc = json.loads(path.read_text())
    _set_coef(doc, 12345.5)
    path.write_text(json.dumps(_resign(doc)).replace("12345.5", "NaN"))


def _huge_literal(path):
    doc = json.loads(path.read_text())
    _set_coef(doc, 12345.5)
    path.write_text(json.dumps(_resign(doc)).replace("12345.5", "1e999"))


def _foreign_estimator(doc):
    from sklearn.linear_model import LogisticRegression

    from radsig.models import model_document

    est = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    inner = model_document(est)
    inner["model"]["__object__"] = "os.system"
    inner["checksum"] = _checksum(inner)
    term = _term("CT_firstorder_Mean", 0.0)
    doc["models"].append({"name": "forest", "kind": "learner", "learner": "rf", "link": "logistic",
                          "terms": [term], "estimator": inner, "member_of": "x",
                          "cutoff": {"value": 0.0, "method": "median"}})


CASES = {
    # kind of bad file: (how to make it, words the message must hold)
    "json_array": (_text("[1, 2, 3]"), ["JSON is a list", "not an object"]),
    "json_string": (_text('"radsig"'), ["JSON is a str"]),
    "deep_nesting": (_text("[" * 100000 + "]" * 100000), ["nested too deeply"]),
    "moderate_nesting": (_edit(lambda d: d.update(extra=json.loads("[" * 80 + "]" * 80))),
                         ["nested too deeply", "64 levels"]),
    "truncated": (_bytes(lambda b: b[: len(b) // 2]), ["not a readable radsig model file"]),
    "empty_file": (_text(""), ["not a readable radsig model file"]),
    "pickle_bytes": (_bytes(lambda b: b"\x80\x04\x95pickle"), ["not UTF-8"]),
    "foreign_json_object": (_text('{"weights": [1, 2]}'), ["not a radsig model file", "format None"]),
    "future_version": (_edit(lambda d: d.update(format_version=99)), ["format_version 99"]),
    "unknown_content": (_edit(lambda d: d.update(content="pipeline")), ["content 'pipeline'"]),
    "no_checksum": (_edit(lambda d: d.pop("checksum"), resign=False), ["no checksum"]),
    "tampered_coefficient": (_edit(lambda d: _set_coef(d, 5.0), resign=False), ["checksum mismatch"]),
    "tampered_cutoff": (_edit(lambda d: d["models"][0]["cutoff"].update(value=-9), resign=False),
                        ["checksum mismatch"]),
    "nan_literal_coefficient": (_nan_literal, ["NaN is not a finite number"]),
    "overflow_coefficient": (_huge_literal, ["1e999 is not a finite number"]),
    "null_coefficient": (_edit(lambda d: _set_coef(d, None)),
                         ["models[0].terms[0].coef must be", "NoneType"]),
    "text_coefficient": (_edit(lambda d: _set_coef(d, "0.8")), ["models[0].terms[0].coef", "str"]),
    "missing_key": (_edit(lambda d: d.pop("id_column")), ["missing key", "id_column"]),
    "missing_models": (_edit(lambda d: d.pop("models")), ["missing key", "models"]),
    "no_models": (_edit(lambda d: d.update(models=[])), ["models is empty"]),
    "unknown_kind": (_edit(lambda d: d["models"][0].update(kind="xgboost")),
                     ["kind", "'xgboost' is not allowed"]),
    "unknown_link": (_edit(lambda d: d["models"][0].update(link="probit")),
                     ["link", "'probit' is not allowed"]),
    "unknown_term_source": (_edit(lambda d: d["models"][0]["terms"][0].update(source="python")),
                            ["models[0].terms[0].source", "'python' is not allowed"]),
    "zero_scale": (_edit(lambda d: d["models"][0]["terms"][0].update(scale=0)),
                   ["models[0].terms[0].scale is 0"]),
    "model_term_undefined": (_edit(lambda d: d["models"].reverse()),
                             ["uses model 'radiomics'", "no earlier model"]),
    "model_not_object": (_edit(lambda d: d["models"].__setitem__(0, [1])), ["models[0] must be an object"]),
    "learner_foreign_class": (_edit(_foreign_estimator), ["'os.system'", "allow-list"]),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_bad_model_file_is_a_model_file_error(kind, model_file):
    make, words = CASES[kind]
    make(model_file)
    with pytest.raises(ModelFileError) as info:
        read_model_file(model_file)
    msg = str(info.value)
    assert str(model_file) in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelFileError, match=r"model file not found: .*nope\.json"):
        read_model_file(tmp_path / "nope.json")


def test_round_trip_gives_document_and_checksum(model_file):
    doc, checksum = read_model_file(model_file)
    assert doc["format"] == "radsig-model" and doc["format_version"] == 1 and doc["content"] == "study"
    assert checksum == doc["checksum"] and checksum.startswith("sha256:") and len(checksum) == 71
    import hashlib

    body = {k: v for k, v in doc.items() if k != "checksum"}
    canon = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert checksum == "sha256:" + hashlib.sha256(canon.encode()).hexdigest()
    assert doc["models"] == json.loads(json.dumps(_study_doc()["models"]))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, np.float32("nan")])
def test_writing_a_non_finite_number_is_refused_and_leaves_the_old_file(model_file, value):
    before = model_file.read_bytes()
    doc = _study_doc()
    _set_coef(doc, value)
    with pytest.raises(ModelFileError, match=r"models\[0\]\.terms\[0\]\.coef is (nan|inf|-inf)"):
        write_model_file(doc, model_file)
    assert model_file.read_bytes() == before
    assert [p.name for p in model_file.parent.iterdir()] == [model_file.name]  # no temporary file left


def test_writing_an_unknown_kind_is_refused(tmp_path):
    doc = _study_doc()
    doc["models"][0]["kind"] = "xgboost"
    with pytest.raises(ModelFileError, match="'xgboost' is not allowed"):
        write_model_file(doc, tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("kind", ["tampered_coefficient", "json_array", "unknown_link", "nan_literal_coefficient"])
def test_predict_cli_refuses_bad_model_file(kind, model_file, run_cli, tmp_path):
    CASES[kind][0](model_file)
    out = tmp_path / "pred.csv"
    res = run_cli("predict", model_file, tmp_path / "img.nii.gz", tmp_path / "mask.nii.gz", "--out", out)
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(model_file) in lines[0], res.stderr
    assert not out.exists()


def test_estimator_file_read_by_predict_is_refused(tmp_path):
    from sklearn.linear_model import LogisticRegression

    from radsig.models import save_model
    from radsig.study.predict import load_study_model

    est = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    path = save_model(est, tmp_path / "est.json")
    with pytest.raises(ModelFileError, match="holds a single estimator"):
        load_study_model(path)
