"""Biology section of a study: bad inputs give clear messages and the analysis runs on what matched."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radsig.biology import immune_gene_sets
from radsig.config.study import load_study
from radsig.exceptions import ConfigError
from radsig.study.biology import prepare_biology
from radsig.study.data import CohortData


def _study(tmp_path, **biology):
    doc = {"name": "t", "features": {"settings": "f.yaml"},
           "cohorts": [{"name": "train", "role": "training", "manifest": "m.csv", "clinical": "c.csv"},
                       {"name": "test", "role": "external", "manifest": "m2.csv", "clinical": "c2.csv"}],
           "endpoints": [{"name": "r", "type": "binary", "column": "r"},
                         {"name": "tme", "type": "binary", "column": "tme_phenotype", "positive": "inflamed"}],
           "models": [{"name": "rad", "kind": "radiomics", "endpoint": "r"}],
           "biology": {"phenotype_score": "CYT", **biology}}
    return load_study(doc, base_dir=tmp_path)


def _data(n=40):
    ids = [f"P{i:03d}" for i in range(n)]
    clin = pd.DataFrame({"r": np.arange(n) % 2}, index=pd.Index(ids, name="patient_id"))
    return {"train": CohortData("train", "training", pd.DataFrame(), clin.iloc[: n // 2].copy()),
            "test": CohortData("test", "external", pd.DataFrame(), clin.iloc[n // 2:].copy())}, ids


def _expression(ids, rng, genes=None):
    genes = genes or sorted({g for s in ("CYT", "T_CELLS", "CD8_T_CELLS") for g in immune_gene_sets()[s]}) + \
        [f"G{i}" for i in range(30)]
    return pd.DataFrame(rng.gamma(2.0, 20.0, (len(genes), len(ids))), index=genes, columns=ids)


def test_bad_expression_messages_and_partial_run(tmp_path):
    rng = np.random.default_rng(0)
    data, ids = _data()
    expr = _expression(ids[:30], rng)
    expr.columns = [c.lower() if i < 3 else c for i, c in enumerate(expr.columns)]  # case differs: still matches
    expr["STRANGER1"] = 1.0                                                          # matches no patient
    dup = expr.loc[["PRF1"]].copy()
    expr = pd.concat([expr, dup])                                                    # duplicated gene
    expr = expr.astype(object)
    expr.loc["G3", ids[5]] = "1,5e2"                                                 # non-numeric cell
    expr.loc["G4", ids[6]] = np.nan                                                  # missing cell
    expr.index.name = "gene"
    expr.to_csv(tmp_path / "expr.csv")
    study = _study(tmp_path, expression="expr.csv", unit="tpm", scores=["CYT", "T_CELLS", "NOPE"])
    bio = prepare_biology(study, data)
    text = "\n".join(bio.messages)
    assert "STRANGER1" in text and "match no patient" in text
    assert "duplicated gene symbol" in text and "PRF1" in text
    assert "non-numeric" in text and "G3" in text
    assert "missing values" in text and "G4" in text
    assert "NOPE" in text
    assert bio.join["expression"]["matched"] == 30
    assert bio.join["expression"]["patients_without_data"] == 10
    assert list(bio.scores.columns) == ["CYT", "T_CELLS"] and len(bio.scores) == 30
    assert "G3" not in bio.expression.index and bio.expression.index.is_unique
    # the TME phenotype is a clinical column (threshold from training), NaN where no RNA
    ph = pd.concat([cd.clinical["tme_phenotype"] for cd in data.values()])
    assert ph.notna().sum() == 30 and set(ph.dropna()) <= {"inflamed", "desert"}
    tr = data["train"].clinical["tme_phenotype"].dropna()
    assert abs((tr == "inflamed").mean() - 0.5) <= 0.1


def test_nothing_matches_is_reported_not_fatal(tmp_path):
    rng = np.random.default_rng(1)
    data, ids = _data()
    expr = _expression([f"X{i}" for i in range(10)], rng)
    expr.to_csv(tmp_path / "expr.csv")
    pd.DataFrame({"patient_id": ids[:25], "cd3_ct": rng.gamma(2, 50, 25), "cd3_im": rng.gamma(2, 60, 25),
                  "cd8_ct": rng.gamma(2, 20, 25), "cd8_im": rng.gamma(2, 30, 25)}).to_csv(tmp_path / "ihc.csv", index=False)
    study = _study(tmp_path, expression="expr.csv", ihc="ihc.csv")
    bio = prepare_biology(study, data)
    assert any("no sample ID matches a patient ID" in m for m in bio.messages)
    assert bio.expression is None and bio.scores is None
    assert len(bio.ihc) == 25 and bio.ihc["immunoscore"].between(0, 100).all()


def test_missing_file_and_unit_errors_are_messages(tmp_path):
    data, _ = _data()
    bio = prepare_biology(_study(tmp_path, expression="absent.csv"), data)
    assert any("not found" in m and "absent.csv" in m for m in bio.messages)
    with pytest.raises(ConfigError, match="unit"):
        _study(tmp_path, expression="absent.csv", unit="rpkm")
    with pytest.raises(ConfigError, match="expression"):
        _study(tmp_path)


def test_old_study_files_stay_valid(tmp_path):
    doc = {"name": "t", "features": {"settings": "f.yaml"},
           "cohorts": [{"name": "a", "role": "training", "manifest": "m", "clinical": "c"}],
           "endpoints": [{"name": "r", "type": "binary", "column": "r"}],
           "models": [{"name": "m", "kind": "radiomics", "endpoint": "r"}]}
    st = load_study(doc, base_dir=tmp_path)
    assert st.features.families == ["ibsi"] and st.biology is None
    with pytest.raises(ConfigError, match="families"):
        load_study({**doc, "models": [{"name": "m", "kind": "radiomics", "endpoint": "r", "families": ["deep"]}]},
                   base_dir=tmp_path)
