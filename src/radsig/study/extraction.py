"""Feature extraction for a study: one seam in front of the feature engine.

The same function serves ``radsig study`` and ``radsig predict``, so a frozen model scores new
patients with exactly the code and settings that built it. It uses ``radsig.features.extract_case``
with ``radsig.config.load_settings`` when the IBSI engine is installed, else the small stand-in
of :mod:`radsig.study.basic_features`; the model file records which one and the settings hash.
Per-case results are cached as Parquet keyed by file identity and settings hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from radsig.cohort import _atomic
from radsig.exceptions import ConfigError, ModelFileError, RadsigError

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class FeatureSettings:
    """Loaded feature settings: the raw mapping, its hash and which extractor runs them."""

    raw: dict
    digest: str
    extractor: str

    def to_json(self) -> dict:
        return {"raw": self.raw, "hash": self.digest, "extractor": self.extractor}

    @classmethod
    def from_json(cls, data: dict) -> FeatureSettings:
        return cls(raw=data["raw"], digest=data["hash"], extractor=data["extractor"])


def _engine_available() -> bool:
    try:
        from radsig.config import load_settings  # noqa: F401
        from radsig.features import extract_case  # noqa: F401
    except ImportError:
        return False
    return True


def _digest(raw: dict, extractor: str) -> str:
    text = json.dumps({"extractor": extractor, "raw": raw}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_feature_settings(path: str | Path, *, extractor: str | None = None) -> FeatureSettings:
    """Read a feature settings file (IBSI or PyRadiomics) and pick the extractor."""
    from radsig.config.yamlfile import load_yaml

    path = Path(path)
    raw = load_yaml(path, "feature settings file")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: feature settings must be a mapping of keys to values, "
                          f"got {type(raw).__name__}")
    basic = raw.pop("basic", None) if isinstance(raw, dict) else None
    if extractor is None:
        extractor = "radsig.features" if (_engine_available() and raw) else "basic"
    if extractor == "basic":
        raw = {"basic": basic or {}}
    else:
        from radsig.config import load_settings

        try:
            load_settings(raw)  # validate now, before any extraction
        except ConfigError as err:
            raise ConfigError(f"feature settings file {path}: {err}") from None
    return FeatureSettings(raw=raw, digest=_digest(raw, extractor), extractor=extractor)


def extract_one(image: str | Path, mask: str | Path, settings: FeatureSettings, *,
                label: int | None = None, case: str | None = None) -> dict[str, float]:
    """Features of one image/mask pair as ``{feature: value}``."""

    if settings.extractor == "basic":
        from radsig.io import read_image, read_mask
        from radsig.study.basic_features import extract_basic

        img = read_image(image, case=case)  # the checked reader and mask checks of every command
        msk = read_mask(mask, img, label=None if label is None else int(label), case=case)
        long = extract_basic(img, msk, settings.raw.get("basic"))
    elif settings.extractor == "radsig.features":
        from radsig.config import load_settings
        from radsig.features import extract_case

        long = extract_case(str(image), str(mask), load_settings(dict(settings.raw)),
                            label=label, case=case)
    else:
        raise ModelFileError(f"unknown feature extractor {settings.extractor!r}; "
                             "expected 'basic' or 'radsig.features'")
    return {str(k): float(v) for k, v in zip(long["feature"], long["value"], strict=False)}


def _cache_key(image: Path, mask: Path, label, settings: FeatureSettings) -> str:
    parts = [settings.digest, str(label)]
    for p in (image, mask):
        st = p.stat()
        parts += [str(p.resolve()), str(st.st_size), str(st.st_mtime_ns)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def extract_manifest(manifest: pd.DataFrame, settings: FeatureSettings, *, id_column: str,
                     cache_dir: Path | None = None, progress: Progress | None = None,
                     stage: str = "features") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Extract every row of a manifest (absolute paths) → (wide table, failures).

    The wide table has one row per patient and columns ``<MODALITY>_<feature>``.
    """
    rows: dict[str, dict[str, float]] = {}
    failures = []
    total = len(manifest)
    for done, rec in enumerate(manifest.to_dict("records"), start=1):
        pid, mod = str(rec[id_column]), str(rec.get("modality", "IMG")).upper()
        label = rec.get("label")
        label = None if label is None or pd.isna(label) else int(label)
        image, mask = Path(rec["image"]), Path(rec["mask"])
        try:
            feats = _cached(image, mask, label, settings, cache_dir, pid)
        except RadsigError as err:
            failures.append({id_column: pid, "modality": mod, "error": str(err)})
            feats = {}
        rows.setdefault(pid, {}).update({f"{mod}_{k}": v for k, v in feats.items()})
        if progress is not None:
            progress(stage, done, total)
    wide = pd.DataFrame.from_dict(rows, orient="index")
    wide.index.name = id_column
    return wide, pd.DataFrame(failures, columns=[id_column, "modality", "error"])


class _CohortProgress:
    """Adapter from the cohort engine's reporter protocol to the study's ``progress`` callback."""

    def __init__(self, progress: Progress | None, stage: str) -> None:
        self.progress, self.stage, self.total, self.done = progress, stage, 0, 0

    def start(self, total: int, already_failed: int = 0) -> None:
        self.total, self.done = total, already_failed
        if self.progress:
            self.progress(self.stage, self.done, self.total)

    def update(self, record: dict) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.stage, self.done, self.total)

    def stop(self) -> None:
        """Nothing to tear down: the study's progress display outlives each cohort."""


def extract_with_cohort_engine(manifest: pd.DataFrame, settings: FeatureSettings, out: Path, *,
                               id_column: str, jobs: int = 1, cache: Path | None = None,
                               progress: Progress | None = None,
                               stage: str = "features") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Same contract as :func:`extract_manifest`, run by ``radsig.cohort.extract_cohort``
    (parallel workers, per-case cache, provenance, failures table)."""
    from radsig.cohort import extract_cohort
    from radsig.config import load_settings

    man = manifest.rename(columns={id_column: "patient_id"})
    man = man[[c for c in man.columns if c in ("patient_id", "image", "mask", "label", "modality")]]
    result = extract_cohort(man, load_settings(dict(settings.raw)), out, jobs=jobs,
                            cache=cache if cache is not None else False,
                            progress=_CohortProgress(progress, stage))
    table = result.table
    rows: dict[str, dict[str, float]] = {}
    for rec in table.to_dict("records"):
        mod = str(rec.get("modality") or "IMG").upper()
        feats = rows.setdefault(str(rec["patient_id"]), {})
        feats.update({f"{mod}_{f}": float(rec[f]) for f in result.feature_columns})
    wide = pd.DataFrame.from_dict(rows, orient="index")
    wide.index.name = id_column
    fails = result.failures
    failures = pd.DataFrame({
        id_column: fails["patient_id"].astype(str).tolist(),
        "modality": fails["modality"].tolist(),
        "error": [f"{t}: {m}" for t, m in zip(fails["error_type"], fails["message"], strict=False)],
    }, columns=[id_column, "modality", "error"])
    return wide, failures


def _cached(image: Path, mask: Path, label, settings: FeatureSettings,
            cache_dir: Path | None, case: str) -> dict[str, float]:
    if cache_dir is None:
        return extract_one(image, mask, settings, label=label, case=case)
    cache_dir.mkdir(parents=True, exist_ok=True)
    file = cache_dir / f"{_cache_key(image, mask, label, settings)}.json"
    if file.is_file():
        return json.loads(file.read_text())
    feats = extract_one(image, mask, settings, label=label, case=case)
    _atomic.write_text(file, json.dumps(feats))
    return feats
