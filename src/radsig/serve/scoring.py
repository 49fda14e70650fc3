"""Scoring for ``radsig serve``: validated inputs → the same numbers as ``radsig predict``, plus CIs.

The scores come from :func:`radsig.study.predict.score_frame` and
:func:`radsig.study.runner.predictions_table` — the code ``radsig predict`` runs — so the service
equals predict by construction. On top of them this module adds, per prediction:

* a 95 % CI by the delta method from the model's stored parameter covariance
  (``radsig.study.uncertainty``): ``var(lp) = g' Σ g`` with ``g = [1, z_1 … z_k]`` the standardised
  inputs, plus ``(coef / scale)² var(lp_dep)`` for a term that is another model's Rad-score
  (the stages' estimates taken as independent); an ensemble's members are taken as independent too.
  The CI of the probability / risk is the CI of ``lp`` pushed through the (monotone) link;
  Cox risks ignore the baseline hazard's own uncertainty. Learners (SVM, forests) have no CI.
* the risk group and its cut-off, Cox risks at the endpoint's horizons;
* warnings: inputs outside the training range, missing inputs and how they were handled, models
  the inputs cannot score (never dropped silently).

Missing inputs: a key given as ``null`` (an empty CSV cell) is missing and handled as
``radsig predict`` handles it (the training median of the term); a key that is absent makes every
model that needs it unscorable (listed in ``warnings``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from radsig.study import modelling as mdl

Z95 = 1.959963984540054
CI_METHOD = ("delta method on the stored parameter covariance (inverse observed information of the "
             "final fit, conditional on the selected features); 95 % Wald interval on the linear "
             "predictor, transformed by the link")


# --------------------------------------------------------------------------- the model file
def read_model(path: str | Path) -> tuple[dict, str]:
    """The study model document and its checksum: the one place the service reads model.json.

    Nothing in the file is executed: it is JSON; learner estimators are decoded by
    :mod:`radsig.models.serialize` (allow-listed classes only). The file is read and verified by
    :func:`radsig.models.serialize.read_model_file` (through ``radsig predict``'s
    :func:`~radsig.study.predict.load_study_model`, which also refuses a single-estimator file);
    the checksum is the file's own verified ``sha256:`` header field.
    """
    from radsig.study.predict import load_study_model

    doc = load_study_model(Path(path))
    return doc, doc["checksum"]


class InputError(Exception):
    """A request that cannot be scored: a list of ``{"field", "message"}`` (HTTP 422)."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors))
        self.errors = errors


def _fmt(v: float) -> str:
    return f"{v:.4g}"


@dataclass
class ServedModel:
    """A loaded study model, with what validation and scoring need."""

    path: Path
    doc: dict
    checksum: str
    features: list[str] = field(default_factory=list)
    numeric_clinical: list[str] = field(default_factory=list)
    levels: dict[str, list[str] | None] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> ServedModel:
        doc, checksum = read_model(path)
        sm = cls(Path(path), doc, checksum)
        sm.features = sorted({f for m in doc["models"] for f in mdl.model_features(m)})
        summ = doc.get("training_summary", {}).get("clinical", {})
        cat = {t["column"] for m in mdl.evaluated_models(doc["models"]) for t in _terms(m) if "level" in t}
        for c in doc["clinical_columns"]:
            if c in cat:
                sm.levels[c] = summ.get(c, {}).get("levels")
            else:
                sm.numeric_clinical.append(c)
        return sm

    # ---------------------------------------------------------------- identity
    @property
    def name(self) -> str:
        return str(self.doc.get("study", self.path.stem))

    @property
    def version(self) -> str:
        """The frozen model's version: its creation time (each ``radsig study`` run freezes a new one)."""
        return str(self.doc.get("model_version") or self.doc.get("created") or "unknown")

    def identity(self) -> dict:
        return {"name": self.name, "version": self.version, "checksum": self.checksum}

    def check_pin(self, pin) -> None:
        """A request may name the model it expects (``"model": {"version", "checksum"}``)."""
        if pin is None:
            return
        if not isinstance(pin, dict):
            raise InputError([{"field": "model", "message": "expected an object with 'version' and/or "
                               f"'checksum', got {type(pin).__name__}"}])
        errs = []
        for key, have in (("version", self.version), ("checksum", self.checksum), ("name", self.name)):
            if key in pin and str(pin[key]) != have:
                errs.append({"field": f"model.{key}", "message": f"unknown model {key} {pin[key]!r}: this "
                             f"service serves {self.name!r} {key} {have!r}"})
        if errs:
            raise InputError(errs)

    # ---------------------------------------------------------------- validation
    def parse_record(self, rec, where: str = "") -> tuple[dict, dict]:
        """``{"clinical": {...}, "features": {...}}`` → (features, clinical) with checked types;
        values are float / NaN (features, numeric clinical) or the training level (categorical)."""
        p = f"{where}." if where else ""
        if not isinstance(rec, dict):
            raise InputError([{"field": where or "body", "message": "expected a JSON object with 'clinical' "
                               f"and/or 'features', got {type(rec).__name__}"}])
        unknown = sorted(set(rec) - {"clinical", "features", "model", "id"})
        errs = [{"field": f"{p}{k}", "message": "unknown field (allowed: clinical, features, model, id)"}
                for k in unknown]
        if "clinical" not in rec and "features" not in rec:
            errs.append({"field": f"{p}features", "message": "missing: give 'features' and/or 'clinical'"})
        feats, clin = {}, {}
        for part in ("features", "clinical"):
            block = rec.get(part, {})
            if not isinstance(block, dict):
                errs.append({"field": f"{p}{part}", "message": f"expected an object {{name: value}}, "
                             f"got {type(block).__name__}"})
                continue
            for k, v in block.items():
                f = f"{p}{part}.{k}"
                if part == "features" or k in self.numeric_clinical:
                    val, err = _number(v)
                    (feats if part == "features" else clin)[k] = val
                elif k in self.levels:
                    val, err = self._level(k, v)
                    clin[k] = val
                else:
                    clin[k], err = v, None  # not used by any model: reported as ignored
                if err:
                    errs.append({"field": f, "message": err})
        if errs:
            raise InputError(errs)
        return feats, clin

    def _level(self, col: str, v) -> tuple[object, str | None]:
        if v is None:
            return None, None
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            return None, f"expected a category (string) or null, got {type(v).__name__}"
        s = str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
        levels = self.levels.get(col)
        if levels is not None and s not in levels:
            return None, f"{v!r} is not a level of the training data ({', '.join(levels)})"
        return s, None

    # ---------------------------------------------------------------- scoring
    def score(self, records: list[tuple[dict, dict]]) -> list[dict]:
        """Predictions and warnings for each (features, clinical) record; records with the same
        inputs present are scored together."""
        out: list[dict | None] = [None] * len(records)
        groups: dict[tuple, list[int]] = {}
        for i, (f, c) in enumerate(records):
            groups.setdefault((tuple(sorted(f)), tuple(sorted(c))), []).append(i)
        for (fkeys, ckeys), idx in groups.items():
            res = self._score_group([records[i] for i in idx], set(fkeys), set(ckeys))
            for i, r in zip(idx, res, strict=True):
                out[i] = r
        return out  # type: ignore[return-value]

    def _scorable(self, fkeys: set, ckeys: set) -> tuple[list[dict], list[dict]]:
        from radsig.study.predict import with_dependencies

        ok, warn = [], []
        names: set[str] = set()
        for m in self.doc["models"]:
            lack_f = [f for f in mdl.model_features(m) if f not in fkeys]
            lack_c = [c for c in mdl.model_columns(m) if c not in ckeys]
            deps = [t["name"] for t in m.get("terms", []) if t["source"] == "model" and t["name"] not in names]
            if lack_f or lack_c or deps:
                why = []
                if lack_f:
                    why.append(f"feature(s) {', '.join(lack_f[:6])}{' …' if len(lack_f) > 6 else ''} not given")
                if lack_c:
                    why.append(f"clinical {', '.join(lack_c)} not given")
                if deps:
                    why.append(f"needs the score of model(s) {', '.join(deps)}, which cannot be scored")
                warn.append({"code": "model_not_scored", "model": m["name"],
                             "message": f"model {m['name']!r} not scored: " + "; ".join(why)})
                continue
            ok.append(m)
            names.add(m["name"])
        return with_dependencies(ok, self.doc["models"]), warn

    def _score_group(self, recs: list[tuple[dict, dict]], fkeys: set, ckeys: set) -> list[dict]:
        from radsig.study.predict import score_frame
        from radsig.study.runner import predictions_table

        models, model_warn = self._scorable(fkeys, ckeys)
        n = len(recs)
        feats = pd.DataFrame({k: [r[0][k] for r in recs] for k in sorted(fkeys)}, index=range(n), dtype=float)
        clin = pd.DataFrame({k: pd.Series([r[1][k] for r in recs], dtype=float if k in self.numeric_clinical
                                          else object) for k in sorted(ckeys)}, index=range(n))
        results = [{"predictions": {}, "warnings": list(model_warn)} for _ in range(n)]
        if models:
            scores = score_frame(models, feats, clin)
            table = predictions_table(models, scores, range(n), "_row")
            variances = self._variances(models, feats, clin, scores)
            for m in models:
                self._add_predictions(m, table, variances.get(m["name"]), results)
        self._input_warnings(models, recs, feats, clin, fkeys, ckeys, results)
        return results

    def _add_predictions(self, m: dict, table: pd.DataFrame, var, results: list[dict]) -> None:
        name = m["name"]
        lp = table[f"{name}_score"].to_numpy(float)
        se = np.sqrt(var) if var is not None else np.full(len(lp), np.nan)
        lo, hi = lp - Z95 * se, lp + Z95 * se
        base = m.get("baseline")
        for i, res in enumerate(results):
            p = {"score": float(lp[i]),
                 "score_ci_low": _num(lo[i]), "score_ci_high": _num(hi[i])}
            if f"{name}_probability" in table:
                p["probability"] = float(table[f"{name}_probability"].iloc[i])
                p["ci_low"], p["ci_high"] = _num(_expit(lo[i])), _num(_expit(hi[i]))
            elif base and base.get("horizons"):
                h0 = np.asarray(base["cumulative_hazard"], float)
                keys = [_fmt(h) for h in base["horizons"]]
                p["risk"] = dict(zip(keys, (float(v) for v in 1 - np.exp(-h0 * math.exp(lp[i]))), strict=True))
                p["ci_low"] = dict(zip(keys, (_num(1 - math.exp(-v * math.exp(lo[i]))) for v in h0), strict=True))
                p["ci_high"] = dict(zip(keys, (_num(1 - math.exp(-v * math.exp(hi[i]))) for v in h0), strict=True))
                p["horizon_unit"] = base.get("time_unit", "")
                p["endpoint"] = base.get("endpoint")
            p["group"] = str(table[f"{name}_group"].iloc[i])
            p["cutoff"] = {"value": float(m["cutoff"]["value"]), "method": m["cutoff"]["method"],
                           "rule": "high if score > cut-off"}
            if var is None:
                res["warnings"].append({"code": "no_ci", "model": name, "message":
                                        f"model {name!r}: no CI (no parameter covariance for a {m['kind']} "
                                        "model in the model file)"})
            res["predictions"][name] = p

    def _variances(self, models: list[dict], feats, clin, scores: dict) -> dict:
        out: dict[str, np.ndarray | None] = {}
        for m in models:
            out[m["name"]] = _variance(m, feats, clin, scores, out)
        return out

    def _input_warnings(self, models, recs, feats, clin, fkeys, ckeys, results) -> None:
        used_f = {f for m in models for f in mdl.model_features(m)}
        used_c = {c for m in models for c in mdl.model_columns(m)}
        summ = self.doc.get("training_summary", {})
        impute: dict = {}
        for m in mdl.evaluated_models(models):
            for t in _terms(m):
                if t["source"] == "feature":
                    impute[("features", t["name"])] = t["impute"]
                elif "level" in t:
                    impute.setdefault(("clinical", t["column"]), {})[t["name"]] = t
                elif t["source"] == "clinical":
                    impute[("clinical", t["column"])] = t["impute"]
        ignored = sorted(fkeys - used_f - set(self.features))
        ign_c = sorted(ckeys - set(self.doc["clinical_columns"]))
        for part, frame, keys, used in (("features", feats, sorted(fkeys & used_f), used_f),
                                        ("clinical", clin, sorted(ckeys & used_c), used_c)):
            ranges = summ.get(part, {})
            for k in keys:
                col = frame[k]
                for i, res in enumerate(results):
                    v = col.iloc[i]
                    if v is None or (isinstance(v, float) and not math.isfinite(v)):
                        res["warnings"].append(_missing_warning(part, k, impute.get((part, k))))
                        continue
                    r = ranges.get(k, {})
                    if isinstance(v, float) and "min" in r and not (r["min"] <= v <= r["max"]):
                        res["warnings"].append({
                            "code": "outside_training_range", "input": f"{part}.{k}",
                            "training_range": [r["min"], r["max"]],
                            "message": f"{part}.{k} = {_fmt(v)} is outside the training range "
                                       f"[{_fmt(r['min'])}, {_fmt(r['max'])}]: extrapolation, interpret with care"})
        if ignored or ign_c:
            names = [f"features.{k}" for k in ignored] + [f"clinical.{k}" for k in ign_c]
            for res in results:
                res["warnings"].append({"code": "ignored_inputs", "message": f"{len(names)} input(s) not used "
                                        f"by any model: {', '.join(names[:8])}{' …' if len(names) > 8 else ''}"})


def _terms(model: dict) -> list[dict]:
    if model["kind"] == "ensemble":
        return [t for m in model["members"] for t in _terms(m)]
    return model.get("terms", [])


def _missing_warning(part: str, k: str, how) -> dict:
    if isinstance(how, dict):  # categorical: each indicator takes its training median
        detail = ", ".join(f"{t['name']} = {_fmt(t['impute'])}" for t in how.values())
        msg = f"{part}.{k} is missing; its indicators take their training medians ({detail}), as radsig predict does"
    else:
        msg = f"{part}.{k} is missing; imputed with the training median {_fmt(how)}, as radsig predict does" \
            if how is not None else f"{part}.{k} is missing"
    return {"code": "missing_input_imputed", "input": f"{part}.{k}", "message": msg}


def _number(v) -> tuple[float, str | None]:
    if v is None:
        return float("nan"), None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return float("nan"), f"expected a number or null, got {type(v).__name__} {json.dumps(v)[:40]}"
    if not math.isfinite(float(v)):
        return float("nan"), "expected a finite number"
    return float(v), None


def _num(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def _expit(x: float) -> float:
    if math.isnan(x):  # no CI: stays NaN (reported as null)
        return x
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def _variance(m: dict, feats, clin, scores: dict, done: dict):
    """Delta-method variance of the linear predictor (None: no covariance)."""
    if m["kind"] == "learner":
        return None
    if m["kind"] == "ensemble":
        parts = []
        for sub in m["members"]:
            v = _variance(sub, feats, clin, scores, done)
            if v is None:
                return None
            parts.append((mdl.linear_predictor(sub, feats, clin, scores), v))
        k = len(parts)
        if m["link"] == "logistic":
            ps = [1 / (1 + np.exp(-lp)) for lp, _ in parts]
            p = np.mean(ps, axis=0)
            var_p = sum((pk * (1 - pk) / k) ** 2 * v for pk, (_, v) in zip(ps, parts, strict=True))
            return var_p / (p * (1 - p)) ** 2
        return sum(v for _, v in parts) / k ** 2
    cov = m.get("covariance")
    if cov is None:
        return None
    cov = np.asarray(cov, float)
    g = np.column_stack([np.ones(len(feats) if len(feats) else len(clin))] +
                        [mdl._term_values(t, feats, clin, scores) for t in m["terms"]])
    var = np.einsum("ij,jk,ik->i", g, cov, g)
    for t in m["terms"]:
        if t["source"] == "model":
            dep = done.get(t["name"])
            if dep is None:
                return None
            var = var + (t["coef"] / t["scale"]) ** 2 * dep
    return np.maximum(var, 0.0)

