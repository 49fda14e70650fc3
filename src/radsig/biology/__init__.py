"""radsig.biology: immune gene-set scores, TME phenotypes, IHC immune scores and their link to the signature."""

from __future__ import annotations

from radsig.biology.analysis import (
    bh_fdr,
    compare_groups,
    correlate,
    differential_expression,
    set_enrichment,
    spearman_ci,
)
from radsig.biology.expression import (
    JoinReport,
    join_to_patients,
    prepare_expression,
    read_expression,
)
from radsig.biology.gene_sets import gene_set_sources, immune_gene_sets, read_gmt
from radsig.biology.phenotype import ImmunoscoreLike, TMEPhenotyper
from radsig.biology.scores import mean_zscore, ssgsea

__all__ = [
    "ImmunoscoreLike", "JoinReport", "TMEPhenotyper", "bh_fdr", "compare_groups", "correlate",
    "differential_expression", "gene_set_sources", "immune_gene_sets", "join_to_patients",
    "mean_zscore", "prepare_expression", "read_expression", "read_gmt", "set_enrichment",
    "spearman_ci", "ssgsea",
]
