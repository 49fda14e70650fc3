"""``radsig predict``: score new patients with a frozen study model (``model.json``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from radsig.exceptions import ConfigError, ModelFileError
from radsig.models.serialize import read_model_file
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
    df = pd.read_csv(path)
    missing = [c for c in (id_column, "image", "mask") if c not in df.columns]
    if missing:
        raise ConfigError(f"manifest {path}: missing column(s) {missing}; has {list(df.columns)}")
    df[id_column] = df[id_column].astype(str)
    for col in ("image", "mask"):
        df[col] = [str(p if Path(p).is_absolute() else path.parent / p) for p in df[col]]
    if "modality" not in df.columns:
        df["modality"] = "IMG"
    df["modality"] = df["modality"].astype(str).str.upper()
    return df


def predict(model_path: str | Path, *, manifest: str | Path | None = None, image: str | Path | None = None,
            mask: str | Path | None = None, modality: str | None = None, clinical: str | Path | None = None,
            progress=None) -> pd.DataFrame:
    """Rad-score, probability and risk group of every model for every patient."""
    doc = load_study_model(model_path)
    idc = doc["id_column"]
    if manifest is not None:
        man = _read_manifest(manifest, idc)
    elif image is not None and mask is not None:
        mods = doc["modalities"]
        mod = (modality or (mods[0] if len(mods) == 1 else "")).upper()
        if len(mods) > 1 and not modality:
            raise ConfigError(f"the model uses modalities {mods}; give --manifest with one row per "
                              "modality (patient_id, modality, image, mask)")
        man = pd.DataFrame([{idc: "case", "modality": mod, "image": str(image), "mask": str(mask)}])
    else:
        raise ConfigError("give IMAGE and MASK, or --manifest FILE")
    absent = sorted(set(doc["modalities"]) - set(man["modality"]))
    if absent:
        raise ConfigError(f"the model needs modality {absent}; the input has {sorted(set(man['modality']))}")
    man = man[man["modality"].isin(doc["modalities"])]
    if clinical is not None:  # a wrong clinical table fails before the (slow) feature extraction
        _clinical_table(doc, clinical, idc)
    feats = extract_features(doc, man, Path(model_path).parent, progress=progress)
    missing = [f for m in doc["models"] for f in mdl.model_features(m) if f not in feats.columns]
    if missing:
        raise ModelFileError(f"features {sorted(set(missing))[:5]} required by the model were not produced; "
                             "the feature settings or extractor differ from the model's")
    clin = _clinical(doc, clinical, feats.index, idc)
    models = [m for m in doc["models"] if clin is not None or not mdl.model_columns(m)]
    models = with_dependencies(models, doc["models"])
    return predictions_table(models, score_frame(models, feats, clin), feats.index, idc)


def extract_features(doc: dict, man: pd.DataFrame, model_dir: Path, *, progress=None) -> pd.DataFrame:
    """Features of the manifest's rows (absolute paths) with the model's frozen settings: IBSI /
    basic features, the deep / habitat families (files next to model.json), lesions aggregated
    like the study. A failed extraction is a :class:`ConfigError` listing each failure."""
    idc = doc["id_column"]
    settings = FeatureSettings.from_json(doc["feature_settings"])
    les = doc.get("lesions")
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
        raise ConfigError("feature extraction failed:\n  " + "\n  ".join(fails["error"].astype(str)))
    return feats


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


def _clinical(doc: dict, clinical, ids, idc: str) -> pd.DataFrame | None:
    if clinical is None:
        return None
    df, path = _clinical_table(doc, clinical, idc)
    gone = [p for p in ids if p not in df.index]
    if gone:
        raise ConfigError(f"clinical table {path}: no row for patient(s) {gone[:5]}")
    return df.loc[list(ids)]


def _clinical_table(doc: dict, clinical, idc: str) -> tuple[pd.DataFrame, Path]:
    """The clinical table indexed by patient ID, checked for the model's columns."""
    path = Path(clinical)
    if not path.is_file():
        raise ConfigError(f"clinical table not found: {path}")
    df = pd.read_csv(path)
    if idc not in df.columns:
        raise ConfigError(f"clinical table {path}: id column {idc!r} missing")
    need = [c for c in doc["clinical_columns"] if c not in df.columns]
    if need:
        raise ConfigError(f"clinical table {path}: the model needs column(s) {need}; has {list(df.columns)}")
    df[idc] = df[idc].astype(str)
    return df.set_index(idc), path
