"""Expression matrix and CD3/CD8 IHC table for the demo cohort, driven by the planted immune phenotype.

The demo's clinical tables carry the RNA-seq TME phenotype (``inflamed``/``desert``, a threshold
on the hidden immune activity) and a CD8-like immune score that measures the same activity with
noise. Here both drive an immune activity ``a``; the shipped immune genes (T-cell, cytotoxic,
IFN-γ and T-cell-inflamed sets) rise with ``a``, other cell-type genes weakly, and filler genes
not at all. So an image signature that tracks the phenotype correlates with the gene-set scores,
and in the negative-control cohort (images independent of the phenotype) it does not.

To show the "who matched" report the matrix also holds a few samples of no patient (normal
tissue) and lacks a few patients (no RNA); the IHC table lacks a few others.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: gene sets whose genes follow the immune activity strongly
STRONG_SETS = ("CYT", "IFNG_6", "TIS_GEP_18", "CYTOTOXIC_CELLS", "T_CELLS", "CD8_T_CELLS", "EXHAUSTED_CD8",
               "TH1_CELLS", "CD45")


def _activity(clin: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    score = pd.to_numeric(clin["immune_score"], errors="coerce").to_numpy(float)
    z_score = (score - np.nanmean(score)) / (np.nanstd(score) + 1e-12)
    inflamed = (clin["phenotype"].astype(str) == "inflamed").to_numpy(float)
    return 1.2 * (inflamed - inflamed.mean()) + 0.5 * np.nan_to_num(z_score) + 0.3 * rng.standard_normal(len(clin))


def make_demo_biology(root: str | Path, clinical: dict[str, Path], *, seed: int = 0,
                      n_genes: int = 300) -> dict[str, Path]:
    """Write ``expression_tpm.csv`` (genes × samples, TPM) and ``ihc.csv`` under *root*."""
    from radsig.biology import immune_gene_sets

    rng = np.random.default_rng(seed + 11)
    clin = pd.concat([pd.read_csv(p) for p in clinical.values()], ignore_index=True)
    clin["patient_id"] = clin["patient_id"].astype(str)
    a = _activity(clin, rng)
    sets = immune_gene_sets()
    strong = sorted({g for s in STRONG_SETS if s in sets for g in sets[s]})
    weak = sorted({g for genes in sets.values() for g in genes} - set(strong))
    filler = [f"GENE{i:04d}" for i in range(max(0, n_genes - len(strong) - len(weak)))]
    genes = strong + weak + filler
    load = np.concatenate([rng.uniform(0.7, 1.3, len(strong)), rng.uniform(0.0, 0.3, len(weak)),
                           np.zeros(len(filler))])
    base = rng.uniform(1.0, 8.0, len(genes))
    log2 = base[:, None] + load[:, None] * a[None, :] + 0.5 * rng.standard_normal((len(genes), len(clin)))
    tpm = np.round(np.clip(2.0 ** log2 - 1.0, 0.0, None), 3)
    keep = rng.uniform(size=len(clin)) > 0.03  # a few patients have no RNA
    expr = pd.DataFrame(tpm[:, keep], index=genes, columns=clin["patient_id"][keep].tolist())
    for i in range(3):  # normal-tissue samples of no study patient
        normal = 2.0 ** (base + 0.5 * rng.standard_normal(len(genes))) - 1.0
        expr[f"NORMAL{i + 1:02d}"] = np.round(np.clip(normal, 0.0, None), 3)
    expr.index.name = "gene"
    cd8_ct = pd.to_numeric(clin["cd8_core"], errors="coerce").to_numpy(float)
    cd8_im = pd.to_numeric(clin["cd8_margin"], errors="coerce").to_numpy(float)
    ihc = pd.DataFrame({
        "patient_id": clin["patient_id"],
        "cd3_ct": np.round(cd8_ct * np.exp(0.9 + 0.25 * rng.standard_normal(len(clin))), 1),
        "cd3_im": np.round(cd8_im * np.exp(0.9 + 0.25 * rng.standard_normal(len(clin))), 1),
        "cd8_ct": cd8_ct, "cd8_im": cd8_im,
    })
    ihc = ihc[rng.uniform(size=len(clin)) > 0.05]  # some blocks were not stained
    root = Path(root)
    paths = {"expression": root / "expression_tpm.csv", "ihc": root / "ihc.csv"}
    expr.to_csv(paths["expression"])
    ihc.to_csv(paths["ihc"], index=False)
    return paths
