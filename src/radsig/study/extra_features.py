"""Deep and habitat feature families in a study: fit on training only, extract every cohort.

``features.families`` in the study file adds ``deep`` (a CNN on ROI-centred crops, trained on
the training cohort's crops or loaded from a weights file) and ``habitat`` (voxel habitats
fitted on the training tumours) to the IBSI features. Both are fitted before any other cohort
is touched, then every cohort goes through :func:`radsig.cohort.extract_cohort` (cache, resume,
workers) with the families' per-case extractors. Their columns are ``<MODALITY>_deep_NNN`` and
``<MODALITY>_hab…`` / ``<MODALITY>_ith_…`` next to the IBSI ``<MODALITY>_<feature>`` columns.

What was fitted is written next to ``model.json`` (``deep_<MOD>/deep_weights.{npz,json}``,
``habitat_<MOD>.json``) and described in the model file's ``extra_features`` entry, which
``radsig predict`` reads to recompute the same features for new patients.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from radsig.exceptions import ConfigError, RadsigError

Progress = Callable[[str, int, int], None]
FAMILIES = ("ibsi", "deep", "habitat")


def family_of(column: str) -> str:
    """Feature family of a wide-table column ``<MODALITY>_<feature>``."""
    rest = column.split("_", 1)[1] if "_" in column else column
    if rest.startswith("deep_"):
        return "deep"
    if rest.startswith(("hab", "ith_")):
        return "habitat"
    return "ibsi"


def select_families(feats: pd.DataFrame, families: list[str] | None) -> pd.DataFrame:
    """Columns of *feats* in *families* (empty/None = handcrafted IBSI only)."""
    fams = set(families or ["ibsi"])
    return feats[[c for c in feats.columns if family_of(c) in fams]]


# --------------------------------------------------------------------------- families needing an extra
#: family → (module it needs, radsig extra that installs it)
FAMILY_EXTRAS = {"deep": ("torch", "deep")}


def unavailable_families(study) -> dict:
    """Families of ``features.families`` whose package does not import here → its MissingExtraError."""
    from radsig._optional import missing

    out = {}
    for fam in study.features.families:
        if fam in FAMILY_EXTRAS and (err := missing(*FAMILY_EXTRAS[fam])) is not None:
            out[fam] = err
    return out


def without_families(study, drop: set[str]):
    """*study* without the feature families *drop* → (new study, models dropped, models narrowed).

    A model that uses only dropped families is dropped, and so is a nomogram that includes a dropped
    model; comparisons, analyses and biology entries naming a dropped model go with it. A model that
    mixes families keeps the others (``fused: [ibsi, deep, habitat]`` → ``[ibsi, habitat]``).
    """
    from radsig.config.study import StudySpec

    doc = study.model_dump()
    doc["features"]["families"] = [f for f in doc["features"]["families"] if f not in drop]
    gone: list[str] = []
    narrowed: list[str] = []
    models = []
    for m in doc["models"]:
        fams = m["families"]
        if (fams and set(fams) <= drop) or set(m["include"]) & set(gone):
            gone.append(m["name"])
            continue
        if set(fams) & drop:
            m["families"] = [f for f in fams if f not in drop]
            narrowed.append(m["name"])
        models.append(m)
    if not models:
        return None, gone, narrowed
    doc["models"] = models
    doc["comparisons"] = [c for c in doc["comparisons"] if not set(c) & set(gone)]
    doc["analyses"] = [a for a in doc["analyses"] if a["model"] not in gone]
    if doc.get("biology") is not None:
        doc["biology"]["models"] = [m for m in doc["biology"]["models"] if m not in gone]
    return StudySpec(**doc), gone, narrowed


def skip_unavailable_families(study, source: str = "") -> tuple[object, list[str]]:
    """*study* without the families whose optional package is missing → (study, notes for the report).

    Emits one :class:`radsig._optional.MissingExtraWarning` per skipped family (the CLI prints it as
    one ``warning:`` line). A study whose every model needs a missing family cannot run: that is a
    :class:`ConfigError` naming the install command.
    """
    import warnings

    from radsig._optional import MissingExtraWarning, install_command

    notes = []
    for fam, err in unavailable_families(study).items():
        extra = err.extra
        new, gone, narrowed = without_families(study, {fam})
        if new is None:
            raise ConfigError(f"{source or study.name}: every model of the study needs the {fam} family, but {err}")
        what = [f"models not fitted: {', '.join(gone)}"] if gone else []
        what += [f"models fitted without {fam} features: {', '.join(narrowed)}"] if narrowed else []
        what_text = f" ({'; '.join(what)})" if what else ""
        where = f"{source}: " if source else ""
        warnings.warn(MissingExtraWarning(
            f"{where}features.families asks for '{fam}' but {err.reason}; the {fam} family is skipped"
            f"{what_text}; to run it: {install_command(extra)}"), stacklevel=2)
        notes.append(f"The {fam} feature family of the study file was skipped because {err.reason}{what_text}. "
                     f"Install it with {install_command(extra)} and run the study again to include it.")
        study = new
    return study, notes


def _rows(manifest: pd.DataFrame, id_column: str, modality: str) -> pd.DataFrame:
    man = manifest[manifest["modality"].astype(str).str.upper() == modality.upper()]
    man = man.rename(columns={id_column: "patient_id"})
    return man[[c for c in man.columns if c in ("patient_id", "image", "mask", "label", "modality")]]


# --------------------------------------------------------------------------- fitting (training only)
def fit_extra(study, train_manifest: pd.DataFrame, train_clinical: pd.DataFrame, out: Path,
              ibsi_raw: dict | None, progress: Progress | None = None, cache: Path | None = None) -> dict:
    """Train the deep network(s) / fit the habitats on the training cohort; returns the model-file entry.

    Paths in the entry are relative to *out* (the folder of ``model.json``). With a *cache* folder,
    what was fitted is also stored there under a digest of everything that determines it (the
    training images' and masks' content, the options, the seed and, for supervised training, the
    labels), and a later run with the same inputs (a re-run, or a negative control on the same
    images) reuses it instead of fitting again.
    """
    spec = study.features
    doc: dict = {}
    if "deep" in spec.families:
        doc["deep"] = {m.upper(): _fit_deep(study, _rows(train_manifest, study.id_column, m), train_clinical,
                                            out, m.upper(), progress, cache) for m in spec.deep.modalities}
    if "habitat" in spec.families:
        doc["habitat"] = {m.upper(): _fit_habitat(study, _rows(train_manifest, study.id_column, m), out,
                                                  m.upper(), ibsi_raw, progress, cache)
                          for m in spec.habitat.modalities}
    return doc


def _fit_key(rows: pd.DataFrame, cache: Path, what: dict) -> str:
    """Digest of the training rows' image/mask content (memoised file hashes) and *what*."""
    from radsig import __version__
    from radsig.cohort.cache import FileHasher

    hasher = FileHasher(Path(cache) / "hashes")
    files = [[str(r["patient_id"]), hasher.hash_path(Path(r["image"])), hasher.hash_path(Path(r["mask"])),
              None if pd.isna(r.get("label")) else str(r.get("label"))] for r in rows.to_dict("records")]
    text = json.dumps({"files": files, "what": what, "version": __version__}, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _fit_deep(study, rows: pd.DataFrame, clinical: pd.DataFrame, out: Path, mod: str,
              progress: Progress | None, cache: Path | None = None) -> dict:
    from radsig.deep.cohort import deep_settings, train_deep_model
    from radsig.deep.crops import CropSpec

    d = study.features.deep
    folder = out / f"deep_{mod}"
    stored = None  # the cached copy of trained weights (given weights are not cached)
    if rows.empty:
        raise ConfigError(f"features.deep: the training cohort has no {mod} images")
    if d.method == "weights":
        src = study.path(d.weights).with_suffix(".json")
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in (".json", ".npz"):
            if not src.with_suffix(suffix).is_file():
                raise ConfigError(f"features.deep.weights: {src.with_suffix(suffix)} not found")
            shutil.copyfile(src.with_suffix(suffix), folder / f"deep_weights{suffix}")
        wjson = folder / "deep_weights.json"
    else:
        y = None
        if d.method == "supervised":
            from radsig.study.data import binary_target

            y = binary_target(clinical.reindex(rows["patient_id"].astype(str)), study.endpoint(d.endpoint))
            keep = y.notna().to_numpy()
            rows, y = rows[keep], y.to_numpy()[keep].astype(int)
        crop = CropSpec(size_mm=d.size_mm, n_voxels=d.n_voxels, modality=mod, mode=d.mode,
                        window=tuple(d.window), suv_max=d.suv_max)
        backbone = {"dims": 2 if d.mode == "2.5d" else 3, "in_channels": 3, "width": d.width,
                    "n_features": d.n_features}
        cb = (lambda e, _loss: progress(f"deep training {mod}", e, d.epochs)) if progress else None
        fit = dict(crop=crop.to_dict(), backbone=backbone, method=d.method, epochs=d.epochs,
                   batch_size=d.batch_size, seed=study.seed, y=None if y is None else np.asarray(y).tolist())
        stored = cache / "deep_models" / _fit_key(rows, cache, fit) if cache is not None else None
        if stored is not None and (stored / "deep_weights.json").is_file():
            folder.mkdir(parents=True, exist_ok=True)
            for suffix in (".json", ".npz"):
                shutil.copyfile(stored / f"deep_weights{suffix}", folder / f"deep_weights{suffix}")
            wjson = folder / "deep_weights.json"
        else:
            wjson = train_deep_model(rows, folder, spec=crop, backbone=backbone, method=d.method, y=y,
                                     epochs=d.epochs, batch_size=d.batch_size, seed=study.seed, progress=cb)
            if stored is not None:
                _store(folder, stored, ("deep_weights.npz", "deep_weights.json"))
    entry = {"weights": str(Path(wjson).relative_to(out)), "sha256": deep_settings(wjson)["sha256"],
             "method": d.method}
    if stored is not None:  # extraction reads the cached copy, so its settings (and cache keys) match across runs
        entry["extract_weights"] = str((stored / "deep_weights.json").resolve())
    return entry


def _store(src: Path, dest: Path, names: tuple[str, ...]) -> None:
    """Copy *names* from *src* into the cache folder *dest* (written to a temporary folder, then renamed)."""
    tmp = dest.with_name(dest.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(src / name, tmp / name)
    try:
        tmp.rename(dest)
    except OSError:  # another run stored it first
        shutil.rmtree(tmp, ignore_errors=True)


def _fit_habitat(study, rows: pd.DataFrame, out: Path, mod: str, ibsi_raw: dict | None,
                 progress: Progress | None, cache: Path | None = None) -> dict:
    from radsig.habitat.cohort import fit_habitat_model

    h = study.features.habitat
    if rows.empty:
        raise ConfigError(f"features.habitat: the training cohort has no {mod} images")
    if progress:
        progress(f"habitat fit {mod}", 0, 1)
    params = dict(radius_mm=h.radius_mm, k_range=tuple(h.k_range), method=h.method,
                  n_supervoxels=h.n_supervoxels, random_state=study.seed)
    stored = cache / "habitat_models" / f"{_fit_key(rows, cache, params)}.json" if cache is not None else None
    if stored is not None and stored.is_file():
        model = json.loads(stored.read_text())
    else:
        model = fit_habitat_model(rows, **params)
        if stored is not None:  # atomic: a run killed mid-write must not leave a truncated cache entry
            from radsig.cohort._atomic import write_text

            write_text(stored, json.dumps(model))
    if progress:
        progress(f"habitat fit {mod}", 1, 1)
    entry = {"model": model, "ibsi": ibsi_raw, "maps": f"habitat_maps/{mod}"}
    if stored is not None and not Path(cache).resolve().is_relative_to(Path(out).resolve()):
        # a cache shared between runs: the maps' folder is part of the extraction settings (and so of
        # the cache keys), so it must not depend on this run's output folder
        entry["extract_maps"] = str((stored.parent / f"{stored.stem}_maps").resolve())
    from radsig.cohort._atomic import write_text as _write_text

    _write_text(out / f"habitat_{mod}.json", json.dumps(model, indent=1))
    return entry


# --------------------------------------------------------------------------- extraction (any cohort)
def _family_settings(doc: dict, out: Path, *, maps: bool) -> list[tuple[str, str, Callable, dict]]:
    from radsig.habitat.cohort import habitat_extractor, habitat_settings

    jobs = []
    if doc.get("deep"):  # a model file with deep features, read where PyTorch is missing: say so first
        from radsig._optional import require

        require(*FAMILY_EXTRAS["deep"])
        from radsig.deep.cohort import deep_extractor
    for mod, entry in doc.get("deep", {}).items():
        wjson = Path(entry["extract_weights"]) if maps and "extract_weights" in entry else (out / entry["weights"]).resolve()
        if not wjson.is_file():
            raise ConfigError(f"deep weights {wjson} not found (they are written next to model.json)")
        jobs.append(("deep", mod, deep_extractor, {"weights": str(wjson), "sha256": entry["sha256"]}))
    for mod, entry in doc.get("habitat", {}).items():
        maps_dir = Path(entry.get("extract_maps") or out / entry["maps"]) if maps else None
        settings = habitat_settings(entry["model"], ibsi=entry.get("ibsi"), maps_dir=maps_dir)
        jobs.append(("habitat", mod, habitat_extractor, settings))
    return jobs


def extract_extra(doc: dict, manifest: pd.DataFrame, out: Path, name: str, *, id_column: str,
                  jobs: int = 1, cache: Path | None = None,
                  progress: Progress | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deep/habitat features of one cohort via the cohort engine → (wide table, failures)."""
    from radsig.cohort import extract_cohort
    from radsig.study.extraction import _CohortProgress

    tables, fails = [], []
    for family, mod, extractor, settings in _family_settings(doc, out, maps=True):
        rows = _rows(manifest, id_column, mod)
        if rows.empty:
            continue
        res = extract_cohort(rows, settings, out / "features" / f"{name}_{family}_{mod}.parquet",
                             extractor=extractor, jobs=jobs, cache=cache if cache is not None else False,
                             progress=_CohortProgress(progress, f"{family} {name} {mod}"))
        t = res.table.set_index(res.table["patient_id"].astype(str))[res.feature_columns].astype(float)
        t = t.groupby(level=0, sort=False).mean()  # repeated rows of one ID (a study with `lesions:` splits them first)
        tables.append(t.add_prefix(f"{mod}_"))
        f = res.failures
        fails.append(pd.DataFrame({id_column: f["patient_id"].astype(str).tolist(),
                                   "modality": f["modality"].tolist(),
                                   "error": [f"{family}: {a}: {b}" for a, b in zip(f["error_type"], f["message"], strict=False)]}))
    wide = pd.concat(tables, axis=1) if tables else pd.DataFrame()
    wide.index.name = id_column
    failures = pd.concat(fails, ignore_index=True) if fails else pd.DataFrame(columns=[id_column, "modality", "error"])
    return wide, failures


def extract_extra_direct(doc: dict, manifest: pd.DataFrame, model_dir: Path, *,
                         id_column: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Same features for ``radsig predict``: the same per-case extractors, called in this process."""
    tables, fails = [], []
    for family, mod, extractor, settings in _family_settings(doc, model_dir, maps=False):
        lesions: list[pd.Series] = []
        for rec in _rows(manifest, id_column, mod).to_dict("records"):
            pid = str(rec["patient_id"])
            label = rec.get("label")
            label = None if label is None or pd.isna(label) else int(label)
            try:
                long = extractor(rec["image"], rec["mask"], settings, label=label, case=pid)
            except RadsigError as err:
                fails.append({id_column: pid, "modality": mod, "error": f"{family}: {err}"})
                continue
            lesions.append(pd.Series(long["value"].to_numpy(float), index=long["feature"].tolist(), name=pid))
        if lesions:  # repeated rows of one ID: mean, exactly as extract_extra does in the study
            t = pd.DataFrame(lesions).groupby(level=0, sort=False).mean()
            tables.append(t.add_prefix(f"{mod}_"))
    wide = pd.concat(tables, axis=1) if tables else pd.DataFrame()
    wide.index.name = id_column
    return wide, pd.DataFrame(fails, columns=[id_column, "modality", "error"])


def model_entry(doc: dict) -> dict:
    """*doc* without the run-local extraction paths (what goes into ``model.json``)."""
    return {fam: {mod: {k: v for k, v in e.items() if not k.startswith("extract_")} for mod, e in mods.items()}
            for fam, mods in doc.items()}


def merge(wide: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """IBSI table joined with the deep/habitat table (patients missing a family get NaN there)."""
    if extra is None or extra.empty:
        return wide
    out = wide.join(extra, how="left")
    out.index.name = wide.index.name
    return out


def family_counts(columns) -> dict[str, int]:
    """Number of feature columns per family (for the report)."""
    fams = [family_of(c) for c in columns]
    return {f: int(np.sum([x == f for x in fams])) for f in FAMILIES if f in fams}
