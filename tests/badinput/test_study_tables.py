"""Study-level clinical tables: values the models would otherwise take silently.

- a covariate read as numeric (≥ 90 % numbers) that also holds text (``age = sixty``): the text rows
  became missing and were imputed with the median — now refused before any work, naming patient and value;
- survival times of 0: left out of the C-index / Kaplan–Meier without a word — now a named warning.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from radsig.exceptions import ConfigError, InputWarning
from radsig.study.data import _check_endpoint, _mixed_column


def _ages(n=30, text=None):
    ages = [str(40 + i) for i in range(n)]
    if text is not None:
        ages[3] = text
    return pd.Series(ages, index=[f"P{i:03d}" for i in range(n)], name="age")


def test_text_in_a_numeric_covariate_is_refused_naming_patient_and_value():
    problems = _mixed_column(_ages(text="sixty"), "age", "cohort 'train' clinical table c.csv")
    assert len(problems) == 1
    assert "'age'" in problems[0] and "P003" in problems[0] and "sixty" in problems[0]
    assert "c.csv" in problems[0]


@pytest.mark.parametrize("values", [
    _ages(),                                            # all numbers
    pd.Series(["I", "II", "III", "IV"] * 5),            # all categories
    pd.Series(["1", "2", "3", "4a"] * 5),               # a categorical with a text level (25 %)
    pd.Series(["0", "1", "x"] * 10),                    # few levels: read as categories, not numbers
])
def test_columns_read_as_they_are_meant_pass(values):
    assert _mixed_column(values, "c", "here") == []


def test_survival_time_zero_is_a_named_warning():
    from radsig.config.study import EndpointSpec

    ep = EndpointSpec(name="os", type="survival", time="t", event="e")
    clin = pd.DataFrame({"t": [0.0, 5.0, 7.0, 0.0], "e": [1, 0, 1, 1]},
                        index=["A", "B", "C", "D"])
    problems: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _check_endpoint("train", "training", clin, ep, problems, None)
    assert problems == []
    msgs = [str(w.message) for w in caught if issubclass(w.category, InputWarning)]
    assert len(msgs) == 1 and "is 0 for 2 patient(s)" in msgs[0] and "'A'" in msgs[0]
    assert np.isfinite(clin["t"]).all()  # the table itself is left as given


def test_study_with_text_in_a_covariate_fails_before_any_work(tmp_path):
    """End to end through the study loader: a ConfigError naming column, patient and value."""
    from radsig.config.study import load_study
    from radsig.study.data import load_study_data

    rng = np.random.default_rng(0)
    n = 40
    ids = [f"P{i:03d}" for i in range(n)]
    feats = pd.DataFrame(rng.normal(size=(n, 5)), columns=[f"f{i}" for i in range(5)])
    feats.insert(0, "ID", ids)
    feats["y"] = [i % 2 for i in range(n)]
    feats["age"] = [str(50 + i) for i in range(n)]
    feats.loc[7, "age"] = "sixty"
    feats.to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "s.yaml").write_text(
        "name: t\nid_column: ID\n"
        "endpoints: [{name: resp, type: binary, column: y, positive: '1'}]\n"
        "cohorts: [{name: train, role: training, features: t.csv}]\n"
        "models: [{name: nomo, kind: clinical, endpoint: resp, covariates: [age]}]\n",
        encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'age' holds numbers and text.*P007.*sixty"):
        load_study_data(load_study(tmp_path / "s.yaml"))
