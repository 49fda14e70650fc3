"""``radsig card`` (Markdown / HTML) and the page's embedding of model text (no script injection)."""

from __future__ import annotations

import copy
import json
import re

import pytest

from radsig.serve.page import page_data, render_page
from radsig.serve.scoring import ServedModel
from radsig.study import modelling as mdl

pytestmark = pytest.mark.xdist_group(name="demo")


@pytest.mark.parametrize("suffix", ["md", "html"])
def test_card_cli(model_path, demo_dir, http, tmp_path, suffix):
    out = tmp_path / f"card.{suffix}"
    res = http.radsig("card", model_path, "--out", out)
    assert res.returncode == 0, res.stderr
    text = out.read_text(encoding="utf-8")
    doc = json.loads(model_path.read_text())
    results = json.loads((demo_dir / "results.json").read_text())
    sm = ServedModel.load(model_path)
    assert sm.checksum in text and sm.version in text and doc["feature_settings"]["hash"] in text
    for m in doc["models"]:
        formula = mdl.formula(m)
        assert (formula if suffix == "md" else formula.replace("&", "&amp;")) in text, m["name"]
        ext = results["models"][m["name"]]["cohorts"]["external"]
        key = "auc" if "auc" in ext else "c_index"
        assert f"{ext[key]['estimate']:.3f} ({ext[key]['ci_low']:.3f}–{ext[key]['ci_high']:.3f})" in text
    for item in ("22", "12g", "15", "23a", "27a"):
        assert re.search(rf"\b{item}\b", text)
    for c, f in results["flow"].items():
        assert c in text and str(f["analysed"]) in text


def test_model_text_cannot_inject_script(model_path):
    sm = ServedModel.load(model_path)
    sm.doc = copy.deepcopy(sm.doc)
    evil = "</script><script>window.pwned=1</script><!--"
    sm.doc["study"] = evil
    sm.doc["description"] = evil
    html = render_page(sm, served=False)
    assert evil not in html and html.count("</script>") == 2
    data = html.split('<script type="application/json" id="model-data">', 1)[1].split("</script>", 1)[0]
    assert json.loads(data)["model"]["name"] == evil  # intact once parsed, inert as HTML


def test_page_data_has_no_imputation_values(model_path):
    sm = ServedModel.load(model_path)
    text = json.dumps(page_data(sm, served=False))
    assert '"impute"' not in text and '"estimator"' not in text
    # the training medians of the features (those precise enough to be one patient's value; a
    # median of 0.0 — a ReLU deep feature — is not), compared as numbers with the page's numbers
    imputes = [t["impute"] for m in mdl.evaluated_models(sm.doc["models"]) for t in _terms(m)
               if t["source"] == "feature" and len(repr(abs(t["impute"])).replace(".", "").lstrip("0")) >= 5]
    numbers = {float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)}
    assert imputes and not any(v in numbers for v in imputes)


def _terms(m):
    return [t for x in m["members"] for t in _terms(x)] if m["kind"] == "ensemble" else m.get("terms", [])


def test_cli_errors_are_one_line(http, tmp_path):
    bad = tmp_path / "model.json"
    bad.write_text('{"format": "something else"}')
    for args in (("serve", tmp_path / "missing.json", "--port", "1"), ("serve", bad, "--port", "1"),
                 ("nomogram", bad, "--out", tmp_path / "n.html"), ("card", bad, "--out", tmp_path / "c.md")):
        res = http.radsig(*args, timeout=120)
        assert res.returncode == 2, (args, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and str(args[1].name) in lines[0]
    res = http.radsig("serve", tmp_path / "missing.json", "--token-file", tmp_path / "none.txt", timeout=120)
    assert res.returncode == 2 and "token file not found" in res.stderr
