"""radsig.biology against gseapy, R's p.adjust and planted signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radsig.biology import (
    ImmunoscoreLike,
    TMEPhenotyper,
    bh_fdr,
    compare_groups,
    correlate,
    differential_expression,
    gene_set_sources,
    immune_gene_sets,
    join_to_patients,
    mean_zscore,
    prepare_expression,
    set_enrichment,
    spearman_ci,
    ssgsea,
)
from radsig.exceptions import ConfigError, RadsigWarning, StatisticsError


def _expression(n_genes=300, n_samples=12, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    genes = [f"G{i}" for i in range(n_genes)]
    values = rng.lognormal(2.0, 1.0, (n_genes, n_samples))
    values[5:9, :] = values[5, :]  # ties inside a sample's ranking
    return pd.DataFrame(values, index=genes, columns=[f"S{j}" for j in range(n_samples)])


def test_ssgsea_equals_gseapy():
    import gseapy
    x = _expression()
    genes = list(x.index)
    sets = {"A": genes[:25], "B": genes[60:110], "C": genes[200:214] + ["NOT_IN_MATRIX"]}
    ref = gseapy.ssgsea(x, sets, min_size=1, max_size=1000, threads=1, no_plot=True, outdir=None).res2d
    es = ref.pivot(index="Term", columns="Name", values="ES").astype(float)
    nes = ref.pivot(index="Term", columns="Name", values="NES").astype(float)
    ours_raw = ssgsea(x, sets, normalize=False)
    ours = ssgsea(x, sets)
    np.testing.assert_allclose(ours_raw.loc[es.index, es.columns], es, atol=1e-6)
    np.testing.assert_allclose(ours.loc[nes.index, nes.columns], nes, atol=1e-6)


def test_mean_zscore_by_hand():
    x = _expression(n_genes=20, n_samples=5)
    z = x.sub(x.mean(1), axis=0).div(x.std(1, ddof=1), axis=0)
    out = mean_zscore(x, {"S": ["G10", "G11", "G12"]})
    np.testing.assert_allclose(out.loc["S"], z.loc[["G10", "G11", "G12"]].mean(0))


def test_bh_against_R_p_adjust():
    """R: p.adjust(c(0.001,0.008,0.039,0.041,0.042,0.06,0.074,0.205), "BH")."""
    p = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205]
    expected = [0.008, 0.032, 0.0672, 0.0672, 0.0672, 0.08, 0.08457143, 0.205]
    np.testing.assert_allclose(bh_fdr(p), expected, rtol=1e-6)


def test_planted_correlations_recovered_with_fdr_control():
    rng = np.random.default_rng(1)
    n, n_markers, n_true = 120, 200, 20
    score = rng.normal(size=n)
    markers = rng.normal(size=(n, n_markers))
    markers[:, :n_true] += 0.8 * score[:, None]
    idx = [f"P{i}" for i in range(n)]
    res = correlate(pd.DataFrame({"radscore": score}, index=idx),
                    pd.DataFrame(markers, index=idx, columns=[f"M{k}" for k in range(n_markers)]))
    found = set(res.loc[res.q_value < 0.05, "marker"])
    planted = {f"M{k}" for k in range(n_true)}
    assert len(found & planted) >= 18
    assert len(found - planted) / max(len(found), 1) <= 0.15
    true_rows = res[res.marker.isin(planted)]
    assert (true_rows.ci_low < true_rows.rho).all() and (true_rows.rho < true_rows.ci_high).all()


def test_spearman_ci_coverage():
    rng = np.random.default_rng(2)
    covered = 0
    for _ in range(200):
        x = rng.normal(size=60)
        y = 0.5 * x + rng.normal(size=60)
        _, lo, hi, _, _ = spearman_ci(x, y)
        covered += lo <= 0.4307 <= hi  # (6/pi)·asin(r/2): Spearman rho of a bivariate normal, r = 0.4472
    assert 0.88 <= covered / 200 <= 0.99


def test_differential_expression_and_set_enrichment_find_planted_genes():
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(5, 1, (400, 40)), index=[f"G{i}" for i in range(400)],
                     columns=[f"S{j}" for j in range(40)])
    groups = pd.Series(["high"] * 20 + ["low"] * 20, index=x.columns)
    x.iloc[:15, :20] += 2.0
    de = differential_expression(x, groups)
    assert set(de.index[de.q_value < 0.05]) >= {f"G{i}" for i in range(12)}
    enr = set_enrichment(de["log2fc"], {"planted": [f"G{i}" for i in range(15)], "null": [f"G{i}" for i in range(200, 230)]})
    assert enr.iloc[0]["gene_set"] == "planted" and enr.iloc[0]["q_value"] < 0.01 and enr.iloc[0]["effect"] > 0.9
    assert enr.set_index("gene_set").loc["null", "p_value"] > 0.01


def test_compare_groups_two_and_k():
    two = compare_groups([1, 2, 3, 10, 11, 12], ["a", "a", "a", "b", "b", "b"])
    assert two["test"] == "Mann-Whitney U" and two["statistic"] == 0.0
    k = compare_groups(list(range(9)), ["x"] * 3 + ["y"] * 3 + ["z"] * 3)
    assert k["test"] == "Kruskal-Wallis H" and k["p_value"] < 0.05
    with pytest.raises(StatisticsError, match="two groups"):
        compare_groups([1, 2], ["a", "a"])


def test_shipped_gene_sets_are_cited():
    sets, sources = immune_gene_sets(), gene_set_sources()
    assert sets["CYT"] == ["GZMA", "PRF1"]
    assert len(sets["TIS_GEP_18"]) == 18
    assert set(sets) == set(sources) and all("20" in s for s in sources.values())


def test_tme_phenotyper_fitted_on_training_only():
    immune_train = np.arange(10.0)
    stromal_train = np.array([0, 9, 0, 9, 0, 9, 0, 9, 0, 9], float)
    model = TMEPhenotyper(high_quantile=0.5).fit(immune_train, stromal_train)
    assert model.immune_cut_ == 4.5 and model.stromal_cut_ == 4.5
    labels = model.predict([10.0, 1.0, 1.0], [0.0, 8.0, 0.0])
    assert list(labels) == ["inflamed", "excluded", "desert"]


def test_immunoscore_percentiles():
    ref = pd.DataFrame({"cd3_ct": [1, 2, 3, 4], "cd3_im": [10, 20, 30, 40], "cd8_ct": [1, 1, 2, 2], "cd8_im": [5, 6, 7, 8]})
    model = ImmunoscoreLike().fit(ref)
    new = pd.DataFrame({"cd3_ct": [4], "cd3_im": [20], "cd8_ct": [0.5], "cd8_im": [100]})
    # percentiles: 100, 50, 0, 100 → mean 62.5
    assert model.transform(new)[0] == pytest.approx(62.5)
    assert list(ImmunoscoreLike.groups([10, 50, 90])) == ["low", "intermediate", "high"]


# --- bad input ---------------------------------------------------------------------------------

def test_duplicated_genes_averaged_with_warning():
    raw = pd.DataFrame({"S1": [1.0, 3.0, 7.0], "S2": [2.0, 4.0, 8.0]}, index=["CD8A", "CD8A", "GZMA"])
    with pytest.warns(RadsigWarning, match="duplicated gene symbol.*CD8A"):
        out = prepare_expression(raw, unit="tpm")
    np.testing.assert_allclose(out.loc["CD8A"], np.log2(np.array([2.0, 3.0]) + 1))


def test_non_numeric_value_named():
    raw = pd.DataFrame({"S1": [1.0, "n/a"], "S2": [2.0, 4.0]}, index=["CD8A", "GZMA"])
    with pytest.raises(ConfigError, match=r"non-numeric value 'n/a' for gene 'GZMA', sample 'S1'"):
        prepare_expression(raw, unit="tpm")


def test_unknown_unit():
    with pytest.raises(ConfigError, match="declare one of"):
        prepare_expression(pd.DataFrame({"S1": [1.0]}, index=["A"]), unit="rpkm2")


def test_unmatched_samples_reported_and_rest_analysed():
    with pytest.warns(RadsigWarning, match="match no patient"):
        report = join_to_patients(pd.Index(["p1", "P2 ", "x9"]), pd.Index(["P1", "P2", "P3"]))
    assert report.matched == ["p1", "P2 "] and report.unmatched_samples == ["x9"]
    assert report.patients_without_data == ["P3"]
    assert "2 matched" in report.summary()
