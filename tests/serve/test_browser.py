"""The web nomogram in a real headless Chromium (Selenium + Debian's chromium-driver): the page
served by ``radsig serve`` and the static file of ``radsig nomogram`` give ``radsig predict``'s
numbers; the static file opens from disk with nothing fetched and holds no training patient value."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# slow: they share the session fixtures that score every external patient (images) and run predict
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group(name="demo")]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
TOL = 1e-9
PATIENTS = 3


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        print("skipping browser tests: chromium / chromedriver not installed (apt-get install chromium chromium-driver)")
        pytest.skip("chromium / chromedriver not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="radsig-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage", "--no-first-run", f"--user-data-dir={profile}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _fill(driver, features: dict, clinical: dict) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    for name, value in clinical.items():
        elem = driver.find_element(By.ID, f"clin-{name}")
        if elem.tag_name == "select":
            Select(elem).select_by_value(str(value))
        else:
            elem.clear()
            elem.send_keys(repr(value) if isinstance(value, float) else str(value))
    paste = driver.find_element(By.ID, "paste")  # features pasted as JSON, as from a feature table
    paste.clear()
    driver.execute_script("arguments[0].value = arguments[1];", paste, json.dumps({"features": features}))
    driver.find_element(By.ID, "paste-apply").click()


def _read(driver, model: dict) -> dict:
    from selenium.webdriver.common.by import By

    out = {}
    for m in model["models"]:
        row = driver.find_element(By.ID, f"res-{m['name']}")
        if row.get_attribute("data-status") != "ok":
            continue
        out[m["name"]] = {"score": float(row.get_attribute("data-score")), "group": row.get_attribute("data-group")}
        if row.get_attribute("data-probability"):
            out[m["name"]]["probability"] = float(row.get_attribute("data-probability"))
            out[m["name"]]["ci"] = (float(row.get_attribute("data-ci-low")), float(row.get_attribute("data-ci-high")))
    return out


def _check(page: dict, ref: pd.Series, names, service: dict | None = None) -> None:
    assert set(page) == set(names)
    for n in names:
        assert abs(page[n]["score"] - ref[f"{n}_score"]) <= TOL, n
        assert page[n]["group"] == ref[f"{n}_group"], n
        if f"{n}_probability" in ref.index:
            assert abs(page[n]["probability"] - ref[f"{n}_probability"]) <= TOL, n
        if service is not None and "ci" in page[n]:  # the page's delta-method CI == the service's
            s = service["predictions"][n]
            np.testing.assert_allclose(page[n]["ci"], (s["ci_low"], s["ci_high"]), rtol=1e-9, atol=1e-12)


def test_served_page_equals_radsig_predict(browser, server, service_images, predict_external, model_path, external, http):
    """Three external patients typed / pasted into the page at GET /: every model the page computes
    equals ``radsig predict`` to 1e-9, and its CIs equal the service's."""
    doc = json.loads(model_path.read_text())
    browser.get(server.url + "/")
    names = [m["name"] for m in doc["models"]]
    for pid in sorted(service_images)[:PATIENTS]:
        clinical = http.clinical_json(external["clinical"].loc[pid], doc["clinical_columns"])
        _fill(browser, service_images[pid]["features"], clinical)
        _check(_read(browser, doc), predict_external.loc[pid], names, service_images[pid])


def test_nomogram_points_move_with_the_inputs(browser, server, service_images, model_path, external, http):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    doc = json.loads(model_path.read_text())
    browser.get(server.url + "/")
    pid = sorted(service_images)[0]
    _fill(browser, service_images[pid]["features"], http.clinical_json(external["clinical"].loc[pid], doc["clinical_columns"]))
    Select(browser.find_element(By.ID, "nomo-model")).select_by_value("combined")
    svg = browser.find_element(By.ID, "nomogram-svg")
    lp = float(svg.get_attribute("data-lp"))
    score = float(browser.find_element(By.ID, "res-combined").get_attribute("data-score"))
    assert abs(lp - score) < 1e-9  # total points map back to the model's linear predictor
    before = float(browser.find_element(By.ID, "nomo-total").get_attribute("data-points"))
    elem = browser.find_element(By.ID, "clin-immune_score")
    elem.clear()
    elem.send_keys("90")
    after = float(browser.find_element(By.ID, "nomo-total").get_attribute("data-points"))
    assert after > before  # immune score has a positive coefficient in the demo's combined model
    assert float(browser.find_element(By.ID, "nomogram-svg").get_attribute("data-lp")) == pytest.approx(
        float(browser.find_element(By.ID, "res-combined").get_attribute("data-score")), abs=1e-9)


def _numbers(text: str) -> list[str]:
    return re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)


def _significant(v: float) -> int:
    return len(repr(abs(v)).split("e")[0].replace(".", "").lstrip("0"))


def test_static_nomogram_offline_and_free_of_patient_values(browser, model_path, demo_dir, service_images,
                                                          predict_external, external, http, tmp_path):
    """``radsig nomogram`` writes one file that opens from disk with nothing fetched, scores like
    ``radsig predict``, and contains no value of any training patient row (features or clinical)."""
    out = tmp_path / "nomogram.html"
    res = http.radsig("nomogram", model_path, "--out", out)
    assert res.returncode == 0, res.stderr
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html)  # nothing to download
    train_f = pd.read_csv(demo_dir / "features" / "training_features.csv", index_col=0)
    train_c = pd.read_csv(demo_dir / "data" / "training_clinical.csv")
    tokens = {float(t) for t in _numbers(html)}
    checked = 0
    for v in np.r_[train_f.to_numpy(float).ravel(), train_c.select_dtypes("number").to_numpy(float).ravel()]:
        if np.isfinite(v) and _significant(float(v)) >= 5:  # values that identify a row (rounded summaries have 4)
            assert repr(float(v)) not in html and float(v) not in tokens, v
            checked += 1
    assert checked > 10_000
    assert not any(pid in html for pid in train_c["patient_id"].astype(str))
    doc = json.loads(model_path.read_text())
    browser.get(Path(out).as_uri())
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    pid = sorted(service_images)[1]
    _fill(browser, service_images[pid]["features"], http.clinical_json(external["clinical"].loc[pid], doc["clinical_columns"]))
    _check(_read(browser, doc), predict_external.loc[pid], [m["name"] for m in doc["models"]])


def test_served_page_scores_uploaded_images(browser, server, service_images, predict_external, model_path, external,
                                           http):
    """The page's image upload (file inputs, the bearer token typed in): the service extracts the
    features, the page fills them in and scores them == ``radsig predict``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    doc = json.loads(model_path.read_text())
    browser.get(server.url + "/")
    # a patient every feature family gives values for (the page does not impute)
    pid = next(p for p in sorted(service_images) if None not in service_images[p]["features"].values())
    rows = external["manifest"][external["manifest"]["patient_id"] == pid]
    clinical = http.clinical_json(external["clinical"].loc[pid], doc["clinical_columns"])
    _fill(browser, {}, clinical)
    for rec in rows.to_dict("records"):
        for part in ("image", "mask"):
            browser.find_element(By.ID, f"up-{rec['modality']}_{part}").send_keys(str(external["data"] / rec[part]))
    browser.find_element(By.ID, "token").send_keys(http.TOKEN)
    browser.find_element(By.ID, "upload").click()
    WebDriverWait(browser, 120).until(
        lambda d: d.find_element(By.ID, "upload-status").text not in ("", "extracting…"))
    assert browser.find_element(By.ID, "upload-status").text == "features filled from the images"
    _check(_read(browser, doc), predict_external.loc[pid], [m["name"] for m in doc["models"]])
