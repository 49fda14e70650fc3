"""The web nomogram: one self-contained HTML page (inline CSS + vanilla JS, nothing downloaded).

``GET /`` serves it; ``radsig nomogram MODEL.json --out nomogram.html`` writes the same page as a
static file. The page embeds only what scoring needs — coefficients, centres and scales (training
means and SDs), parameter covariances, cut-offs, Cox baseline hazards at the horizons — and the
rounded training summaries of :mod:`radsig.study.uncertainty` (ranges, percentiles). It does not
embed the imputation values (training medians, which for an odd n are one patient's value): the
page scores only complete inputs and says that the service imputes missing ones.

The points view uses the nomogram geometry of :func:`radsig.report.nomogram.nomogram_scales` (the
report's figure), computed here for each linear model on raw units.
"""

from __future__ import annotations

import json
from importlib import resources
from types import SimpleNamespace

import numpy as np

from radsig.serve.scoring import CI_METHOD, ServedModel
from radsig.study import modelling as mdl

_TERM_KEYS = ("source", "name", "label", "column", "level", "center", "scale", "coef")


def _page_model(m: dict) -> dict:
    out = {k: m[k] for k in ("name", "kind", "link") if k in m}
    out["computable"] = _computable(m)
    if m["kind"] == "ensemble":
        out["members"] = [_page_model(x) for x in m["members"]]
    elif m["kind"] != "learner":
        out["intercept"] = m["intercept"]
        out["terms"] = [{k: t[k] for k in _TERM_KEYS if k in t} for t in m["terms"]]
        if "covariance" in m:
            out["covariance"] = m["covariance"]
    for k in ("cutoff", "baseline", "endpoint"):
        if k in m:
            out[k] = m[k]
    return out


def _computable(m: dict) -> bool:
    if m["kind"] == "learner":
        return False
    if m["kind"] == "ensemble":
        return all(_computable(x) for x in m["members"])
    return True


def _range(summary: dict | None) -> list[float] | None:
    if not summary or "min" not in summary:
        return None
    return [summary["min"], summary["max"]]


def nomogram_geometry(sm: ServedModel, m: dict) -> dict | None:
    """Points scales of a linear model on raw input units (None when a range is unknown)."""
    from radsig.report.nomogram import nomogram_scales

    if m["kind"] in ("ensemble", "learner") or not m.get("terms"):
        return None
    summ = sm.doc.get("training_summary", {})
    coef, ranges, labels = [], [], []
    intercept = float(m["intercept"])
    for t in m["terms"]:
        if t["source"] == "feature":
            r = _range(summ.get("features", {}).get(t["name"]))
        elif t["source"] == "model":
            r = _range(summ.get("scores", {}).get(t["name"]))
        elif "level" in t:
            r = [0.0, 1.0]
        else:
            r = _range(summ.get("clinical", {}).get(t["column"]))
        if r is None:
            return None
        coef.append(t["coef"] / t["scale"])
        intercept -= t["coef"] * t["center"] / t["scale"]
        ranges.append(r)
        labels.append(t["label"])
    sc = nomogram_scales(SimpleNamespace(coef_=np.array(coef), ranges_=np.array(ranges, float),
                                         predictors_=labels, intercept_=intercept))
    lo = np.where(sc.coef >= 0, sc.ranges[:, 0], sc.ranges[:, 1])
    return {"predictors": labels, "ranges": sc.ranges.tolist(), "points_per_unit": sc.points_per_unit.tolist(),
            "lo": lo.tolist(), "lp_at_zero_points": sc.lp_at_zero_points, "lp_per_point": sc.lp_per_point,
            "max_total": sc.max_total}


def page_data(sm: ServedModel, *, served: bool) -> dict:
    """Everything the page's script reads (no patient rows, no imputation values)."""
    doc = sm.doc
    summ = doc.get("training_summary", {})
    models = [_page_model(m) for m in doc["models"]]
    feats = sorted({f for m in doc["models"] if _computable(m) for f in mdl.model_features(m)})
    clinical = []
    for c in doc["clinical_columns"]:
        s = summ.get("clinical", {}).get(c, {})
        if c in sm.levels:
            clinical.append({"name": c, "type": "categorical", "levels": sm.levels[c] or []})
        else:
            clinical.append({"name": c, "type": "numeric", "range": _range(s),
                             "median": s.get("p50")})
    return {
        "served": served,
        "model": sm.identity(),
        "description": doc.get("description", ""),
        "modalities": doc["modalities"],
        "clinical": clinical,
        "features": [{"name": f, "range": _range(summ.get("features", {}).get(f)),
                      "median": summ.get("features", {}).get(f, {}).get("p50")} for f in feats],
        "models": models,
        "descriptions": doc.get("model_descriptions", {}),
        "nomograms": {m["name"]: g for m in doc["models"] if (g := nomogram_geometry(sm, m))},
        "ci_method": CI_METHOD,
    }


def _script_json(obj) -> str:
    """JSON safe inside a <script> element (no '</script>', no HTML comment openers)."""
    text = json.dumps(obj, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(sm: ServedModel, *, served: bool) -> str:
    """The page as one HTML string."""
    import jinja2
    from markupsafe import Markup

    src = (resources.files("radsig.serve") / "templates" / "nomogram.html.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(src).render(title=sm.name, data=Markup(_script_json(page_data(sm, served=served))))
