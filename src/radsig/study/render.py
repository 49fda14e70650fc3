"""Turn a finished :class:`~radsig.study.runner.StudyRun` into figures and ``report.html``."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import yaml

from radsig import __version__
from radsig.cohort import _atomic
from radsig.report.checklist import checklist_rows
from radsig.report.html import _ci, render_report
from radsig.report.tables import table1
from radsig.study import plots
from radsig.study.modelling import evaluated_models

SECTIONS = (
    ("study", "Study design"), ("endpoints", "Endpoints"), ("flow", "Cohort flow"),
    ("table1", "Baseline characteristics"), ("features", "Features"), ("methods", "Methods"),
    ("models", "Models and Rad-score formulas"), ("performance", "Performance by cohort"),
    ("comparisons", "Model comparisons"), ("roc", "ROC curves"), ("calibration", "Calibration"),
    ("dca", "Decision curves"), ("survival", "Survival by risk group"),
    ("tdauc", "Time-dependent AUC"), ("nomogram", "Nomograms"), ("checklist", "TRIPOD+AI / CLEAR"),
    ("reproducibility", "Reproducibility"),
)
METRIC_LABELS = {"auc": "AUC", "c_index": "C-index", "calibration_slope": "calibration slope",
                 "brier": "Brier score", "hr_per_sd": "HR per SD"}


def _figures(run) -> dict[str, list[dict]]:
    st, res, cur = run.study, run.results, run.curves
    folder = run.out / "figures"
    folder.mkdir(exist_ok=True)
    cohorts = run.cohort_names
    figs: dict[str, list[dict]] = {k: [] for k, _ in SECTIONS}

    def add(section: str, fig, stem: str, title: str) -> None:
        png, svg = plots.save(fig, folder, stem)
        figs[section].append({"png": png, "svg": svg, "title": title})

    for ep in (e for e in st.endpoints if e.type == "binary"):
        models = [m["name"] for m in evaluated_models(run.frozen) if m["endpoint"] == ep.name]
        if not models:
            continue
        add("roc", plots.roc_figure(cur, res, models, cohorts), f"roc_{ep.name}", f"ROC curves, endpoint {ep.name}")
        add("calibration", plots.calibration_figure(cur, models, cohorts), f"calibration_{ep.name}",
            f"Calibration, endpoint {ep.name}")
        add("dca", plots.dca_figure(cur, models, cohorts), f"dca_{ep.name}", f"Decision curves, endpoint {ep.name}")
    for m in run.frozen:
        for sname in m["survival_endpoints"]:
            unit = st.endpoint(sname).time_unit
            add("survival", plots.km_figure(cur, res, m["name"], sname, cohorts, unit), f"km_{m['name']}_{sname}",
                f"Kaplan–Meier {sname} by {m['name']} risk group (cut-off {m['cutoff']['method']})")
        if st.endpoint(m["endpoint"]).type == "survival" and st.endpoint(m["endpoint"]).horizons:
            add("tdauc", plots.tdauc_figure(cur, m["name"], cohorts, st.endpoint(m["endpoint"]).time_unit),
                f"tdauc_{m['name']}", f"Time-dependent AUC of {m['name']} ({m['endpoint']})")
        if m["kind"] == "radiomics":
            add("models", plots.coef_figure(m), f"coef_{m['name']}", f"Rad-score coefficients, {m['name']}")
        if m["kind"] in ("combined", "clinical") and m["terms"]:
            add("nomogram", plots.nomogram_figure(m, _train_values(run, m)), f"nomogram_{m['name']}",
                f"Nomogram of {m['name']} ({m['endpoint']})")
    rows = [(f"{r['model']} · {r['endpoint']} · {r['cohort']}", r["hr"]) for r in _survival_rows(run)
            if r["hr"] and r["hr"].get("ci_low") is not None]
    if rows:
        add("survival", plots.forest_figure(rows), "forest_hr", "Hazard ratios, high vs low Rad-score group")
    return figs


def _train_values(run, model: dict) -> dict[str, np.ndarray]:
    tr = run.study.training.name
    clin, scores = run.data[tr].clinical, run.scores[tr]
    out = {}
    for t in model["terms"]:
        if t["source"] == "model":
            out[t["label"]] = scores[t["name"]]
        elif "level" in t:
            out[t["label"]] = (clin[t["column"]].astype(str) == t["level"]).to_numpy(float)
        else:
            out[t["label"]] = np.asarray(clin[t["column"]], float)
    return out


def _survival_rows(run) -> list[dict]:
    rows = []
    for name, m in run.results["models"].items():
        for c, met in m["cohorts"].items():
            for k, v in met.items():
                if k.startswith("hr_high_vs_low_"):
                    ep = k[len("hr_high_vs_low_"):]
                    rows.append({"model": name, "endpoint": ep, "cohort": c, "hr": v,
                                 "logrank": met.get(f"logrank_{ep}", {})})
    return rows


def _performance(run) -> list[dict]:
    rows = []
    for name, m in run.results["models"].items():
        keys = [k for k in METRIC_LABELS if any(k in met for met in m["cohorts"].values())]
        keys += sorted({k for met in m["cohorts"].values() for k in met if k.startswith("td_auc_")})
        for k in keys:
            vals = {c: _ci(met.get(k), 3 if k == "brier" else 2) for c, met in m["cohorts"].items()}
            label = METRIC_LABELS.get(k, k.replace("td_auc_", "td-AUC at "))
            rows.append({"model": name, "endpoint": m["endpoint"], "metric": label, "cells": vals})
    return rows


def _flow(run) -> dict:
    flow = {}
    for name, f in run.flow.items():
        clin = run.data[name].clinical
        counts = {}
        for ep in run.study.endpoints:
            if ep.type == "binary":
                from radsig.study.data import binary_target

                y = binary_target(clin, ep).dropna()
                counts[ep.name] = f"{int(y.sum())} / {len(y)}"
            else:
                e = clin[ep.event].dropna()
                counts[ep.name] = f"{int(e.sum())} / {len(e)}"
        flow[name] = {**f, "counts": counts}
    return flow


def _families(run) -> dict[str, int]:
    from radsig.study.extra_features import family_counts

    cols = {c for df in run.features.values() for c in df.columns}
    return family_counts(sorted(cols))


def render_outputs(run) -> None:
    """Write figures (PNG + SVG), Table 1 (CSV) and ``report.html`` into ``run.out``."""
    st = run.study
    figs = _figures(run)
    variables = st.table1 or sorted({c for m in st.models for c in m.covariates})
    t1 = table1({n: cd.clinical for n, cd in run.data.items()}, variables)
    _atomic.write_csv(run.out / "table1.csv", t1)
    run.results["table1"] = t1.replace({np.nan: None}).to_dict("records")
    present = {k for k, _ in SECTIONS}
    present -= {k for k in ("roc", "calibration", "dca", "survival", "tdauc", "nomogram") if not figs[k]}
    if not run.results.get("comparisons"):
        present.discard("comparisons")
    sections = SECTIONS
    if run.results.get("biology"):
        sections = SECTIONS[:-2] + (("biology", "Tumour biology"),) + SECTIONS[-2:]
    frozen_by_name = {m["name"]: m for m in evaluated_models(run.frozen)}
    from radsig.study.analyses import report_rows

    analyses = report_rows(run.results.get("analyses", []))
    if analyses:
        sections = sections[:-2] + (("analyses", "Associations and response by risk group"),) + sections[-2:]
    context = {
        "study": st, "version": __version__,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "settings_hash": run.settings.digest, "extractor": run.settings.extractor,
        "settings_text": yaml.safe_dump(run.settings.raw, sort_keys=False, default_flow_style=None),
        "extractor_stats": "radsig.evaluate",
        "notes": run.results.get("notes", []), "sections": sections, "analyses": analyses,
        "flow": _flow(run), "failures": [f"{n}: {r}" for n, df in run.failures.items()
                                         for r in df.get("error", [])][:20],
        "binary_endpoints": [e.name for e in st.endpoints if e.type == "binary"],
        "survival_endpoints": [e.name for e in st.endpoints if e.type == "survival"],
        "table1": t1.to_dict("records"), "table1_cohorts": list(run.data),
        "n_features": max((df.shape[1] for df in run.features.values()), default=0),
        "modalities": ["feature tables"] if run.settings.extractor == "table" else
        sorted({c.split("_", 1)[0] for df in run.features.values() for c in df.columns}),
        "models": [{"name": n, **{k: v for k, v in m.items() if k != "cohorts"},
                    "terms": [] if m["kind"] == "learner" else frozen_by_name[n].get("terms", [])}
                   for n, m in run.results["models"].items()],
        "cohort_names": run.cohort_names, "performance": _performance(run),
        "validation": run.results.get("validation"), "published": run.results.get("published", []),
        "comparisons": run.results.get("comparisons", []), "survival_rows": _survival_rows(run),
        "figures": figs, "checklist": checklist_rows(present),
        "timings": run.timings,
        "biology": run.results.get("biology"), "biology_figures": run.biology_figures,
        "feature_families": _families(run),
    }
    render_report(context, run.report_path)
