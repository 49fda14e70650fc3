"""Feature tables as study cohorts: a CSV or Parquet table of features, one row per patient.

A cohort gives ``features: TABLE`` instead of ``manifest:`` when its features were computed
elsewhere (PyRadiomics' batch output, another tool, a public table). The table is read as it is:
PyRadiomics' ``diagnostics_*`` columns (``general_info_*`` in PyRadiomics 1.x) are dropped, its
``Image``/``Mask`` columns are kept as provenance, and the feature columns are those matching
``features.columns`` (a regular expression) or, by default, every numeric column that is not the ID,
an endpoint column or a clinical variable the study names. Every problem is reported before any
work, like the rest of :mod:`radsig.study.data`.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from radsig.config.study import StudySpec
from radsig.exceptions import ConfigError, RadsigWarning

DROPPED_PREFIXES = ("diagnostics_", "general_info_")
PROVENANCE_COLUMNS = ("Image", "Mask")


def read_any(path: Path) -> pd.DataFrame:
    """CSV (any compression pandas infers), TSV or Parquet, by file name."""
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        return pd.read_parquet(path)
    sep = "\t" if name.endswith((".tsv", ".txt", ".tsv.gz")) else ","
    return pd.read_csv(path, sep=sep, float_precision="round_trip")


def named_columns(study: StudySpec) -> set[str]:
    """Columns the study uses as something other than a feature (endpoints, covariates, Table 1)."""
    cols = {c for m in study.models for c in m.covariates} | set(study.table1)
    for ep in study.endpoints:
        cols |= {c for c in (ep.column, ep.time, ep.event) if c}
    if study.lesions is not None:
        cols.add(study.lesions.column)
    return cols


def _mostly_numbers(col: pd.Series) -> bool:
    vals = col.dropna()
    return len(vals) > 0 and pd.to_numeric(vals, errors="coerce").notna().mean() >= 0.5


def choose_features(df: pd.DataFrame, id_column: str, exclude: set[str], pattern: str | None,
                    where: str, problems: list[str]) -> list[str]:
    """The feature columns of a table (see the module docstring); problems are appended."""
    cand = [c for c in df.columns if c != id_column and c not in exclude and c not in PROVENANCE_COLUMNS
            and not str(c).startswith(DROPPED_PREFIXES)]
    if pattern is not None:
        chosen = [c for c in cand if re.search(pattern, str(c))]
        if not chosen:
            problems.append(f"{where}: no column matches features.columns {pattern!r}; "
                            f"columns are e.g. {cand[:6]}")
            return []
        bad = [c for c in chosen if not (is_numeric_dtype(df[c]) and not is_bool_dtype(df[c]))]
    else:
        chosen = [c for c in cand if is_numeric_dtype(df[c]) and not is_bool_dtype(df[c])]
        # a column of numbers with a few words in it is a broken feature column, not a text column
        bad = [c for c in cand if df[c].dtype == object and _mostly_numbers(df[c])]
        if not chosen and not bad:
            problems.append(f"{where}: no numeric feature column (besides the ID, endpoints and "
                            f"clinical variables); columns are e.g. {cand[:6]}")
    if bad:
        examples = []
        for c in bad[:3]:
            vals = df[c].dropna()
            odd = vals[pd.to_numeric(vals, errors="coerce").isna()]
            examples.append(f"{c!r} (e.g. {odd.iloc[0]!r})" if len(odd) else repr(c))
        problems.append(f"{where}: {len(bad)} feature column(s) are not numeric: {', '.join(examples)}"
                        + (" …" if len(bad) > 3 else ""))
    return [c for c in chosen if c not in bad]


def fill_blank_ids(df: pd.DataFrame, idc: str, path: Path, *, joined: bool) -> tuple[pd.DataFrame, list[str]]:
    """Rows without an ID: when the table is joined to another (``joined``), returned as a list
    (an error for the caller); else kept, named ``row<k>`` by their data row number, with a warning —
    the table itself holds their endpoints, so nothing needs the ID but the output."""
    blank = df[idc].isna() | (df[idc].astype(str).str.strip() == "")
    if not blank.any():
        return df, []
    rows = [f"row{k + 1}" for k in np.flatnonzero(blank.to_numpy())]
    if joined:
        return df, rows
    warnings.warn(f"{path}: {len(rows)} row(s) have no {idc!r}; kept as {rows[:5]} (data row numbers), "
                  "as the same table holds their other columns", RadsigWarning, stacklevel=3)
    df = df.copy()
    df[idc] = df[idc].astype(object)
    df.loc[blank, idc] = rows
    return df, []


def read_feature_table(study: StudySpec, cohort, problems: list[str]) -> tuple | None:
    """(features indexed by patient ID, provenance columns, the whole table) of a feature-table
    cohort, or None."""
    path = study.path(cohort.features)
    where = f"cohort {cohort.name!r} features {path}"
    if not path.is_file():
        problems.append(f"cohort {cohort.name!r} features: file not found: {path}")
        return None
    try:
        df = read_any(path)
    except Exception as err:  # noqa: BLE001 - any reader failure is the user's file
        problems.append(f"cohort {cohort.name!r} features: cannot read {path}: {err}")
        return None
    idc = study.id_column
    if idc not in df.columns:
        problems.append(f"{where}: id column {idc!r} missing; has {list(df.columns)[:8]}"
                        + (" …" if df.shape[1] > 8 else ""))
        return None
    separate = cohort.clinical is not None and study.path(cohort.clinical) != path
    df, blank = fill_blank_ids(df, idc, path, joined=separate)
    if blank:
        problems.append(f"{where}: {len(blank)} row(s) have no {idc!r} (e.g. data rows {blank[:3]}), "
                        "so they cannot be joined to the clinical table")
        return None
    ids = df[idc].astype(str)
    dup = sorted(set(ids[ids.duplicated()]))
    if dup:
        problems.append(f"{where}: {len(dup)} duplicate ID(s) in {idc!r}, e.g. {dup[:3]} "
                        "(one row per patient; aggregate lesions first)")
        return None
    cols = choose_features(df, idc, named_columns(study), study.features.columns, where, problems)
    feats = df[cols].astype(float).set_axis(ids, axis=0).rename_axis(idc)
    prov = df[[c for c in PROVENANCE_COLUMNS if c in df.columns]].set_axis(ids, axis=0).rename_axis(idc)
    return feats, prov, df.assign(**{idc: ids})


def feature_differences(reference: str, ref_cols, name: str, cols) -> str | None:
    """A one-line description of how two cohorts' feature names differ (None when they match)."""
    a, b = set(ref_cols), set(cols)
    if a == b:
        return None
    only_ref, only_here = sorted(a - b), sorted(b - a)
    parts = []
    if only_ref:
        parts.append(f"{len(only_ref)} only in {reference!r} (e.g. {only_ref[:3]})")
    if only_here:
        parts.append(f"{len(only_here)} only in {name!r} (e.g. {only_here[:3]})")
    return f"cohort {name!r} features differ from cohort {reference!r}: " + "; ".join(parts)


def check_same_features(features: dict[str, pd.DataFrame], reference: str) -> None:
    """Every cohort has the reference cohort's feature names (else one error listing the differences)."""
    diffs = [d for n, df in features.items() if n != reference
             for d in [feature_differences(reference, features[reference].columns, n, df.columns)] if d]
    if diffs:
        raise ConfigError("feature names must match across cohorts (tables and images alike):\n  - "
                          + "\n  - ".join(diffs))


def table_settings(study: StudySpec, columns: list[str]):
    """The :class:`~radsig.study.extraction.FeatureSettings` of a study without images: which
    tables and columns were used, hashed like image settings."""
    from radsig.study.extraction import FeatureSettings

    raw = {"table": {"columns": study.features.columns or "(numeric, not ID/endpoint/clinical)",
                     "n_features": len(columns),
                     "files": {c.name: str(c.features) for c in study.cohorts if c.features is not None}}}
    text = json.dumps({"extractor": "table", "columns": sorted(columns)}, sort_keys=True)
    return FeatureSettings(raw=raw, digest=hashlib.sha256(text.encode()).hexdigest()[:16], extractor="table")
