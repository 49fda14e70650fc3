"""IBSI-2 phase 2: the 18 intensity statistics of filtered CT phantom images, all 323 reference
values within their tolerance (``tests/data/ibsi2/phase2/reference_values.csv``).

The 2D configurations (no interpolation) run one extraction each. The 3D ones share their
preprocessing (1 mm cubic resampling of the whole image), so their nine filters run in one
extraction with all nine ``filters:`` entries, named by configuration: this also checks that
several IBSI-2 filters in one settings file give features named after each filter.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml

from radsig.config import load_settings
from radsig.features import extract_case
from radsig.features import ibsi2_compliance as c

REPO = Path(__file__).resolve().parents[2]
CONFIGS_2D = [k for k in c.PHASE2_CONFIGS if k.endswith("A")]
CONFIGS_3D = [k for k in c.PHASE2_CONFIGS if k.endswith("B")]


@pytest.fixture(scope="module")
def reference(shared):
    return pd.read_csv(shared / "ibsi2/phase2/reference_values.csv", dtype={"value": str})


def _check(rows):
    bad = [(r.config, r.tag, r.value, r.reference, r.tolerance) for r in rows
           if r.passed is False]
    assert not bad, f"outside tolerance: {bad}"
    assert len(rows) == 18


def test_reference_file_has_323_values(reference):
    assert len(reference) == 324
    assert reference["value"].notna().sum() == 323
    assert set(reference["config"]) == set(c.PHASE2_CONFIGS)


@pytest.fixture(scope="module")
def results_2d(shared):
    return {k: c.phase2_config(k, shared, REPO / "params") for k in CONFIGS_2D}


@pytest.mark.parametrize("config", CONFIGS_2D)
def test_phase2_2d_configuration(results_2d, config):
    rows, _, _ = results_2d[config]
    _check(rows)


def _combined_3d_settings():
    """The nine 3D settings files as one: same preprocessing, every filter (named by config)."""
    merged = None
    filters = {}
    for config in CONFIGS_3D:
        data = yaml.safe_load((REPO / "params/ibsi2/phase2" / f"{config}.yaml").read_text())
        entries = data.pop("filters")
        if merged is None:
            merged = data
        assert data == merged, f"{config}: preprocessing differs from 1B"
        for spec in entries.values():
            if "filter" in spec:
                filters[f"c{config}"] = spec
    merged["filters"] = {"Original": {}, **filters}
    return load_settings(merged)


@pytest.fixture(scope="module")
def table_3d(shared):
    ct = shared / "ibsi/ct_phantom_pat1"
    return extract_case(ct / "image.nii.gz", ct / "mask.nii.gz", _combined_3d_settings())


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS_3D)
def test_phase2_3d_configuration(table_3d, reference, config):
    values = dict(zip(table_3d["feature"], table_3d["value"], strict=True))
    prefix = "" if config == "1B" else f"c{config}_"
    rows = reference[reference["config"] == config]
    assert len(rows) == 18
    for _, row in rows.iterrows():
        value = values[prefix + row["ibsi_code"]]
        if pd.isna(row["value"]):  # 8B qcod: no reference
            assert math.isfinite(value)
            continue
        assert abs(value - float(row["value"])) <= float(row["tolerance"]), \
            (config, row["ibsi_code"], value, row["value"], row["tolerance"])


def test_docs_list_the_measured_phase2_values(results_2d):
    """docs/ibsi2.md (bench/ibsi2.py) is current for the 2D configurations (the 3D ones are
    checked by the slow test below)."""
    text = (REPO / "docs/ibsi2.md").read_text()
    rows = c.doc_rows(text, set(c.PHASE2_CONFIGS))
    for features, _, _ in results_2d.values():
        _doc_matches(rows, features)
    assert "**323 of 323 reference values pass.**" in text


def _doc_matches(rows, features):
    for f in features:
        cells = rows[(f.config, f.tag)]
        assert math.isclose(float(cells[3]), f.value, rel_tol=1e-5, abs_tol=1e-6), \
            (f.config, f.tag, cells[3], f.value)
        assert cells[5] == {True: "PASS", False: "FAIL", None: "–"}[f.passed]


@pytest.mark.slow
def test_docs_list_the_measured_3d_values(table_3d, reference):
    text = (REPO / "docs/ibsi2.md").read_text()
    rows = c.doc_rows(text, set(c.PHASE2_CONFIGS))
    values = dict(zip(table_3d["feature"], table_3d["value"], strict=True))
    for _, row in reference[reference["config"].isin(CONFIGS_3D)].iterrows():
        prefix = "" if row["config"] == "1B" else f"c{row['config']}_"
        cells = rows[(row["config"], row["ibsi_code"])]
        assert math.isclose(float(cells[3]), values[prefix + row["ibsi_code"]], rel_tol=1e-5,
                            abs_tol=1e-6)


def test_radsig_extract_writes_filtered_statistics(run_cli, shared, reference, tmp_path):
    """`radsig extract` with a phase-2 settings file: 18 statistics named after the filter."""
    ct = shared / "ibsi/ct_phantom_pat1"
    out = tmp_path / "f.csv"
    result = run_cli("extract", ct / "image.nii.gz", ct / "mask.nii.gz", "--params",
                     REPO / "params/ibsi2/phase2/3A.yaml", "--out", out)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out)
    log_rows = table[table["feature"].str.startswith("log_")]
    assert sorted(log_rows["feature"]) == sorted("log_" + reference[reference["config"] == "3A"]
                                                 ["ibsi_code"])
    assert set(log_rows["family"]) == {"intensity_statistics"}
    assert (log_rows["ibsi_code"] != "").all()
    got = dict(zip(log_rows["feature"], log_rows["value"], strict=True))
    for _, row in reference[reference["config"] == "3A"].iterrows():
        assert abs(got["log_" + row["ibsi_code"]] - float(row["value"])) <= float(row["tolerance"])
