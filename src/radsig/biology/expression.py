"""Gene-expression matrices (genes × samples): validation, de-duplication, unit handling, joining."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from radsig._typing import PathLike
from radsig.exceptions import ConfigError, RadsigWarning

UNITS = ("tpm", "fpkm", "counts", "log2")


def read_expression(path: PathLike, *, unit: str) -> pd.DataFrame:
    """Read a genes × samples table (CSV/TSV/Parquet; first column = gene) and validate it."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: expression matrix not found")
    if path.suffix == ".parquet":
        raw = pd.read_parquet(path)
    else:
        raw = pd.read_csv(path, sep="\t" if path.suffix in {".tsv", ".txt"} else ",", index_col=0)
    return prepare_expression(raw, unit=unit, source=str(path))


def prepare_expression(raw: pd.DataFrame, *, unit: str, source: str = "expression matrix") -> pd.DataFrame:
    """Validate and return log2-scale expression (genes × samples).

    Duplicated gene symbols are averaged (with a warning naming them); non-numeric cells make a
    :class:`ConfigError` naming the gene and sample; counts become log2(CPM + 1), TPM/FPKM log2(x + 1).
    """
    if unit not in UNITS:
        raise ConfigError(f"{source}: unit {unit!r} not known; declare one of {', '.join(UNITS)}")
    data = raw.copy()
    data.index = data.index.astype(str).str.strip()
    numeric = data.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna() & data.notna()
    if bad.to_numpy().any():
        gene, sample = next((g, s) for g, s in zip(*np.nonzero(bad.to_numpy()), strict=True))
        raise ConfigError(f"{source}: non-numeric value {data.iat[gene, sample]!r} for gene "
                          f"{data.index[gene]!r}, sample {data.columns[sample]!r} "
                          f"({int(bad.to_numpy().sum())} such cells)")
    dup = numeric.index[numeric.index.duplicated()].unique()
    if len(dup):
        warnings.warn(f"{source}: {len(dup)} duplicated gene symbol(s) averaged: "
                      f"{', '.join(map(str, dup[:10]))}{'…' if len(dup) > 10 else ''}",
                      RadsigWarning, stacklevel=2)
        numeric = numeric.groupby(level=0, sort=False).mean()
    if unit == "counts":
        numeric = numeric / numeric.sum(axis=0) * 1e6
    if unit != "log2":
        if (numeric < 0).to_numpy().any():
            raise ConfigError(f"{source}: negative values in a {unit} matrix; declare unit 'log2' if "
                              "the values are already log-transformed")
        numeric = np.log2(numeric + 1.0)
    return numeric


@dataclass
class JoinReport:
    """Who matched when a per-sample table was joined to the patients."""

    matched: list[str]
    unmatched_samples: list[str]
    patients_without_data: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.matched)} matched; {len(self.unmatched_samples)} sample(s) match no patient"
                f"{' (' + ', '.join(self.unmatched_samples[:5]) + ')' if self.unmatched_samples else ''}; "
                f"{len(self.patients_without_data)} patient(s) without data")


def join_to_patients(samples: pd.Index, patient_ids: pd.Index) -> JoinReport:
    """Match sample IDs to patient IDs (exact, then case/whitespace-insensitive)."""
    norm = {str(p).strip().lower(): str(p) for p in patient_ids}
    matched, unmatched = [], []
    for s in samples:
        (matched if str(s).strip().lower() in norm else unmatched).append(str(s))
    hit = {str(s).strip().lower() for s in matched}
    missing = [p for k, p in norm.items() if k not in hit]
    if unmatched:
        warnings.warn(f"{len(unmatched)} sample ID(s) match no patient and are left out: "
                      f"{', '.join(unmatched[:10])}", RadsigWarning, stacklevel=2)
    return JoinReport(matched=matched, unmatched_samples=unmatched, patients_without_data=missing)
