"""``radsig serve`` through a real server process over HTTP (loopback): equality with
``radsig predict``, the response shape, and refusals (status + the field named)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.xdist_group(name="demo")  # reads the session's demo run
TOL = 1e-9


def _compare(pred: dict, ref: pd.Series, name: str) -> None:
    assert abs(pred["score"] - ref[f"{name}_score"]) <= TOL, name
    if f"{name}_probability" in ref.index:
        assert abs(pred["probability"] - ref[f"{name}_probability"]) <= TOL, name
        assert pred["ci_low"] <= pred["probability"] <= pred["ci_high"], name
    assert pred["group"] == ref[f"{name}_group"], name
    assert pred["score_ci_low"] < pred["score"] < pred["score_ci_high"], name


@pytest.mark.slow
def test_images_and_features_equal_radsig_predict(server, service_images, predict_external, model_path, external, http):
    """Every external patient: images uploaded → the service == ``radsig predict`` (CLI) to 1e-9, every
    model; the features the service extracted, sent back as JSON, give the same numbers again."""
    doc = json.loads(model_path.read_text())
    names = [m["name"] for m in doc["models"]]
    assert set(service_images) == set(predict_external.index)
    for pid, body in service_images.items():
        ref = predict_external.loc[pid]
        assert set(body["predictions"]) == set(names), body["warnings"]
        for name in names:
            _compare(body["predictions"][name], ref, name)
        clinical = http.clinical_json(external["clinical"].loc[pid], doc["clinical_columns"])
        status, again, _ = http.post_json(server.url + "/v1/score", {"features": body["features"], "clinical": clinical})
        assert status == 200, again
        assert again["model"] == body["model"]
        for name in names:
            _compare(again["predictions"][name], ref, name)


def test_feature_batch_csv_equals_study_predictions(server, demo_dir, http):
    """The study's external feature table + clinical table as one CSV batch: the same numbers as
    the study's predictions.csv (which radsig predict reproduces), per patient, to 1e-9."""
    feats = pd.read_csv(demo_dir / "features" / "external_features.csv")
    clin = pd.read_csv(demo_dir / "data" / "external_clinical.csv")
    table = feats.merge(clin, on="patient_id")
    status, body, _ = http.call(server.url + "/v1/score/batch", data=table.to_csv(index=False).encode(),
                           headers={"Content-Type": "text/csv"})
    assert status == 200, body
    ref = pd.read_csv(demo_dir / "predictions.csv")
    ref = ref[ref["cohort"] == "external"].set_index("patient_id")
    assert len(body["results"]) == len(table)
    for res in body["results"]:
        for name, pred in res["predictions"].items():
            _compare(pred, ref.loc[res["id"]], name)


def test_response_shape_risk_ci_and_warnings(server, demo_dir, model_path, http):
    doc = json.loads(model_path.read_text())
    feats = pd.read_csv(demo_dir / "features" / "external_features.csv").set_index("patient_id").iloc[0]
    cox = [m for m in doc["models"] if m["link"] == "cox"]
    radiomics = next(m for m in doc["models"] if m["name"] == "radiomics")
    f = {t: float(feats[t]) for t in doc["training_summary"]["features"]}
    rng = doc["training_summary"]["features"]["CT_stat_iqr"]
    f["CT_stat_iqr"] = rng["max"] * 10  # far outside the training range
    f[next(n for n in f if n.startswith("PET_deep"))] = None  # missing → imputed (TRIPOD+AI 27a)
    status, body, headers = http.post_json(server.url + "/v1/score", {"features": f})  # no clinical
    assert status == 200, body
    assert set(body["model"]) == {"name", "version", "checksum"} and body["model"]["checksum"].startswith("sha256:")
    assert body["model"]["checksum"] == doc["checksum"]  # the model file's verified header field
    codes = {(w["code"], w.get("model"), w.get("input")) for w in body["warnings"]}
    for m in doc["models"]:  # models needing clinical columns: not scored, listed
        if any(t["source"] == "clinical" for t in m.get("terms", [])):
            assert m["name"] not in body["predictions"] and ("model_not_scored", m["name"], None) in codes
    assert ("outside_training_range", None, "features.CT_stat_iqr") in codes
    out = next(w for w in body["warnings"] if w.get("input") == "features.CT_stat_iqr")
    assert out["training_range"] == [rng["min"], rng["max"]]
    assert any(w["code"] == "missing_input_imputed" and "training median" in w["message"] for w in body["warnings"])
    p = body["predictions"]["radiomics"]
    assert p["cutoff"]["value"] == radiomics["cutoff"]["value"]
    assert p["group"] == ("high" if p["score"] > radiomics["cutoff"]["value"] else "low")
    for m in cox:
        if m["name"] in body["predictions"]:
            r = body["predictions"][m["name"]]
            hz = [f"{h:g}" for h in m["baseline"]["horizons"]]
            assert list(r["risk"]) == hz and all(r["ci_low"][h] <= r["risk"][h] <= r["ci_high"][h] for h in hz)
            h0 = np.array(m["baseline"]["cumulative_hazard"])
            np.testing.assert_allclose(list(r["risk"].values()), 1 - np.exp(-h0 * np.exp(r["score"])), rtol=1e-12)
    assert not any(k.lower().startswith("access-control") for k in headers)  # no CORS


def test_ci_is_the_delta_method_on_the_stored_covariance(server, demo_dir, model_path, http):
    """CI of the radiomics model recomputed by hand: g' Σ g with g = [1, z], Wald, expit."""
    doc = json.loads(model_path.read_text())
    m = next(m for m in doc["models"] if m["name"] == "radiomics")
    feats = pd.read_csv(demo_dir / "features" / "external_features.csv").set_index("patient_id").iloc[3]
    status, body, _ = http.post_json(server.url + "/v1/score", {"features": {t["name"]: float(feats[t["name"]])
                                                                        for t in m["terms"]}})
    assert status == 200, body
    g = np.r_[1.0, [(feats[t["name"]] - t["center"]) / t["scale"] for t in m["terms"]]]
    se = np.sqrt(g @ np.asarray(m["covariance"]) @ g)
    lp = body["predictions"]["radiomics"]["score"]
    ex = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    np.testing.assert_allclose([body["predictions"]["radiomics"]["ci_low"], body["predictions"]["radiomics"]["ci_high"]],
                               [ex(lp - 1.959963984540054 * se), ex(lp + 1.959963984540054 * se)], rtol=1e-10)


def _fields(body):
    return {d["field"] for d in body["detail"]}


def test_bad_requests_name_the_field(server, external, http):
    url = server.url + "/v1/score"
    status, body, _ = http.call(url, data=b'{"features": {"CT_stat_iqr": 1.0,', headers={"Content-Type": "application/json"})
    assert status == 422 and _fields(body) == {"body"} and "malformed JSON" in body["detail"][0]["message"]
    status, body, _ = http.post_json(url, {"features": {"CT_stat_iqr": "high"}, "clinical": {"age": [60], "sex": "M"}})
    assert status == 422 and _fields(body) == {"features.CT_stat_iqr", "clinical.age", "clinical.sex"}
    assert "expected a number" in next(d for d in body["detail"] if d["field"] == "clinical.age")["message"]
    assert "not a level" in next(d for d in body["detail"] if d["field"] == "clinical.sex")["message"]
    status, body, _ = http.post_json(url, {})
    assert status == 422 and _fields(body) == {"features"} and "missing" in body["detail"][0]["message"]
    status, body, _ = http.post_json(url, {"features": [1, 2]})
    assert status == 422 and _fields(body) == {"features"}
    status, body, _ = http.post_json(url, {"features": {"CT_stat_iqr": 1.0}, "model": {"version": "1999-01-01"}})
    assert status == 422 and _fields(body) == {"model.version"} and "unknown model version" in body["detail"][0]["message"]
    status, body, _ = http.post_json(url, {"features": {"CT_stat_iqr": 1.0}, "model": {"checksum": "sha256:00"}})
    assert status == 422 and _fields(body) == {"model.checksum"}
    status, body, _ = http.post_json(server.url + "/v1/score/batch", [{"features": {"CT_stat_iqr": 1.0}}, {"features": {"CT_stat_iqr": "x"}}])
    assert status == 422 and _fields(body) == {"[1].features.CT_stat_iqr"}
    status, body, _ = http.call(server.url + "/v1/score/batch", data=b"patient_id,CT_stat_iqr\nA,1.5\nB,abc\n",
                           headers={"Content-Type": "text/csv"})
    assert status == 422 and _fields(body) == {"row 2: features.CT_stat_iqr"}


def test_bad_uploads(server, external, http):
    url, data = server.url + "/v1/score", external["data"]
    ct, mask = (data / "images/EXT0001_ct.nii.gz").read_bytes(), (data / "images/EXT0001_mask.nii.gz").read_bytes()
    status, body, _ = http.post_images(url, {"MR_image": ("mr.nii.gz", ct), "MR_mask": ("m.nii.gz", mask)})
    assert status == 422 and _fields(body) == {"MR_image", "MR_mask"} and "wrong modality" in body["detail"][0]["message"]
    status, body, _ = http.post_images(url, {"CT_image": ("ct.nii.gz", ct)})
    assert status == 422 and _fields(body) == {"CT_mask"}
    status, body, _ = http.post_images(url, {"CT_image": ("notes.txt", b"not an image at all"), "CT_mask": ("m.nii.gz", mask)})
    assert status == 422 and _fields(body) == {"CT_image"} and "not a NIfTI" in body["detail"][0]["message"]
    big = ct + b"\0" * int(http.MAX_MB * 2**20)
    status, body = http.post_oversize(url, *http.multipart({"CT_image": ("ct.nii.gz", big), "CT_mask": ("m.nii.gz", mask)}))
    assert status == 413 and _fields(body) == {"body"} and "MiB" in body["detail"][0]["message"]
    # CT only: the models that need PET are listed as not scored, the CT-only ones are scored
    status, body, _ = http.post_images(url, {"CT_image": ("ct.nii.gz", ct), "CT_mask": ("m.nii.gz", mask)})
    assert status == 200, body
    assert "radiomics" in body["predictions"] and "ensemble" not in body["predictions"]
    assert any(w["code"] == "model_not_scored" and w["model"] == "ensemble" for w in body["warnings"])


def test_token_required_and_no_cors(server, http):
    for token in (None, "wrong"):
        status, body, headers = http.post_json(server.url + "/v1/score", {"features": {}}, token=token)
        assert status == 401 and _fields(body) == {"Authorization"} and headers.get("www-authenticate") == "Bearer"
        assert http.call(server.url + "/v1/model", token=token)[0] == 401
    status, body, headers = http.call(server.url + "/v1/model", headers={"Origin": "https://elsewhere.example"})
    assert status == 200 and not any(k.lower().startswith("access-control") for k in headers)
    status, _, headers = http.call(server.url + "/v1/score", method="OPTIONS", headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"})
    assert status in (401, 405) and not any(k.lower().startswith("access-control") for k in headers)
    assert http.call(server.url + "/healthz", token=None)[0] == 200


def test_model_card_json(server, model_path, demo_dir, http):
    status, card, _ = http.call(server.url + "/v1/model")
    assert status == 200
    doc = json.loads(model_path.read_text())
    results = json.loads((demo_dir / "results.json").read_text())
    assert card["model"]["checksum"].startswith("sha256:")
    assert set(card["tripod_ai"]) == {"22", "12g", "15", "23a", "27a"}
    assert [c["n"] for c in card["cohorts"]] == [results["flow"][c["name"]]["analysed"] for c in card["cohorts"]]
    m = next(x for x in card["models"] if x["name"] == "combined")
    assert m["threshold"]["value"] == next(x for x in doc["models"] if x["name"] == "combined")["cutoff"]["value"]
    assert m["performance"]["external"]["auc"] == results["models"]["combined"]["cohorts"]["external"]["auc"]
    assert "calibration_slope" in m["performance"]["external"]
    assert card["inputs"]["feature_settings"]["hash"] == doc["feature_settings"]["hash"]


def test_audit_log_is_append_only_json_lines_without_values(server, demo_dir, http):
    before = server.audit.read_text().splitlines() if server.audit.exists() else []
    marker = 0.123456789123
    status, _, _ = http.post_json(server.url + "/v1/score", {"features": {"CT_stat_iqr": marker}})
    assert status == 200
    lines = server.audit.read_text().splitlines()
    assert lines[: len(before)] == before and len(lines) == len(before) + 1
    rec = json.loads(lines[-1])
    assert {"time", "model_checksum", "input_sha256", "output", "status"} <= set(rec)
    assert rec["status"] == 200 and "radiomics" in rec["output"]["predictions"]
    assert str(marker) not in lines[-1] and "input" not in rec
