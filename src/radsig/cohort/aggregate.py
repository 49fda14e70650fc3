"""Combine the lesions of a patient into one row: largest lesion, volume-weighted mean, or max.

Multi-lesion studies (liver metastases, NSCLC with nodal disease) model one row per patient.
Rows are grouped by ``patient_id`` and, when the table has one, ``modality``. Non-feature columns
(``centre``, carried clinical columns) are taken from the largest lesion for ``largest`` and from
the patient's first row otherwise. Every method adds ``n_lesions`` and ``total_volume``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from radsig._typing import PathLike
from radsig.exceptions import ConfigError

METHODS = ("largest", "weighted", "max")
VOLUME_CANDIDATES = ("morph_volume", "original_shape_MeshVolume", "original_shape_VoxelVolume",
                     "morph_vol_approx")


def _volume_column(table: pd.DataFrame, volume_feature: str | None) -> str:
    if volume_feature:
        if volume_feature not in table.columns:
            raise ConfigError(f"volume feature {volume_feature!r} is not a column of the feature "
                              "table; pass --volume-feature with one of its volume columns")
        return volume_feature
    for name in VOLUME_CANDIDATES:
        if name in table.columns:
            return name
    raise ConfigError("no lesion volume column in the feature table (looked for "
                      f"{', '.join(VOLUME_CANDIDATES)}); enable the morphology family or pass "
                      "--volume-feature")


def aggregate_lesions(table: pd.DataFrame, feature_columns: list[str], *, method: str = "largest",
                      volume_feature: str | None = None) -> pd.DataFrame:
    """One row per patient (and modality) from a one-row-per-lesion feature table.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`radsig.cohort.extract_cohort` (``patient_id`` required).
    feature_columns : list of str
        Feature columns (``CohortResult.feature_columns``); the others are carried.
    method : {"largest", "weighted", "max"}
        ``largest``: the features of the lesion with the largest volume; ``weighted``: the
        volume-weighted mean of each feature (NaNs skipped, weights renormalised); ``max``: the
        maximum of each feature over lesions.
    volume_feature : str, optional
        Volume column; default ``morph_volume`` (or PyRadiomics' shape volume).

    Returns
    -------
    DataFrame
        Sorted by the group keys.
    """
    if method not in METHODS:
        raise ConfigError(f"aggregation method must be one of {', '.join(METHODS)}, got {method!r}")
    if "patient_id" not in table.columns:
        raise ConfigError("the feature table has no patient_id column")
    table = table.reset_index(drop=True)
    keys = [k for k in ("patient_id", "modality") if k in table.columns]
    volume = _volume_column(table, volume_feature)
    weights = pd.to_numeric(table[volume], errors="coerce").clip(lower=0).fillna(0.0)
    groups = table.assign(_w=weights).groupby(keys, sort=True, dropna=False)
    carried = [c for c in table.columns if c not in feature_columns and c not in keys]
    if method == "largest":
        chosen = groups["_w"].idxmax()
        result = table.loc[chosen.to_numpy()].set_index(keys)
    else:
        meta = groups[[c for c in carried if c != "lesion_id"]].first()
        if method == "max":
            values = groups[feature_columns].max()
        else:
            weighted = table[feature_columns].mul(weights, axis=0)
            present = table[feature_columns].notna().mul(weights, axis=0)
            grouped = pd.concat([weighted, present.add_suffix("__w")], axis=1).groupby(
                [table[k] for k in keys], sort=True, dropna=False)
            sums = grouped.sum(min_count=1)
            denominators = sums[[f"{c}__w" for c in feature_columns]].to_numpy()
            values = sums[feature_columns] / denominators
            values = values.where(denominators > 0)
        result = pd.concat([meta, values], axis=1)
    result.insert(0, "n_lesions", groups.size())
    result.insert(1, "total_volume", groups["_w"].sum())
    return result.reset_index()


def aggregate_file(features: PathLike, out: PathLike, *, method: str = "largest",
                   volume_feature: str | None = None) -> pd.DataFrame:
    """Read a cohort feature table, aggregate it and write the result atomically."""
    from radsig.cohort import _atomic
    from radsig.io.output import check_output_file

    features, out = Path(features), Path(out)
    check_output_file(out, suffixes={".parquet": "parquet", ".pq": "parquet", ".csv": "csv"})
    if not features.is_file():
        raise ConfigError(f"feature table {features} not found")
    try:
        if features.suffix.lower() == ".csv":
            table = pd.read_csv(features, dtype={"patient_id": str, "lesion_id": str})
            feature_columns = None
        else:
            import pyarrow.parquet as pq

            meta = pq.read_schema(features).metadata or {}
            raw = meta.get(b"radsig.feature_columns")
            feature_columns = json.loads(raw) if raw else None
            table = pd.read_parquet(features)
    except (OSError, ValueError, UnicodeDecodeError) as err:  # pyarrow's errors derive from these
        first = " ".join(str(err).split())[:200]
        raise ConfigError(f"{features}: cannot read the feature table (corrupt or not a "
                          f"{'CSV' if features.suffix.lower() == '.csv' else 'Parquet'} file: "
                          f"{first})") from None
    if feature_columns is None:
        # CSV has no metadata: numeric columns other than the manifest's known ones.
        known = {"patient_id", "lesion_id", "modality", "centre", "label", "roi"}
        feature_columns = [c for c in table.select_dtypes("number").columns if c not in known]
        for c in table.columns:  # a numeric column with a stray word is a feature, not a label
            if c in known or c in feature_columns or table[c].dtype != object:
                continue
            numbers = pd.to_numeric(table[c], errors="coerce")
            words = table[c].notna() & numbers.isna()
            if numbers.notna().any() and words.any():
                row = int(words.to_numpy().argmax())
                raise ConfigError(f"{features}: feature column '{c}' holds text "
                                  f"({table[c].iloc[row]!r} in data row {row + 1}) among numbers; "
                                  "fix or drop it")
    missing = [c for c in feature_columns if c not in table.columns]
    if missing:
        raise ConfigError(f"{features}: feature column(s) {', '.join(missing[:5])} named in the "
                          "file's metadata are missing")
    bad = [c for c in feature_columns if not pd.api.types.is_numeric_dtype(table[c])]
    if bad:
        raise ConfigError(f"{features}: feature column(s) {', '.join(map(str, bad[:5]))} hold "
                          "text, not numbers; fix or drop them")
    result = aggregate_lesions(table, feature_columns, method=method, volume_feature=volume_feature)
    if out.suffix.lower() == ".csv":
        _atomic.write_csv(out, result)
    else:
        _atomic.write_parquet(out, result, {"radsig.feature_columns": json.dumps(feature_columns)})
    return result
