"""Linking an image signature to biology: correlations, group tests, differential expression, set enrichment.

Every function returns a tidy DataFrame with estimates, 95 % CIs where defined, p-values and
Benjamini–Hochberg q-values across the family of tests it ran.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from radsig.exceptions import StatisticsError


def bh_fdr(p_values) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values); NaNs stay NaN."""
    p = np.asarray(p_values, dtype=float)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(p[ok], method="bh")
    return q


def spearman_ci(x, y, *, confidence: float = 0.95) -> tuple[float, float, float, float, int]:
    """Spearman's ρ with a Fisher-z CI (Bonett–Wright variance), its p-value and n (pairs without NaN)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~(np.isnan(x) | np.isnan(y))
    n = int(ok.sum())
    if n < 4:
        raise StatisticsError(f"need at least 4 complete pairs for a correlation, got {n}")
    if np.ptp(x[ok]) == 0 or np.ptp(y[ok]) == 0:
        raise StatisticsError("a constant variable has no correlation")
    rho, p = stats.spearmanr(x[ok], y[ok])
    se = np.sqrt((1.0 + rho**2 / 2.0) / (n - 3))
    zc = stats.norm.ppf(0.5 + confidence / 2.0)
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    return float(rho), float(np.tanh(z - zc * se)), float(np.tanh(z + zc * se)), float(p), n


def correlate(scores: pd.DataFrame, markers: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlation of every score column with every marker column (rows = patients).

    Returns one row per (score, marker) with ``rho, ci_low, ci_high, p_value, q_value, n``;
    q-values are BH-adjusted over all pairs.
    """
    common = scores.index.intersection(markers.index)
    if len(common) < 4:
        raise StatisticsError(f"only {len(common)} patients have both scores and markers")
    rows = []
    for s in scores.columns:
        for m in markers.columns:
            try:
                rho, lo, hi, p, n = spearman_ci(scores.loc[common, s], markers.loc[common, m])
            except StatisticsError:
                rho = lo = hi = p = np.nan
                n = 0
            rows.append({"score": s, "marker": m, "rho": rho, "ci_low": lo, "ci_high": hi, "p_value": p, "n": n})
    out = pd.DataFrame(rows)
    out["q_value"] = bh_fdr(out["p_value"])
    return out


def compare_groups(values, groups) -> dict:
    """Distribution of *values* by group: Mann–Whitney (2 groups) or Kruskal–Wallis (k groups)."""
    frame = pd.DataFrame({"v": np.asarray(values, float), "g": np.asarray(groups)}).dropna()
    levels = sorted(frame["g"].unique(), key=str)
    if len(levels) < 2:
        raise StatisticsError("need at least two groups to compare")
    samples = [frame.loc[frame["g"] == g, "v"].to_numpy() for g in levels]
    if len(levels) == 2:
        stat, p = stats.mannwhitneyu(*samples, alternative="two-sided")
        test = "Mann-Whitney U"
    else:
        stat, p = stats.kruskal(*samples)
        test = "Kruskal-Wallis H"
    return {"test": test, "statistic": float(stat), "p_value": float(p),
            "groups": {str(g): {"n": len(s), "median": float(np.median(s))} for g, s in zip(levels, samples, strict=True)}}


def differential_expression(expression: pd.DataFrame, groups: pd.Series, *, high: str = "high",
                            low: str = "low") -> pd.DataFrame:
    """Genes differing between two patient groups (e.g. radiomic high vs low risk).

    Mann–Whitney U per gene (rank-based, no normality assumed), log2 fold change of group means
    (expression on log2 scale), BH q-values. Rows sorted by p-value.
    """
    groups = groups.reindex(expression.columns)
    a = expression.loc[:, groups == high].to_numpy(float)
    b = expression.loc[:, groups == low].to_numpy(float)
    if a.shape[1] < 2 or b.shape[1] < 2:
        raise StatisticsError(f"need ≥ 2 samples per group, got {a.shape[1]} {high!r} and {b.shape[1]} {low!r}")
    u, p = stats.mannwhitneyu(a, b, axis=1, alternative="two-sided")
    out = pd.DataFrame({"gene": expression.index, "log2fc": a.mean(1) - b.mean(1),
                        "u": u, "p_value": p}).set_index("gene")
    out["q_value"] = bh_fdr(out["p_value"])
    return out.sort_values("p_value")


def set_enrichment(gene_stats: pd.Series, gene_sets: dict[str, list[str]], *, min_size: int = 2) -> pd.DataFrame:
    """Rank-based gene-set test: do a set's genes rank higher/lower than the others on *gene_stats*?

    Wilcoxon rank-sum of the set's gene statistics against all other genes (a mean-rank
    gene-set test); the effect is the difference of mean ranks scaled to [-1, 1].
    """
    ranks = gene_stats.rank()
    rows = []
    for name, members in gene_sets.items():
        inside = ranks.index.isin(members)
        if inside.sum() < min_size:
            continue
        stat, p = stats.mannwhitneyu(ranks[inside], ranks[~inside], alternative="two-sided")
        effect = 2.0 * stat / (inside.sum() * (~inside).sum()) - 1.0
        rows.append({"gene_set": name, "n_genes": int(inside.sum()), "effect": float(effect), "p_value": float(p)})
    out = pd.DataFrame(rows, columns=["gene_set", "n_genes", "effect", "p_value"])
    out["q_value"] = bh_fdr(out["p_value"])
    return out.sort_values("p_value").reset_index(drop=True)
