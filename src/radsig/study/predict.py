"""``radsig predict``: score new patients with a frozen study model (``model.json``)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from radsig.exceptions import ConfigError, ModelFileError, RadsigWarning
from radsig.models.serialize import read_model_file
from radsig.study import inputs
from radsig.study import modelling as mdl
from radsig.study.extraction import FeatureSettings, extract_manifest
from radsig.study.runner import predictions_table


def load_study_model(path: str | Path) -> dict:
    """Read and verify a model file written by ``radsig study`` (format, version, checksum,
    allow-listed kinds and links, finite numbers; see :func:`radsig.models.serialize.read_model_file`)."""
    doc, _ = read_model_file(path)
    if doc.get("content") != "study":
        raise ModelFileError(f"{path}: this model file holds a single estimator (content "
                             f"{doc.get('content')!r}), not a study model; radsig predict scores "
                             "the model.json written by radsig study (use radsig.models.load_model)")
    return doc


def _read_manifest(manifest: str | Path, id_column: str) -> pd.DataFrame:
    path = Path(manifest)
    if not path.is_file():
        raise ConfigError(f"manifest not found: {path}")
    df = _read_csv(path, "manifest")
    if df.empty:
        raise ConfigError(f"manifest {path}: no rows (one row per patient and modality: "
                          f"{id_column}, modality, image, mask)")
    missing = [c for c in (id_column, "image", "mask") if c not in df.columns]
    if missing:
        raise ConfigError(f"manifest {path}: missing column(s) {missing}; has {list(df.columns)}")
    df[id_column] = df[id_column].astype(str)
    for col in ("image", "mask"):
        df[col] = [str(p if Path(p).is_absolute() else path.parent / p) for p in df[col].astype(str)]
    if "modality" not in df.columns:
        df["modality"] = "IMG"
    df["modality"] = df["modality"].astype(str).str.upper()
    return df


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, OSError) as err:  # pandas' parser errors are ValueErrors
        raise ConfigError(f"{what} {path}: cannot be read as CSV ({err})") from None


def _one_line(problems: list[str], show: int = 3) -> str:
    more = f" (and {len(problems) - show} more)" if len(problems) > show else ""
    return "; ".join(problems[:show]) + more


def _warn(message: str) -> None:
    warnings.warn(message, RadsigWarning, stacklevel=3)


def predict(model_path: str | Path, *, manifest: str | Path | None = None, image: str | Path | None = None,
            mask: str | Path | None = None, modality: str | None = None, clinical: str | Path | None = None,
            progress=None, allow_intensity_shift: bool = False,
            features: str | Path | None = None) -> pd.DataFrame:
    """Rad-score, probability and risk group of every model for every patient.

    ``features``: a feature table (CSV/Parquet, the model's ID column) instead of images.

    Refuses (:class:`ConfigError` / :class:`ModelFileError`) what it cannot score honestly: a
    bad model file, duplicate or missing rows per patient and modality, an image file on two
    patients' rows, ROI intensities far outside the training images of that modality (unless
    *allow_intensity_shift*: then a warning), a clinical table with duplicate IDs, text in a
    numeric column or a category the model never saw, a non-finite score. Models that need
    clinical columns are left out with a :class:`RadsigWarning` naming them when *clinical* is
    not given; imputed missing values are warned about too.
    """
    if features is not None:
        return predict_table(model_path, features, clinical=clinical)
    doc = load_study_model(model_path)
    idc = doc["id_column"]
    if doc["feature_settings"].get("extractor") == "table":
        raise ConfigError("this model was built from feature tables; give --features TABLE")
    if manifest is not None:
        man = _read_manifest(manifest, idc)
        where = f"manifest {manifest}"
    elif image is not None and mask is not None:
        mods = doc["modalities"]
        mod = (modality or (mods[0] if len(mods) == 1 else "")).upper()
        if len(mods) > 1 and not modality:
            raise ConfigError(f"the model uses modalities {mods}; give --manifest with one row per "
                              "modality (patient_id, modality, image, mask)")
        man = pd.DataFrame([{idc: "case", "modality": mod, "image": str(image), "mask": str(mask)}])
        where = "input"
    else:
        raise ConfigError("give IMAGE and MASK, or --manifest FILE")
    absent = sorted(set(doc["modalities"]) - set(man["modality"]))
    if absent:
        raise ConfigError(f"the model needs modality {absent}; the input has {sorted(set(man['modality']))}")
    man = man[man["modality"].isin(doc["modalities"])]
    les = doc.get("lesions")
    problems = inputs.manifest_problems(man, idc, where, needed=doc["modalities"],
                                        lesion_column=les["column"] if les else None)
    if problems:
        raise ConfigError(_one_line(problems))
    if clinical is not None:  # a wrong clinical table fails before the (slow) feature extraction
        _clinical_table(doc, clinical, idc)
    feats = extract_features(doc, man, Path(model_path).parent, progress=progress)
    _check_intensities(doc, feats, model_path, allow_intensity_shift)  # first: a swapped modality
    missing = sorted({f for m in doc["models"] for f in mdl.model_features(m) if f not in feats.columns})
    if doc.get("extra_features"):  # a habitat absent in every input image: missing, like one patient's
        from radsig.study.extra_features import family_of

        absent = [f for f in missing if family_of(f) == "habitat"]
        feats = feats.assign(**{f: np.nan for f in absent})
        missing = [f for f in missing if f not in absent]
    if missing:
        raise ModelFileError(f"features {sorted(set(missing))[:5]} required by the model were not produced "
                             "from these images (a habitat family found fewer habitats, or the feature "
                             "settings or extractor differ from the model's); nothing was scored")
    _warn_missing_features(doc, feats)
    clin = _clinical(doc, clinical, feats.index, idc)
    return _score(doc, model_path, feats, clin)


def _score(doc: dict, model_path, feats: pd.DataFrame, clin: pd.DataFrame | None) -> pd.DataFrame:
    """The predictions table of every model the inputs can score (images or a feature table):
    models that need clinical columns are left out with a warning when *clin* is None; a
    non-finite score refuses the whole table."""
    models = [m for m in doc["models"] if clin is not None or not mdl.model_columns(m)]
    models = with_dependencies(models, doc["models"])
    left_out = [m["name"] for m in doc["models"] if m not in models]
    if left_out:
        _warn(f"{model_path}: model(s) {', '.join(left_out)} need clinical column(s) "
              f"{', '.join(doc['clinical_columns'])}; not scored (give --clinical FILE)")
    scores = score_frame(models, feats, clin)
    for name, lp in scores.items():
        bad = [str(p) for p, v in zip(feats.index, lp, strict=True) if not np.isfinite(v)]
        if bad:
            raise ModelFileError(f"{model_path}: model {name!r} gives a non-finite score for "
                                 f"patient(s) {bad[:5]}; nothing was written")
    return predictions_table(models, scores, feats.index, doc["id_column"])


def extract_features(doc: dict, man: pd.DataFrame, model_dir: Path, *, progress=None) -> pd.DataFrame:
    """Features of the manifest's rows (absolute paths) with the model's frozen settings: IBSI /
    basic features, the deep / habitat families (files next to model.json), lesions aggregated
    like the study. A failed extraction is a :class:`ConfigError` listing each failure."""
    idc = doc["id_column"]
    les = doc.get("lesions")
    settings = FeatureSettings.from_json(doc["feature_settings"])
    if les and les["column"] in man.columns:  # one row per lesion: extract each, aggregate like the study
        from radsig.study import lesions

        man = lesions.split_lesions(man, idc, les["column"])
    feats, fails = extract_manifest(man, settings, id_column=idc, progress=progress, stage="features")
    if doc.get("extra_features"):  # deep / habitat families, with the files saved next to model.json
        from radsig.study import extra_features as xf

        extra, xfails = xf.extract_extra_direct(doc["extra_features"], man, model_dir, id_column=idc)
        feats, fails = xf.merge(feats, extra), pd.concat([fails, xfails], ignore_index=True)
    if les and les["column"] in man.columns:
        feats = lesions.aggregate_wide(feats, man, idc, les["aggregate"])
        fails = lesions.patient_failures(fails, idc)
    if len(fails):
        errors = [f"{r[idc]} {r['modality']}: {' '.join(str(r['error']).split())}" for r in fails.to_dict("records")]
        raise ConfigError("feature extraction failed, nothing was scored: " + _one_line(errors))
    return feats


def _check_intensities(doc: dict, feats: pd.DataFrame, model_path, allow: bool) -> None:
    summary = doc.get("intensity")
    if summary is None:
        _warn(f"{model_path}: the model file holds no training intensity summary (written by an "
              "older radsig); the modalities' intensities were not checked")
        return
    problems, unchecked = inputs.intensity_outliers(summary, feats)
    if unchecked:
        _warn(f"{model_path}: no first-order intensity features for {', '.join(unchecked)}; "
              "their intensities were not checked against the training images")
    if problems and not allow:
        raise ConfigError(_one_line(problems) + "; refused (--allow-intensity-shift scores anyway, "
                          "with a warning per patient)")
    for p in problems:
        _warn(p + "; scored anyway (--allow-intensity-shift)")


def _warn_missing_features(doc: dict, feats: pd.DataFrame) -> None:
    need = sorted({f for m in doc["models"] for f in mdl.model_features(m)})
    nan = feats[need].apply(pd.to_numeric, errors="coerce").isna()
    for pid, row in nan[nan.any(axis=1)].iterrows():
        cols = list(row.index[row.to_numpy()])
        _warn(f"patient {pid}: {len(cols)} feature(s) the model uses could not be computed "
              f"(e.g. {cols[:3]}); imputed with the training median")


def score_frame(models: list[dict], feats: pd.DataFrame, clin: pd.DataFrame | None) -> dict:
    """Linear predictor of each of *models* (in scoring order, dependencies first) for aligned
    feature / clinical rows: the one scoring path of ``radsig predict`` and ``radsig serve``."""
    scores: dict = {}
    clin_rows = clin if clin is not None else pd.DataFrame(index=feats.index)
    for m in models:
        scores[m["name"]] = mdl.linear_predictor(m, feats, clin_rows, scores)
    return scores


def with_dependencies(models: list[dict], all_models: list[dict]) -> list[dict]:
    kept = {m["name"] for m in models}
    out = []
    for m in all_models:
        deps = {t["name"] for t in m.get("terms", []) if t["source"] == "model"}
        if m["name"] in kept and deps <= {x["name"] for x in out}:
            out.append(m)
    return out


def _clinical_terms(doc: dict) -> list[dict]:
    def walk(m):
        yield from (t for t in m.get("terms", []) if t["source"] == "clinical")
        for sub in m.get("members", []):
            yield from walk(sub)
    return [t for m in doc["models"] for t in walk(m)]


def _clinical(doc: dict, clinical, ids, idc: str) -> pd.DataFrame | None:
    if clinical is None:
        return None
    df, path = _clinical_table(doc, clinical, idc)
    gone = [p for p in ids if p not in df.index]
    if gone:
        raise ConfigError(f"clinical table {path}: no row for patient(s) {gone[:5]}")
    rows = df.loc[list(ids)]
    for col, pids in inputs.missing_clinical(rows, _clinical_terms(doc)).items():
        _warn(f"clinical table {path}: no {col!r} value for patient(s) {pids[:5]}; imputed with "
              "the model's training value")
    return rows


def _clinical_table(doc: dict, clinical, idc: str) -> tuple[pd.DataFrame, Path]:
    """The clinical table indexed by patient ID, checked for the model's columns and values."""
    path = Path(clinical)
    if not path.is_file():
        raise ConfigError(f"clinical table not found: {path}")
    df = _read_csv(path, "clinical table")
    if idc not in df.columns:
        raise ConfigError(f"clinical table {path}: id column {idc!r} missing")
    need = [c for c in doc["clinical_columns"] if c not in df.columns]
    if need:
        raise ConfigError(f"clinical table {path}: the model needs column(s) {need}; has {list(df.columns)}")
    problems = inputs.duplicate_id_problems(df, idc, f"clinical table {path}")
    df[idc] = df[idc].astype(str)
    df = df.set_index(idc)
    problems += inputs.clinical_value_problems(df, _clinical_terms(doc), f"clinical table {path}")
    if problems:
        raise ConfigError(_one_line(problems))
    return df, path


def predict_table(model_path: str | Path, features: str | Path, *, clinical: str | Path | None = None) -> pd.DataFrame:
    """Score the patients of a feature table (read like a study's ``features:`` cohort).

    The model's clinical columns (nomograms) come from ``clinical`` or, without it, from the
    feature table itself.
    """
    from radsig.study.tables import PROVENANCE_COLUMNS, fill_blank_ids, read_any

    doc = load_study_model(model_path)
    idc = doc["id_column"]
    path = Path(features)
    if not path.is_file():
        raise ConfigError(f"feature table not found: {path}")
    try:
        table = read_any(path)
    except Exception as err:  # noqa: BLE001 - any reader failure is the user's file
        raise ConfigError(f"cannot read feature table {path}: {err}") from None
    if idc not in table.columns:
        raise ConfigError(f"feature table {path}: id column {idc!r} missing")
    table, blank = fill_blank_ids(table, idc, path, joined=clinical is not None)
    if blank:
        raise ConfigError(f"feature table {path}: {len(blank)} row(s) have no {idc!r} (e.g. data rows "
                          f"{blank[:3]}), so they cannot be joined to the clinical table")
    table[idc] = table[idc].astype(str)
    dup = sorted(set(table[idc][table[idc].duplicated()]))
    if dup:
        raise ConfigError(f"feature table {path}: duplicate ID(s) {dup[:3]} in {idc!r}")
    table = table.set_index(idc)
    need = sorted({f for m in doc["models"] for f in mdl.model_features(m)})
    missing = [f for f in need if f not in table.columns]
    if missing:
        raise ConfigError(f"feature table {path}: {len(missing)} feature(s) the model needs are missing, "
                          f"e.g. {missing[:3]}")
    text = [f for f in need if not pd.api.types.is_numeric_dtype(table[f])]
    if text:
        raise ConfigError(f"feature table {path}: feature column(s) {text[:3]} are not numeric")
    feats = table[need].astype(float)
    if clinical is not None:
        clin = _clinical(doc, clinical, feats.index, idc)
    else:
        gone = [c for c in doc["clinical_columns"] if c not in table.columns or c in PROVENANCE_COLUMNS]
        clin = None if gone else table[doc["clinical_columns"]]
        if clin is not None:  # the table's own clinical columns get the clinical table's checks
            problems = inputs.clinical_value_problems(clin, _clinical_terms(doc), f"feature table {path}")
            if problems:
                raise ConfigError(_one_line(problems))
    return _score(doc, model_path, feats, clin)
