"""``radsig study``: validate → extract (cached) → fit on training → freeze → score → evaluate → report."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from radsig import __version__
from radsig.cohort import _atomic
from radsig.config.study import StudySpec, load_study
from radsig.exceptions import ConfigError
from radsig.models.serialize import write_model_file
from radsig.study import evaluation as ev
from radsig.study import lesions
from radsig.study import modelling as mdl
from radsig.study.data import CohortData, load_study_data
from radsig.study.extraction import (
    FeatureSettings,
    extract_manifest,
    extract_with_cohort_engine,
    load_feature_settings,
)

Progress = Callable[[str, int, int], None]


@dataclass
class StudyRun:
    """Everything the report needs, and where the outputs were written."""

    study: StudySpec
    out: Path
    settings: FeatureSettings
    data: dict[str, CohortData]
    features: dict[str, pd.DataFrame] = field(default_factory=dict)
    failures: dict[str, pd.DataFrame] = field(default_factory=dict)
    flow: dict[str, dict] = field(default_factory=dict)
    frozen: list[dict] = field(default_factory=list)
    scores: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    results: dict = field(default_factory=dict)
    curves: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    extra_features: dict = field(default_factory=dict)
    biology: object = None
    biology_figures: list = field(default_factory=list)
    cache_dir: Path | None = None

    @property
    def report_path(self) -> Path:
        return self.out / "report.html"

    @property
    def cohort_names(self) -> list[str]:
        """Cohorts with results: the study's (and a split's), then ``<training>_cv`` of nested CV."""
        return [*self.data, *self.results.get("validation", {}).get("cv_cohorts", [])]


def validate(study_path: str | Path) -> tuple[StudySpec, dict[str, CohortData], FeatureSettings]:
    """Check the study file, every path and column, and the feature settings — no extraction."""
    study = load_study(study_path)
    _check_extra_paths(study)
    data = load_study_data(study)
    return study, data, _settings(study, data)


def _settings(study: StudySpec, data: dict[str, CohortData]) -> FeatureSettings:
    """The image feature settings, or (no cohort with images) a record of the feature tables."""
    if study.features.settings is not None:
        return load_feature_settings(study.path(study.features.settings))
    from radsig.study.tables import table_settings

    return table_settings(study, list(data[study.training.name].features.columns))


def _check_extra_paths(study: StudySpec) -> None:
    """Files named by the deep / biology sections exist (before any work)."""
    named = []
    if "deep" in study.features.families and study.features.deep.weights is not None:
        named.append(("features.deep.weights", study.features.deep.weights))
    if study.biology is not None:
        named += [(f"biology.{k}", getattr(study.biology, k)) for k in ("expression", "ihc", "gene_sets")
                  if getattr(study.biology, k) is not None]
    gone = [f"{key}: file not found: {study.path(p)}" for key, p in named if not study.path(p).is_file()]
    if gone:
        raise ConfigError("the study's data does not match the study file: " + "; ".join(gone))


def _extract(run: StudyRun, progress: Progress | None) -> None:
    fdir = run.out / "features"
    fdir.mkdir(parents=True, exist_ok=True)
    cache = (run.cache_dir or fdir / "cache") if run.study.features.cache else None
    run.extra_features = _fit_extra_families(run, progress, cache)
    for name, cd in run.data.items():
        if cd.features is not None:  # a feature table: nothing to extract
            _table_features(run, name, cd, fdir)
            continue
        manifest = cd.manifest
        if run.study.lesions is not None:  # one row per lesion → extracted per lesion, aggregated below
            manifest = lesions.split_lesions(manifest, run.study.id_column, run.study.lesions.column)
        if run.settings.extractor == "radsig.features":
            wide, fails = extract_with_cohort_engine(
                manifest, run.settings, fdir / f"{name}_cases.parquet", id_column=run.study.id_column,
                jobs=run.study.features.jobs, cache=cache, progress=progress, stage=f"features {name}")
        else:
            wide, fails = extract_manifest(manifest, run.settings, id_column=run.study.id_column,
                                           cache_dir=cache, progress=progress, stage=f"features {name}")
        if run.extra_features:  # deep / habitat features per lesion too, so they are aggregated alike
            wide, fails = _extract_extra_families(run, name, manifest, wide, fails, cache, progress)
        if run.study.lesions is not None:
            wide = lesions.aggregate_wide(wide, manifest, run.study.id_column, run.study.lesions.aggregate)
            fails = lesions.patient_failures(fails, run.study.id_column)
        _atomic.atomic_write(fdir / f"{name}_features.csv", wide.to_csv)
        _atomic.write_csv(fdir / f"{name}_failures.csv", fails)
        run.failures[name] = fails
        n_clin, n_img = len(cd.clinical), cd.manifest[run.study.id_column].nunique()
        failed = set(fails[run.study.id_column]) if len(fails) else set()
        keep = [p for p in cd.clinical.index if p in wide.index and p not in failed]
        run.features[name] = wide.loc[keep]
        cd.clinical = cd.clinical.loc[keep]
        run.flow[name] = {"role": cd.role, "clinical_rows": n_clin, "with_images": n_img,
                          "extraction_failed": len(failed), "analysed": len(keep)}
    if any(cd.features is not None for cd in run.data.values()):
        from radsig.study.tables import check_same_features

        check_same_features(run.features, run.study.training.name)


def _table_features(run: StudyRun, name: str, cd: CohortData, fdir: Path) -> None:
    """A feature-table cohort: its patients with both a feature row and a clinical row."""
    keep = [p for p in cd.clinical.index if p in cd.features.index]
    n_clin = len(cd.clinical)
    run.features[name] = cd.features.loc[keep]
    cd.clinical = cd.clinical.loc[keep]
    run.features[name].to_csv(fdir / f"{name}_features.csv")
    run.failures[name] = pd.DataFrame(columns=[run.study.id_column, "error"])
    run.flow[name] = {"role": cd.role, "clinical_rows": n_clin, "with_images": len(cd.features),
                      "extraction_failed": 0, "analysed": len(keep)}


def _fit_extra_families(run: StudyRun, progress: Progress | None, cache: Path | None) -> dict:
    """Deep / habitat families (``features.families``): fitted on the training cohort only."""
    from radsig.study import extra_features as xf

    st = run.study
    if set(st.features.families) <= {"ibsi"}:
        return {}
    tr = run.data[st.training.name]
    ibsi = run.settings.raw if run.settings.extractor == "radsig.features" else None
    return xf.fit_extra(st, tr.manifest, tr.clinical, run.out, ibsi, progress, cache=cache)


def _extract_extra_families(run: StudyRun, name: str, manifest: pd.DataFrame, wide, fails, cache, progress):
    from radsig.study import extra_features as xf

    extra, xfails = xf.extract_extra(run.extra_features, manifest, run.out, name,
                                     id_column=run.study.id_column, jobs=run.study.features.jobs,
                                     cache=cache, progress=progress)
    return xf.merge(wide, extra), pd.concat([fails, xfails], ignore_index=True)


def _fit(run: StudyRun) -> None:
    tr = run.study.training.name
    run.frozen.extend(fit_models(run.study, run.features[tr], run.data[tr].clinical, run.extra_features))


def fit_models(st: StudySpec, feats: pd.DataFrame, clin: pd.DataFrame, extra_features=None) -> list[dict]:
    """Fit every model of the study, in order, on these (training) rows only; the frozen models."""
    out: list[dict] = []
    mods = [m.upper() for m in st.features.modalities] or sorted({c.split("_", 1)[0] for c in feats.columns})
    train_scores: dict[str, np.ndarray] = {}
    for spec in st.models:
        ep = st.endpoint(spec.endpoint)
        target, ok = ev.target_for(clin, ep)
        f_ok, c_ok = feats[ok], clin[ok]
        s_ok = {k: v[ok] for k, v in train_scores.items()}
        use_mods = [m.upper() for m in spec.modalities] or mods
        if extra_features:
            from radsig.study.extra_features import select_families

            f_ok = select_families(f_ok, spec.families)
        if spec.kind == "radiomics":
            frozen = mdl.fit_radiomics(spec, ep, f_ok, target, modalities=use_mods, seed=st.seed)
        elif spec.kind == "ensemble":
            frozen = mdl.fit_ensemble(spec, ep, f_ok, target, modalities=use_mods, seed=st.seed)
        else:
            frozen = mdl.fit_linear(spec, ep, f_ok, c_ok, target, s_ok)
        frozen["endpoint"] = ep.name
        lp = mdl.linear_predictor(frozen, feats, clin, train_scores)
        surv = None
        surv_eps = [st.endpoint(e) for e in spec.survival_endpoints] or ([ep] if ep.type == "survival" else [])
        if surv_eps:
            t, e = ev.surv_arrays(clin, surv_eps[0])
            good = np.isfinite(t) & np.isfinite(e)
            surv = (t[good], e[good], lp[good])
        cut, how = ev.cutoff_for(spec.cutoff, lp[ok], target, ep, surv)
        frozen["cutoff"] = {"value": cut, "method": how}
        frozen["survival_endpoints"] = [e.name for e in surv_eps]
        _serving_extras(frozen, ep, f_ok, c_ok, s_ok, target, lp[ok])
        for m in mdl.learner_members(frozen):  # reported next to the ensemble (AUCs with CIs)
            mlp = mdl.linear_predictor(m, feats, clin, train_scores)
            m["endpoint"], m["survival_endpoints"] = ep.name, []
            m["cutoff"] = dict(zip(("value", "method"), ev.cutoff_for("median", mlp[ok], target, ep, None),
                                   strict=True))
        out.append(frozen)
        train_scores[spec.name] = lp
    return out


def _serving_extras(frozen: dict, ep, feats, clin, scores: dict, target, lp: np.ndarray) -> None:
    """Parameter covariance (CIs of predictions) and, for Cox models, the baseline hazard at the
    endpoint's horizons (risks): what ``radsig serve`` needs (radsig.study.uncertainty)."""
    from radsig.study import uncertainty as unc

    unc.add_uncertainty(frozen, feats, clin, scores, target)
    if frozen["link"] == "cox":
        frozen["baseline"] = {"endpoint": ep.name, "time_unit": ep.time_unit,
                              **unc.baseline(lp, target["time"], target["event"], ep.horizons)}


def _card_entries(run: StudyRun) -> dict:
    """Study context of the model card and the training summaries (no patient rows)."""
    from radsig.study.uncertainty import training_summary

    st, tr = run.study, run.study.training.name
    used = {m["endpoint"] for m in run.frozen} | {e for m in run.frozen for e in m["survival_endpoints"]}
    return {
        "description": st.description,
        "endpoints": [e.model_dump(mode="json") for e in st.endpoints if e.name in used],
        "cohorts": [{"name": c.name, "role": c.role, "description": c.description,
                     "n": run.flow.get(c.name, {}).get("analysed")} for c in st.cohorts],
        "model_descriptions": {m.name: m.description for m in st.models if m.description},
        "training_summary": training_summary(run.frozen, run.features[tr], run.data[tr].clinical,
                                             run.scores.get(tr, {})),
    }


def _score(run: StudyRun) -> pd.DataFrame:
    rows = []
    for name, cd in run.data.items():
        scores: dict[str, np.ndarray] = {}
        for frozen in run.frozen:
            scores[frozen["name"]] = mdl.linear_predictor(frozen, run.features[name], cd.clinical, scores)
            for m in mdl.learner_members(frozen):
                scores[m["name"]] = mdl.linear_predictor(m, run.features[name], cd.clinical, scores)
        run.scores[name] = scores
        rows.append(predictions_table(run.frozen, scores, cd.clinical.index, run.study.id_column)
                    .assign(cohort=name))
    table = pd.concat(rows, ignore_index=True)
    _atomic.write_csv(run.out / "predictions.csv", table)
    return table


def predictions_table(frozen: list[dict], scores: dict, ids, id_column: str) -> pd.DataFrame:
    """Rad-score, probability (binary endpoints) and risk group of each model for each patient."""
    out = pd.DataFrame({id_column: list(ids)})
    for m in frozen:
        lp = scores[m["name"]]
        out[f"{m['name']}_score"] = lp
        prob = mdl.probability(m, lp)
        if prob is not None:
            out[f"{m['name']}_probability"] = prob
        group = np.where(lp > m["cutoff"]["value"], "high", "low").astype(object)
        group[~np.isfinite(lp)] = None  # no score, no group (never "low")
        out[f"{m['name']}_group"] = group
    return out


def _evaluate(run: StudyRun) -> None:
    st = run.study
    tr_clin = run.data[st.training.name].clinical
    targets = {}
    models: dict = {}
    for frozen in mdl.evaluated_models(run.frozen):
        ep = st.endpoint(frozen["endpoint"])
        entry = {"kind": frozen["kind"], "endpoint": ep.name, "endpoint_type": ep.type,
                 "cutoff": frozen["cutoff"], "formula": mdl.formula(frozen),
                 "features": mdl.model_features(frozen), "cohorts": {}}
        if frozen["kind"] == "learner":
            entry["member_of"] = frozen["member_of"]
        elif frozen["kind"] == "ensemble":
            entry["members"] = [m["name"] for m in frozen["members"]]
        for i, (name, cd) in enumerate(run.data.items()):
            lp = run.scores[name][frozen["name"]]
            target, ok = ev.target_for(cd.clinical, ep)
            targets[(name, ep.name)] = (target, ok)
            met, cur = _metrics_one(run, frozen, ep, cd, lp, target, ok, tr_clin, seed=st.seed + i)
            met["n"] = {"estimate": int(ok.sum()), "ci_low": None, "ci_high": None}
            entry["cohorts"][name] = met
            run.curves.setdefault(frozen["name"], {})[name] = cur
        models[frozen["name"]] = entry
    run.results["models"] = models
    run.results["comparisons"] = ev.comparisons(st, run.scores, run.data, targets)


def _metrics_one(run, frozen, ep, cd, lp, target, ok, tr_clin, seed) -> tuple[dict, dict]:
    st = run.study
    if ep.type == "binary":
        if len(np.unique(target)) < 2:
            return {}, {}
        met, cur = ev.evaluate_binary(target, lp[ok], mdl.probability(frozen, lp[ok]),
                                      n_boot=st.bootstrap, seed=seed)
    else:
        t, e = target["time"], target["event"].astype(float)
        tt, te = ev.surv_arrays(tr_clin, ep)
        met, cur = ev.evaluate_survival(t, e, lp[ok], train=(tt, te), horizons=ep.horizons,
                                        n_boot=min(st.bootstrap, 300), seed=seed)
    high = lp > frozen["cutoff"]["value"]
    for sname in frozen["survival_endpoints"]:
        sep = st.endpoint(sname)
        t, e = ev.surv_arrays(cd.clinical, sep)
        good = np.isfinite(t) & np.isfinite(e)
        m2, c2 = ev.risk_group_analysis(t[good], e[good], high[good])
        met.update({f"{k}_{sname}": v for k, v in m2.items()})
        cur[f"km_{sname}"] = c2["km"]
    return met, cur


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def model_document(run: StudyRun) -> dict:
    """The frozen model file's content: feature settings, every model in scoring order, required
    inputs; :func:`radsig.models.serialize.write_model_file` adds the header and checksum."""
    return {
        "radsig_version": __version__,
        "study": run.study.name, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "id_column": run.study.id_column, "feature_settings": run.settings.to_json(),
        "modalities": [] if run.settings.extractor == "table" else
        sorted({f.split("_", 1)[0] for m in run.frozen for f in mdl.model_features(m)}),
        "clinical_columns": sorted({c for m in run.frozen for c in mdl.model_columns(m)}),
        "models": run.frozen,
        "intensity": _intensity(run),
        **({"lesions": run.study.lesions.model_dump()} if run.study.lesions is not None else {}),
        **({"extra_features": _extra_entry(run.extra_features)} if run.extra_features else {}),
        **_card_entries(run),
    }


def _intensity(run: StudyRun) -> dict:
    """Training ROI intensity summaries per modality (predict refuses images far outside them)."""
    from radsig.study.inputs import intensity_summary

    mods = sorted({f.split("_", 1)[0] for m in run.frozen for f in mdl.model_features(m)})
    return intensity_summary(run.features[run.study.training.name], mods)


def _extra_entry(doc: dict) -> dict:
    from radsig.study.extra_features import model_entry

    return model_entry(doc)


def run_study(study: str | Path | StudySpec, out: str | Path, *, progress: Progress | None = None,
              extra: dict | None = None, cache_dir: str | Path | None = None) -> StudyRun:
    """Run a whole study; returns the :class:`StudyRun` (outputs are in ``out``).

    ``cache_dir`` replaces the per-run feature cache (``out/features/cache``) by a folder that
    several runs share: cases whose images, masks and settings are unchanged are not extracted
    again, and deep / habitat models fitted on unchanged training images are reused (used when
    ``features.cache`` is true).
    """
    t0 = time.perf_counter()
    if isinstance(study, StudySpec):
        spec = study
        data = load_study_data(spec)
        settings = _settings(spec, data)
    else:
        spec, data, settings = validate(study)
    from radsig.study.extra_features import skip_unavailable_families

    spec, notes = skip_unavailable_families(spec, source="" if isinstance(study, StudySpec) else str(study))
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run = StudyRun(study=spec, out=out, settings=settings, data=data,
                   cache_dir=Path(cache_dir) if cache_dir is not None else None)
    if spec.biology is not None:  # immune scores + TME phenotype before modelling (usable as an endpoint)
        from radsig.study.biology import prepare_biology

        run.biology = prepare_biology(spec, data)
    run.timings["validate"] = time.perf_counter() - t0
    _extract(run, progress)
    run.timings["extract"] = time.perf_counter() - t0 - run.timings["validate"]
    if spec.validation is not None and spec.validation.method == "split":
        from radsig.study.internal import split_training

        split_training(run)
    for step, fn in (("fit", _fit), ("score", _score), ("evaluate", _evaluate)):
        if progress:
            progress(step, 0, 1)
        t1 = time.perf_counter()
        fn(run)
        run.timings[step] = time.perf_counter() - t1
    if spec.validation is not None and spec.validation.method == "nested_cv":
        from radsig.study.internal import nested_cv

        t1 = time.perf_counter()
        nested_cv(run, progress)
        run.timings["nested_cv"] = time.perf_counter() - t1
    if any(m.published for m in spec.models):
        from radsig.study.internal import published_rows

        run.results["published"] = published_rows(run)
    if spec.analyses:  # extra tables of the study file's ``analyses:`` (correlations, ORR by group…)
        from radsig.study.analyses import run_analyses

        run.results["analyses"] = run_analyses(run)
    if run.biology is not None:
        from radsig.study.biology_analysis import analyse_biology, biology_figures

        t1 = time.perf_counter()
        run.results["biology"], frames = analyse_biology(run, run.biology)
        run.biology_figures = biology_figures(frames, out / "figures")
        run.timings["biology"] = time.perf_counter() - t1
    run.results.update({"study": spec.name, "radsig_version": __version__, "flow": run.flow,
                        "feature_settings": {"hash": settings.digest, "extractor": settings.extractor},
                        **(extra or {})})
    if notes:  # what was skipped for a missing optional package, next to the caller's notes
        run.results["notes"] = [*run.results.get("notes", []), *notes]
    write_model_file(model_document(run), out / "model.json", content="study")
    from radsig.study.render import render_outputs

    if progress:
        progress("report", 0, 1)
    t1 = time.perf_counter()
    render_outputs(run)
    run.timings["report"] = time.perf_counter() - t1
    run.results["timings_s"] = {k: round(v, 2) for k, v in run.timings.items()}
    _atomic.write_text(out / "results.json", json.dumps(_clean(run.results), indent=1))
    return run
