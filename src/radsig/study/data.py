"""Open and check a study's tables before any work: files, columns, classes, events.

Every problem found is collected and raised together as one :class:`ConfigError`, so the user
fixes the study file once instead of once per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from radsig.config.study import EndpointSpec, StudySpec
from radsig.exceptions import ConfigError

MANIFEST_COLUMNS = ("image", "mask")


@dataclass
class CohortData:
    """A cohort's manifest (absolute paths) and clinical table (indexed by patient ID)."""

    name: str
    role: str
    manifest: pd.DataFrame
    clinical: pd.DataFrame
    features: pd.DataFrame | None = None  # a feature-table cohort's features (radsig.study.tables)
    provenance: pd.DataFrame | None = None  # its Image/Mask columns (PyRadiomics batch output)


def _read_table(path: Path, what: str, problems: list[str]) -> pd.DataFrame | None:
    if not path.is_file():
        problems.append(f"{what}: file not found: {path}")
        return None
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        sep = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
        return pd.read_csv(path, sep=sep)
    except Exception as err:  # noqa: BLE001 - any reader failure is the user's file
        problems.append(f"{what}: cannot read {path}: {err}")
        return None


def _check_manifest(name: str, df: pd.DataFrame, study: StudySpec, base: Path,
                    problems: list[str]) -> pd.DataFrame:
    need = [study.id_column, *MANIFEST_COLUMNS]
    missing = [c for c in need if c not in df.columns]
    if missing:
        problems.append(f"cohort {name!r} manifest: missing column(s) {missing}; has {list(df.columns)}")
        return df
    df = df.copy()
    df[study.id_column] = df[study.id_column].astype(str)
    if "modality" not in df.columns:
        df["modality"] = "IMG"
    df["modality"] = df["modality"].astype(str).str.upper()
    wanted = [m.upper() for m in study.features.modalities]
    if wanted:
        absent = sorted(set(wanted) - set(df["modality"]))
        if absent:
            problems.append(f"cohort {name!r} manifest: modality {absent} not found; has {sorted(set(df['modality']))}")
        df = df[df["modality"].isin(wanted)]
    for col in MANIFEST_COLUMNS:
        df[col] = [str(p if Path(p).is_absolute() else (base / p)) for p in df[col].astype(str)]
        gone = [p for p in df[col] if not Path(p).exists()]
        if gone:
            problems.append(f"cohort {name!r} manifest: {len(gone)} {col} path(s) not found, e.g. {gone[0]}")
    return df


def _check_endpoint(name: str, role: str, clin: pd.DataFrame, ep: EndpointSpec,
                    problems: list[str]) -> None:
    cols = [ep.column] if ep.type == "binary" else [ep.time, ep.event]
    missing = [c for c in cols if c not in clin.columns]
    if missing:
        problems.append(f"cohort {name!r} clinical table: endpoint {ep.name!r} needs column(s) "
                        f"{missing}; has {list(clin.columns)}")
        return
    if ep.type == "binary":
        y = binary_target(clin, ep).dropna()
        if y.nunique() < 2:
            problems.append(f"cohort {name!r}: endpoint {ep.name!r} has one class only "
                            f"({ep.column} values {sorted(set(clin[ep.column].dropna().astype(str)))}, "
                            f"positive={ep.positive!r}); AUC needs both classes")
    else:
        ev = pd.to_numeric(clin[ep.event], errors="coerce")
        if ev.dropna().sum() == 0:
            problems.append(f"cohort {name!r}: endpoint {ep.name!r} has no events in {ep.event!r}")


def binary_target(clin: pd.DataFrame, ep: EndpointSpec) -> pd.Series:
    """1 where the endpoint column equals ``positive`` (compared as text), 0 else, NaN if missing."""
    col = clin[ep.column]
    y = (col.astype(str) == str(ep.positive)).astype(float)
    y[col.isna()] = np.nan
    return y


def load_study_data(study: StudySpec) -> dict[str, CohortData]:
    """Read every manifest and clinical table and check them against the study file.

    Raises
    ------
    ConfigError
        Listing every missing file, missing column, one-class cohort, etc.
    """
    problems: list[str] = []
    out: dict[str, CohortData] = {}
    covariates = sorted({c for m in study.models for c in m.covariates} | set(study.table1))
    if study.features.settings is not None and not study.path(study.features.settings).is_file():
        problems.append(f"features.settings: file not found: {study.path(study.features.settings)}")
    tables: dict[str, tuple] = {}
    for c in study.cohorts:
        if c.features is not None:  # a feature table instead of images
            from radsig.study.tables import read_feature_table

            table = read_feature_table(study, c, problems)
            man = pd.DataFrame(columns=[study.id_column, *MANIFEST_COLUMNS, "modality"])
        else:
            man = _read_table(study.path(c.manifest), f"cohort {c.name!r} manifest", problems)
        if c.features is not None and study.path(c.clinical_path) == study.path(c.features):
            clin = None if table is None else table[2]  # the feature table holds the clinical columns
        else:
            clin = _read_table(study.path(c.clinical_path), f"cohort {c.name!r} clinical", problems)
        if man is None or clin is None or (c.features is not None and table is None):
            continue
        if c.features is not None:
            tables[c.name] = table[:2]
        else:
            man = _check_manifest(c.name, man, study, study.path(c.manifest).parent, problems)
        if study.id_column not in clin.columns:
            problems.append(f"cohort {c.name!r} clinical table: id column {study.id_column!r} missing")
            continue
        clin = clin.assign(**{study.id_column: clin[study.id_column].astype(str)}).set_index(study.id_column)
        gone = [v for v in covariates if v not in clin.columns]
        if gone:
            problems.append(f"cohort {c.name!r} clinical table: column(s) {gone} used by models/table1 "
                            f"are missing; has {list(clin.columns)}")
        derived = {study.biology.phenotype_column} if study.biology is not None else set()
        for ep in study.endpoints:
            if ep.type == "binary" and ep.column in derived:
                continue  # added by the biology section (radsig.study.biology) before modelling
            _check_endpoint(c.name, c.role, clin, ep, problems)
        out[c.name] = CohortData(c.name, c.role, man, clin, *tables.get(c.name, (None, None)))
    if len(tables) > 1:  # feature tables agree on feature names (image cohorts: after extraction)
        from radsig.study.tables import feature_differences

        ref = study.training.name if study.training.name in tables else next(iter(tables))
        problems += [d for n, (f, _) in tables.items() if n != ref
                     for d in [feature_differences(ref, tables[ref][0].columns, n, f.columns)] if d]
    if problems:
        raise ConfigError("the study's data does not match the study file:\n  - " + "\n  - ".join(problems))
    return out
