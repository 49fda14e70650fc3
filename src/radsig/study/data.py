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
                    problems: list[str], path: Path | None = None) -> pd.DataFrame:
    label = f"cohort {name!r} manifest" + (f" {path}" if path is not None else "")
    need = [study.id_column, *MANIFEST_COLUMNS]
    missing = [c for c in need if c not in df.columns]
    if missing:
        problems.append(f"{label}: missing column(s) {missing}; has {list(df.columns)}")
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
            problems.append(f"{label}: modality {absent} not found; has {sorted(set(df['modality']))}")
        df = df[df["modality"].isin(wanted)]
    for col in MANIFEST_COLUMNS:
        df[col] = [str(p if Path(p).is_absolute() else (base / p)) for p in df[col].astype(str)]
        gone = [p for p in df[col] if not Path(p).exists()]
        if gone:
            problems.append(f"{label}: {len(gone)} {col} path(s) not found, e.g. {gone[0]}")
    from radsig.study.inputs import manifest_problems

    lesion = study.lesions.column if study.lesions is not None else None
    problems += manifest_problems(df, study.id_column, label, lesion_column=lesion)
    return df


def _check_endpoint(name: str, role: str, clin: pd.DataFrame, ep: EndpointSpec,
                    problems: list[str], path: Path | None = None) -> None:
    label = f"cohort {name!r} clinical table" + (f" {path}" if path is not None else "")
    cols = [ep.column] if ep.type == "binary" else [ep.time, ep.event]
    missing = [c for c in cols if c not in clin.columns]
    if missing:
        problems.append(f"{label}: endpoint {ep.name!r} needs column(s) "
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
        tm = pd.to_numeric(clin[ep.time], errors="coerce")
        for col, num in ((ep.time, tm), (ep.event, ev)):
            text = clin[col][num.isna() & clin[col].notna()]
            if len(text):
                problems.append(f"{label}: endpoint {ep.name!r} column {col!r} "
                                f"must be numeric; patient(s) {list(text.index[:5])} have "
                                f"{[str(v) for v in text.iloc[:5]]}")
        bad_ev = ev.dropna()[~ev.dropna().isin([0, 1])]
        if len(bad_ev):
            problems.append(f"{label}: endpoint {ep.name!r} event column "
                            f"{ep.event!r} must be 0/1; patient(s) {list(bad_ev.index[:5])} have "
                            f"{bad_ev.iloc[:5].tolist()}")
        bad_t = tm[(tm < 0) | ~np.isfinite(tm.fillna(1.0))]
        if len(bad_t):
            problems.append(f"{label}: endpoint {ep.name!r} time column "
                            f"{ep.time!r} must be non-negative and finite; patient(s) "
                            f"{list(bad_t.index[:5])} have {bad_t.iloc[:5].tolist()}")
        if ev.dropna().sum() == 0:
            problems.append(f"cohort {name!r}: endpoint {ep.name!r} has no events in {ep.event!r}")
        zero = tm[tm == 0]
        if len(zero):  # the survival statistics need t > 0: say so instead of dropping them quietly
            import warnings

            from radsig.exceptions import InputWarning

            warnings.warn(f"{label}: endpoint {ep.name!r} time column {ep.time!r} is 0 for "
                          f"{len(zero)} patient(s) (e.g. {list(zero.index[:5])}); they are left out "
                          "of the survival statistics (C-index, Kaplan-Meier, log-rank need a time > 0)",
                          InputWarning, stacklevel=2)


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
            man = _check_manifest(c.name, man, study, study.path(c.manifest).parent, problems,
                                  study.path(c.manifest))
        if study.id_column not in clin.columns:
            problems.append(f"cohort {c.name!r} clinical table: id column {study.id_column!r} missing")
            continue
        from radsig.study.inputs import duplicate_id_problems

        dup = duplicate_id_problems(clin, study.id_column, f"cohort {c.name!r} clinical table "
                                    f"{study.path(c.clinical_path)}")
        if dup:
            problems += dup
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
            _check_endpoint(c.name, c.role, clin, ep, problems, study.path(c.clinical_path))
        out[c.name] = CohortData(c.name, c.role, man, clin, *tables.get(c.name, (None, None)))
        for col in sorted({x for m in study.models for x in m.covariates} & set(clin.columns)):
            problems += _mixed_column(clin[col], col, f"cohort {c.name!r} clinical table "
                                                      f"{study.path(c.clinical_path)}")
    if len(tables) > 1:  # feature tables agree on feature names (image cohorts: after extraction)
        from radsig.study.tables import feature_differences

        ref = study.training.name if study.training.name in tables else next(iter(tables))
        problems += [d for n, (f, _) in tables.items() if n != ref
                     for d in [feature_differences(ref, tables[ref][0].columns, n, f.columns)] if d]
    if not problems and study.training.name in out:
        problems += _model_needs(study, out[study.training.name])
    if problems:
        raise ConfigError("the study's data does not match the study file: " + "; ".join(problems))
    return out


#: the study's LASSO / Coxnet uses 5-fold cross-validation on the training cohort
MIN_PER_CLASS = 5


def _model_needs(study: StudySpec, train: CohortData) -> list[str]:
    """What each model's fit needs from the training cohort: per binary endpoint at least
    ``MIN_PER_CLASS`` patients of each class (stratified 5-fold CV), per survival endpoint at
    least ``MIN_PER_CLASS`` events, and every covariate with two or more distinct values."""
    problems = []
    clin = train.clinical
    where = f"training cohort {train.name!r} ({study.path(study.training.clinical_path)})"
    derived = {study.biology.phenotype_column} if study.biology is not None else set()
    for ep_name in dict.fromkeys(m.endpoint for m in study.models):
        ep = study.endpoint(ep_name)
        if ep.type == "binary":
            if ep.column in derived or ep.column not in clin.columns:
                continue
            counts = binary_target(clin, ep).value_counts()
            few = {("positive" if k == 1 else "negative"): int(counts.get(k, 0)) for k in (1.0, 0.0)
                   if counts.get(k, 0) < MIN_PER_CLASS}
            if few:
                problems.append(f"{where}: endpoint {ep.name!r} has {few} patients; "
                                f"fitting needs at least {MIN_PER_CLASS} of each class (5-fold CV)")
        elif ep.event in clin.columns:
            n_ev = int(pd.to_numeric(clin[ep.event], errors="coerce").fillna(0).sum())
            if n_ev < MIN_PER_CLASS:
                problems.append(f"{where}: endpoint {ep.name!r} has {n_ev} events; "
                                f"fitting needs at least {MIN_PER_CLASS}")
    have = set(train.manifest["modality"]) if "modality" in train.manifest.columns else set()
    for m in study.models if train.features is None else ():  # a feature table has no manifest
        gone = sorted({x.upper() for x in m.modalities} - have)
        if gone:
            problems.append(f"model {m.name!r}: modalities {gone} are not in the training manifest "
                            f"{study.path(study.training.manifest)} (has {sorted(have)})")
    # 'deep' without PyTorch: radsig.study.extra_features.skip_unavailable_families (run by the
    # study and validate-study after this) skips the family with one warning, or refuses the study
    # when every model needs it
    users: dict[str, list[str]] = {}
    for m in study.models:
        for col in m.covariates:
            users.setdefault(col, []).append(m.name)
    for col, names in users.items():
        if col in clin.columns and clin[col].dropna().nunique() < 2:
            problems.append(f"{where}: covariate {col!r} has {clin[col].dropna().nunique()} distinct "
                            f"value(s); it cannot enter model(s) {', '.join(names)}")
    return problems


def _mixed_column(values: pd.Series, col: str, where: str) -> list[str]:
    """A covariate that the models would read as numeric (``modelling.clinical_terms``: ≥ 90 % of
    its values numbers, > 2 distinct) but that also holds text: the text rows would silently
    become missing and be imputed. Refused, naming the patients and values."""
    given = values.dropna()
    num = pd.to_numeric(given, errors="coerce")
    text = given[num.isna()]
    if text.empty or num.notna().sum() < 0.9 * len(given) or values.nunique() <= 2:
        return []
    return [f"{where}: covariate {col!r} holds numbers and text: patient(s) {list(text.index[:5])} "
            f"have {[str(v) for v in text.iloc[:5]]}; they would be treated as missing and imputed "
            "(write numbers, or make every value a category)"]
