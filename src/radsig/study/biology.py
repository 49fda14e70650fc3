"""The study's biology section: expression / IHC in, immune scores, links to the Rad-score out.

Two steps. :func:`prepare_biology` (before modelling) reads the expression matrix and IHC table,
joins them to the study's patients (with a report of who matched), computes ssGSEA (or mean
z-score) immune scores and a TME phenotype whose thresholds are learnt on the training cohort,
and adds the phenotype as a clinical column, so it can be a modelling endpoint.
:func:`analyse_biology` (after scoring) correlates each listed model's Rad-score and the first
model's selected features with every immune score, gene and IHC marker (Spearman, CI, BH FDR),
tests the Rad-score across phenotype / Immunoscore groups, and runs differential expression and
rank-based set enrichment between the radiomic risk groups.

Bad input never stops the study: duplicated genes are averaged, genes with non-numeric cells are
dropped, samples matching no patient are left out — each with a message in the report.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from radsig.exceptions import RadsigError


@dataclass
class BiologyData:
    """Immune data joined to the study's patients (index = patient ID)."""

    messages: list[str] = field(default_factory=list)
    join: dict = field(default_factory=dict)
    expression: pd.DataFrame | None = None   # genes × patients, log2 scale
    scores: pd.DataFrame | None = None       # patients × immune scores
    ihc: pd.DataFrame | None = None          # patients × IHC markers (+ immunoscore)
    phenotype: pd.Series | None = None
    gene_sets: dict = field(default_factory=dict)


def _read_raw(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, sep="\t" if path.suffix in {".tsv", ".txt"} else ",", index_col=0)


def _drop_non_numeric(raw: pd.DataFrame, messages: list[str], source: str) -> pd.DataFrame:
    numeric = raw.apply(pd.to_numeric, errors="coerce")
    bad = (numeric.isna() & raw.notna()).any(axis=1)
    if bad.any():
        genes = [str(g) for g in raw.index[bad.to_numpy()]]
        messages.append(f"{source}: {len(genes)} gene(s) with non-numeric values left out: "
                        f"{', '.join(genes[:10])}{'…' if len(genes) > 10 else ''}")
    raw = raw.loc[~bad.to_numpy()]
    empty = raw.isna().any(axis=1)
    if empty.any():
        genes = [str(g) for g in raw.index[empty.to_numpy()]]
        messages.append(f"{source}: {len(genes)} gene(s) with missing values left out: "
                        f"{', '.join(genes[:10])}{'…' if len(genes) > 10 else ''}")
    return raw.loc[~empty.to_numpy()]


def _match(samples, patients: list[str], what: str, messages: list[str]) -> tuple[dict[str, str], dict]:
    """sample ID → patient ID (exact, then case/whitespace-insensitive) and a who-matched summary."""
    from radsig.biology import join_to_patients

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = join_to_patients(pd.Index([str(s) for s in samples]), pd.Index(patients))
    norm = {p.strip().lower(): p for p in patients}
    mapping = {s: norm[s.strip().lower()] for s in rep.matched}
    summary = {"samples": len(list(samples)), "matched": len(rep.matched),
               "unmatched_samples": rep.unmatched_samples, "patients_without_data": len(rep.patients_without_data)}
    if rep.unmatched_samples:
        messages.append(f"{what}: {len(rep.unmatched_samples)} sample ID(s) match no patient and are left out: "
                        f"{', '.join(rep.unmatched_samples[:10])}")
    if not rep.matched:
        messages.append(f"{what}: no sample ID matches a patient ID (e.g. {list(samples)[:3]} vs {patients[:3]})")
    return mapping, summary


def _expression(spec, study, patients: list[str], bio: BiologyData) -> None:
    from radsig.biology import prepare_expression

    path = study.path(spec.expression)
    if not path.is_file():
        bio.messages.append(f"biology.expression: file not found: {path}")
        return
    try:
        raw = _drop_non_numeric(_read_raw(path), bio.messages, path.name)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            expr = prepare_expression(raw, unit=spec.unit, source=path.name)
        bio.messages += [str(w.message) for w in caught if "duplicated" in str(w.message)]
    except (RadsigError, ValueError) as err:
        bio.messages.append(f"biology.expression: {err}")
        return
    mapping, bio.join["expression"] = _match(expr.columns, patients, f"expression matrix {path.name}", bio.messages)
    if mapping:
        bio.expression = expr[list(mapping)].rename(columns=mapping)


def _immune_scores(spec, study, bio: BiologyData) -> None:
    from radsig.biology import immune_gene_sets, mean_zscore, read_gmt, ssgsea

    try:
        sets = read_gmt(study.path(spec.gene_sets)) if spec.gene_sets else immune_gene_sets()
    except RadsigError as err:
        bio.messages.append(f"biology.gene_sets: {err}; using the shipped immune sets")
        sets = immune_gene_sets()
    unknown = [s for s in spec.scores if s not in sets]
    if unknown:
        bio.messages.append(f"biology.scores: {unknown} not among the gene sets {sorted(sets)}; left out")
    sets = {k: v for k, v in sets.items() if not spec.scores or k in spec.scores}
    bio.gene_sets = sets
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn = ssgsea if spec.score_method == "ssgsea" else mean_zscore
            bio.scores = fn(bio.expression, sets, min_size=2).T
        except RadsigError as err:
            bio.messages.append(f"biology: immune scores not computed: {err}")
    bio.messages += [str(w.message) for w in caught if "gene set" in str(w.message)]


def _ihc(spec, study, patients: list[str], train_ids: list[str], bio: BiologyData) -> None:
    from radsig.biology import ImmunoscoreLike

    path = study.path(spec.ihc)
    if not path.is_file():
        bio.messages.append(f"biology.ihc: file not found: {path}")
        return
    table = pd.read_csv(path, sep="\t" if path.suffix in {".tsv", ".txt"} else ",")
    idc = study.id_column if study.id_column in table.columns else table.columns[0]
    table = table.set_index(table[idc].astype(str)).drop(columns=[idc])
    cols = spec.ihc_columns or [c for c in table.columns if pd.to_numeric(table[c], errors="coerce").notna().any()]
    missing = [c for c in cols if c not in table.columns]
    if missing:
        bio.messages.append(f"biology.ihc: column(s) {missing} not in {path.name}; has {list(table.columns)}")
    cols = [c for c in cols if c in table.columns]
    mapping, bio.join["ihc"] = _match(table.index, patients, f"IHC table {path.name}", bio.messages)
    ihc = table.loc[list(mapping), cols].apply(pd.to_numeric, errors="coerce").rename(index=mapping)
    if set(ImmunoscoreLike.COLUMNS) <= set(ihc.columns):
        ref = ihc.loc[ihc.index.intersection(train_ids)]
        if len(ref) >= 5:  # percentiles of the training cohort are the reference
            iscore = ImmunoscoreLike().fit(ref)
            ihc["immunoscore"] = iscore.transform(ihc)
            ihc["immunoscore_group"] = ImmunoscoreLike.groups(ihc["immunoscore"])
    bio.ihc = ihc


def prepare_biology(study, data: dict) -> BiologyData:
    """Read, join and score the biology inputs; add the TME phenotype to the clinical tables."""
    from radsig.biology import TMEPhenotyper

    spec, bio = study.biology, BiologyData()
    patients = [str(p) for cd in data.values() for p in cd.clinical.index]
    train_ids = [str(p) for p in data[study.training.name].clinical.index]
    if spec.expression is not None:
        _expression(spec, study, patients, bio)
        if bio.expression is not None:
            _immune_scores(spec, study, bio)
    if spec.ihc is not None:
        _ihc(spec, study, patients, train_ids, bio)
    if bio.scores is not None and len(bio.scores.columns):
        col = spec.phenotype_score if spec.phenotype_score in bio.scores.columns else bio.scores.columns[0]
        tr = bio.scores.loc[bio.scores.index.intersection(train_ids), col]
        if len(tr) >= 5:
            tme = TMEPhenotyper().fit(tr.to_numpy())
            bio.phenotype = pd.Series(tme.predict(bio.scores[col].to_numpy()), index=bio.scores.index,
                                      name=spec.phenotype_column)
            bio.join["phenotype"] = {"score": col, "cut_off": tme.immune_cut_, "fitted_on": "training"}
    for cd in data.values():
        ph = bio.phenotype.reindex(cd.clinical.index) if bio.phenotype is not None else np.nan
        cd.clinical[spec.phenotype_column] = ph
    return bio
