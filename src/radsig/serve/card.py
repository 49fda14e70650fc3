"""The model card: ``radsig card MODEL.json --out card.html|md`` and ``GET /v1/model``.

Built from the frozen model (``model.json``) and, when it sits next to it, the study's
``results.json`` (performance with CIs per cohort, calibration). Holds no patient rows.
"""

from __future__ import annotations

import json
from pathlib import Path

from radsig.serve.scoring import CI_METHOD, ServedModel
from radsig.study import modelling as mdl

PERF_KEYS = ("auc", "c_index", "brier", "calibration_slope", "calibration_intercept", "observed_expected")


def _performance(results: dict | None, name: str) -> dict:
    if not results:
        return {}
    entry = results.get("models", {}).get(name, {})
    out = {}
    for cohort, met in entry.get("cohorts", {}).items():
        out[cohort] = {k: met[k] for k in (*PERF_KEYS, "n") if k in met}
        out[cohort].update({k: v for k, v in met.items() if k.startswith(("auc_t", "time_auc", "brier_t"))})
    return out


def _cutoff_how(method: str) -> str:
    return {"median (training)": "median of the Rad-score in the training cohort"}.get(method, method)


def model_card(sm: ServedModel) -> dict:
    """The card as a JSON-able dict."""
    doc = sm.doc
    res_file = sm.path.parent / "results.json"
    results = json.loads(res_file.read_text(encoding="utf-8")) if res_file.is_file() else None
    flow = (results or {}).get("flow", {})
    eps = {e["name"]: e for e in doc.get("endpoints", [])}
    cohorts = doc.get("cohorts") or [{"name": k, "role": v.get("role"), "n": v.get("analysed")} for k, v in flow.items()]
    models = []
    for m in doc["models"]:
        ep = eps.get(m.get("endpoint"), {"name": m.get("endpoint")})
        models.append({
            "name": m["name"], "kind": m["kind"], "link": m["link"],
            "description": doc.get("model_descriptions", {}).get(m["name"], ""),
            "endpoint": ep, "features": mdl.model_features(m), "clinical": mdl.model_columns(m),
            "formula": mdl.formula(m),
            "output": ("probability of " + ep["name"] if m["link"] == "logistic" else
                       f"risk of {ep['name']} by " + ", ".join(f"{h:g} {ep.get('time_unit', '')}" for h in
                                                            m.get("baseline", {}).get("horizons", []))
                       if m.get("baseline", {}).get("horizons") else "relative hazard (linear predictor)"),
            "threshold": {"value": m["cutoff"]["value"], "method": m["cutoff"]["method"],
                          "how_chosen": _cutoff_how(m["cutoff"]["method"]),
                          "groups": "high if Rad-score > cut-off, else low"},
            "ci": "delta method (covariance stored)" if _has_cov(m) else "none (learner without covariance)",
            "performance": _performance(results, m["name"]),
        })
    fs = doc["feature_settings"]
    card = {
        "model": {**sm.identity(), "radsig_version": doc.get("radsig_version"), "created": doc.get("created"),
                  "file_format": f"{doc.get('format')} v{doc.get('version', doc.get('format_version'))}"},
        "intended_use": {
            "summary": doc.get("description") or f"Research signature(s) of the study {sm.name!r}.",
            "population": "patients like those of the cohorts below (same imaging protocol family and "
                          "segmentation of the tumour); for research use, not a medical device",
            "users": "researchers and clinicians evaluating the signature; predictions support, never "
                     "replace, clinical judgement",
        },
        "endpoints": list(eps.values()),
        "cohorts": cohorts,
        "inputs": {"modalities": doc["modalities"], "clinical_columns": doc["clinical_columns"],
                   "feature_settings": {"hash": fs["hash"], "extractor": fs["extractor"]},
                   "training_summary": doc.get("training_summary", {})},
        "models": models,
        "tripod_ai": _tripod(sm, bool(results)),
    }
    return card


def _has_cov(m: dict) -> bool:
    if m["kind"] == "ensemble":
        return all(_has_cov(x) for x in m["members"])
    return "covariance" in m


def _tripod(sm: ServedModel, has_results: bool) -> dict:
    return {
        "22": "Full model: every model's intercept, coefficients, the centre and scale of each input (training "
              "mean and SD) and its imputation value are in model.json (SHA-256 checksum "
              f"{sm.checksum}); the formulas below; learners as allow-listed JSON estimators.",
        "12g": "Predictions: Rad-score = intercept + Σ coef × (x − centre) / scale, with the image features "
               "extracted by radsig with the frozen settings (hash " + sm.doc["feature_settings"]["hash"] + "); "
               "probability = 1 / (1 + exp(−score)) (logistic); Cox risk = 1 − exp(−H0(t) exp(score)) with the "
               "Breslow baseline at the horizons; 95 % CI: " + CI_METHOD + ".",
        "15": "Output: score, probability or risk at the horizons with a 95 % CI, and the risk group (high if "
              "score > cut-off; cut-off chosen on the training cohort only, method per model below).",
        "23a": ("Performance with 95 % CIs (bootstrap / DeLong as in the study report) per cohort below, "
                "from the study's results.json." if has_results else
                "results.json was not found next to model.json: performance not available here."),
        "27a": "Input quality and missing data: inputs outside the training range [min, max] are flagged in "
               "each response (range rounded outward to 4 significant digits); a missing value (null / empty "
               "cell) is imputed with the training median of the term, exactly as radsig predict does, and "
               "reported; a model whose inputs are absent is not scored and is listed in the warnings; "
               "malformed or mistyped inputs are refused (HTTP 422) naming the field; a failed image "
               "extraction is refused, not imputed.",
    }


def _fmt(v) -> str:
    return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _metric(m: dict | None) -> str:
    if not isinstance(m, dict):
        return "–"
    s = _fmt(m.get("estimate"))
    if m.get("ci_low") is not None:
        s += f" ({_fmt(m['ci_low'])}–{_fmt(m['ci_high'])})"
    return s


def card_markdown(card: dict) -> str:
    mod = card["model"]
    lines = [f"# Model card: {mod['name']}", "",
             f"Version {mod['version']} · checksum `{mod['checksum']}` · radsig {mod['radsig_version']} · "
             f"{mod['file_format']}", "", "## Intended use", "", card["intended_use"]["summary"], "",
             f"- Population: {card['intended_use']['population']}", f"- Users: {card['intended_use']['users']}", "",
             "## Endpoints", ""]
    for e in card["endpoints"]:
        extra = f"; horizons {', '.join(f'{h:g}' for h in e.get('horizons', []))} {e.get('time_unit', '')}" \
            if e.get("type") == "survival" else ""
        lines.append(f"- **{e['name']}** ({e.get('type')}; {e.get('source', '')}{extra})")
    lines += ["", "## Cohorts", "", "| cohort | role | n | description |", "|---|---|---|---|"]
    for c in card["cohorts"]:
        lines.append(f"| {c['name']} | {c.get('role', '')} | {c.get('n', '')} | {c.get('description', '')} |")
    inp = card["inputs"]
    lines += ["", "## Inputs", "", f"Modalities {', '.join(inp['modalities'])}; clinical columns "
              f"{', '.join(inp['clinical_columns']) or 'none'}; feature settings hash "
              f"`{inp['feature_settings']['hash']}` ({inp['feature_settings']['extractor']}).", "", "## Models", ""]
    for m in card["models"]:
        lines += [f"### {m['name']} ({m['kind']}, {m['link']})", ""]
        if m["description"]:
            lines += [m["description"], ""]
        lines += [f"- Endpoint: {m['endpoint'].get('name')}; output: {m['output']}",
                  f"- Formula: `{m['formula']}`",
                  f"- Threshold: {m['threshold']['value']:.4f} ({m['threshold']['how_chosen']}); "
                  f"{m['threshold']['groups']}", f"- 95 % CI of predictions: {m['ci']}", ""]
        if m["performance"]:
            keys = [k for k in PERF_KEYS if any(k in p for p in m["performance"].values())]
            lines += ["| cohort | n | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
            for c, p in m["performance"].items():
                n = p.get("n", {}).get("estimate", "") if isinstance(p.get("n"), dict) else ""
                lines.append(f"| {c} | {n} | " + " | ".join(_metric(p.get(k)) for k in keys) + " |")
            lines.append("")
    lines += ["## TRIPOD+AI items", ""] + [f"- **{k}**: {v}" for k, v in card["tripod_ai"].items()]
    return "\n".join(lines) + "\n"


def card_html(card: dict) -> str:
    import jinja2
    from markupsafe import Markup

    def metric(m):
        return _metric(m)

    src = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Model card: {{ c.model.name }}</title>
<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:1.2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left;font-size:.92em}
code{font-size:.9em}.muted{color:#666}</style></head><body>
<h1>Model card: {{ c.model.name }}</h1>
<p class="muted">Version {{ c.model.version }} · checksum <code>{{ c.model.checksum }}</code> · radsig {{ c.model.radsig_version }} · {{ c.model.file_format }}</p>
<h2>Intended use</h2><p>{{ c.intended_use.summary }}</p><ul><li>Population: {{ c.intended_use.population }}</li><li>Users: {{ c.intended_use.users }}</li></ul>
<h2>Endpoints</h2><ul>{% for e in c.endpoints %}<li><b>{{ e.name }}</b> ({{ e.type }}; {{ e.source }}{% if e.type == 'survival' %}; horizons {{ e.horizons|join(', ') }} {{ e.time_unit }}{% endif %})</li>{% endfor %}</ul>
<h2>Cohorts</h2><table><tr><th>cohort</th><th>role</th><th>n</th><th>description</th></tr>
{% for k in c.cohorts %}<tr><td>{{ k.name }}</td><td>{{ k.role }}</td><td>{{ k.n }}</td><td>{{ k.description }}</td></tr>{% endfor %}</table>
<h2>Inputs</h2><p>Modalities {{ c.inputs.modalities|join(', ') }}; clinical columns {{ c.inputs.clinical_columns|join(', ') }};
feature settings hash <code>{{ c.inputs.feature_settings.hash }}</code> ({{ c.inputs.feature_settings.extractor }}).</p>
<h2>Models</h2>{% for m in c.models %}<h3>{{ m.name }} ({{ m.kind }}, {{ m.link }})</h3>{% if m.description %}<p>{{ m.description }}</p>{% endif %}
<ul><li>Endpoint: {{ m.endpoint.name }}; output: {{ m.output }}</li><li>Formula: <code>{{ m.formula }}</code></li>
<li>Threshold: {{ '%.4f'|format(m.threshold.value) }} ({{ m.threshold.how_chosen }}); {{ m.threshold.groups }}</li><li>95 % CI of predictions: {{ m.ci }}</li></ul>
{% if m.performance %}<table><tr><th>cohort</th>{% for k in keys %}<th>{{ k }}</th>{% endfor %}</tr>
{% for co, p in m.performance.items() %}<tr><td>{{ co }}</td>{% for k in keys %}<td>{{ metric(p.get(k)) }}</td>{% endfor %}</tr>{% endfor %}</table>{% endif %}
{% endfor %}<h2>TRIPOD+AI items</h2><ul>{% for k, v in c.tripod_ai.items() %}<li><b>{{ k }}</b>: {{ v }}</li>{% endfor %}</ul>
</body></html>"""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
    keys = ["n", *PERF_KEYS]
    return str(Markup(env.from_string(src).render(c=card, keys=keys, metric=metric)))


def write_card(model_path: str | Path, out: str | Path) -> Path:
    """Write the card as Markdown (``.md``) or HTML (``.html``)."""
    out = Path(out)
    card = model_card(ServedModel.load(model_path))
    if out.suffix.lower() in (".md", ".markdown"):
        out.write_text(card_markdown(card), encoding="utf-8")
    else:
        out.write_text(card_html(card), encoding="utf-8")
    return out
