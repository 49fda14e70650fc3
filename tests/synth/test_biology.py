"""Demo expression matrix and IHC table follow the planted phenotype."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from radsig.biology import immune_gene_sets, read_expression, ssgsea
from radsig.synth.biology import make_demo_biology


@pytest.mark.slow  # ≈ 20 s on a loaded 2-core machine (ssGSEA over 120 samples, file writing)
def test_expression_and_ihc_follow_phenotype(tmp_path):
    rng = np.random.default_rng(3)
    n = 120
    z = rng.standard_normal(n)
    cd8 = 0.8 * z + 0.6 * rng.standard_normal(n)
    clin = pd.DataFrame({"patient_id": [f"P{i:03d}" for i in range(n)],
                         "phenotype": np.where(z > 0.3, "inflamed", "desert"),
                         "immune_score": 50 + 15 * cd8, "cd8_core": np.exp(5 + 0.6 * cd8),
                         "cd8_margin": np.exp(5.6 + 0.6 * cd8)})
    clin.to_csv(tmp_path / "c.csv", index=False)
    paths = make_demo_biology(tmp_path, {"all": tmp_path / "c.csv"}, seed=1, n_genes=250)
    expr = read_expression(paths["expression"], unit="tpm")
    assert expr.shape[0] == 250
    assert {"NORMAL01", "NORMAL02", "NORMAL03"} <= set(expr.columns)
    assert set(immune_gene_sets()["TIS_GEP_18"]) <= set(expr.index)
    pats = [c for c in expr.columns if c.startswith("P")]
    assert 0.9 * n <= len(pats) < n  # a few patients without RNA
    tis = ssgsea(expr[pats], {"TIS": immune_gene_sets()["TIS_GEP_18"]}).loc["TIS"]
    zz = pd.Series(z, index=clin["patient_id"]).loc[pats]
    assert stats.spearmanr(tis, zz).statistic > 0.6
    ihc = pd.read_csv(paths["ihc"])
    assert list(ihc.columns) == ["patient_id", "cd3_ct", "cd3_im", "cd8_ct", "cd8_im"]
    assert (ihc["cd3_ct"] > ihc["cd8_ct"]).mean() > 0.9
