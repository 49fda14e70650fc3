"""Single-sample gene-set scores: ssGSEA (Barbie et al. 2009) and a mean z-score.

ssGSEA follows the definition used by GSVA and gseapy: genes are ranked within each sample
(rank · 10000 / N), the running sum walks down the ranking with hit weights rank^α
(α = 0.25) and uniform miss weights, the enrichment score is the sum of the running
differences, and scores are optionally divided by the range over all sets and samples.
Written here (rather than calling gseapy) to vectorise over gene sets and to keep gseapy's
Rust build and file-writing out of the dependencies; a test checks equality with gseapy.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from radsig.exceptions import ConfigError, RadsigWarning


def _membership(genes: pd.Index, gene_sets: dict[str, list[str]], min_size: int) -> tuple[list[str], np.ndarray]:
    names, rows = [], []
    for name, members in gene_sets.items():
        hit = genes.isin(list(members))
        if hit.sum() < min_size:
            warnings.warn(f"gene set {name!r}: {int(hit.sum())} of {len(members)} genes in the matrix "
                          f"(< min_size={min_size}); left out", RadsigWarning, stacklevel=3)
            continue
        names.append(name)
        rows.append(hit)
    if not names:
        raise ConfigError("no gene set has enough genes in the expression matrix "
                          "(check gene symbols: HGNC symbols expected)")
    return names, np.array(rows)


def ssgsea(expression: pd.DataFrame, gene_sets: dict[str, list[str]], *, alpha: float = 0.25,
           normalize: bool = True, min_size: int = 1) -> pd.DataFrame:
    """ssGSEA enrichment scores.

    Parameters
    ----------
    expression : DataFrame of shape (n_genes, n_samples)
        Genes as index, samples as columns (any monotone scale: only ranks matter).
    gene_sets : dict of str to list of str
        Gene-set name → gene symbols; genes absent from the matrix are ignored.
    alpha : float
        Weight exponent of the hits' ranks.
    normalize : bool
        Divide by the range of all scores (GSVA ``ssgsea.norm``; gseapy's NES).

    Returns
    -------
    DataFrame of shape (n_sets, n_samples)
    """
    values = expression.to_numpy(dtype=float)
    if np.isnan(values).any():
        raise ConfigError("expression matrix has missing values; impute or drop those genes first")
    names, member = _membership(expression.index, gene_sets, min_size)
    n_genes = values.shape[0]
    scores = np.empty((len(names), values.shape[1]))
    for j in range(values.shape[1]):
        rank = rankdata(values[:, j]) * 10000.0 / n_genes
        order = np.argsort(-rank, kind="stable")
        weight = rank[order] ** alpha
        hit = member[:, order]
        hit_w = np.cumsum(hit * weight, axis=1)
        hit_w /= hit_w[:, -1:]
        miss = np.cumsum(~hit, axis=1) / (~hit).sum(axis=1, keepdims=True)
        scores[:, j] = (hit_w - miss).sum(axis=1)
    if normalize:
        scores = scores / (scores.max() - scores.min())
    return pd.DataFrame(scores, index=names, columns=expression.columns)


def mean_zscore(expression: pd.DataFrame, gene_sets: dict[str, list[str]], *, min_size: int = 1) -> pd.DataFrame:
    """Mean over each set's genes of the gene-wise z-scored expression (sets × samples)."""
    values = expression.to_numpy(dtype=float)
    sd = values.std(axis=1, ddof=1, keepdims=True)
    z = np.divide(values - values.mean(axis=1, keepdims=True), sd, out=np.zeros_like(values), where=sd > 0)
    names, member = _membership(expression.index, gene_sets, min_size)
    scores = (member.astype(float) @ z) / member.sum(axis=1, keepdims=True)
    return pd.DataFrame(scores, index=names, columns=expression.columns)
