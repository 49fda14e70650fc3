"""`radsig predict` pools a patient's lesions the way the study does (mean per feature)."""

from __future__ import annotations

import pandas as pd

from radsig.study import extra_features as xf


def _fake_extractor(image, mask, settings, *, label=None, case=None):
    value = float(str(image).split("_")[-1])  # "img_<value>"
    return pd.DataFrame({"feature": ["deep_000", "deep_001"], "family": "deep", "ibsi_code": "",
                         "aggregation_code": "", "value": [value, 2 * value]})


def test_direct_extraction_averages_lesions(monkeypatch, tmp_path):
    monkeypatch.setattr(xf, "_family_settings",
                        lambda doc, out, maps: [("deep", "CT", _fake_extractor, {})])
    manifest = pd.DataFrame({"pid": ["a", "a", "b"], "image": ["img_1", "img_3", "img_10"],
                             "mask": ["m", "m", "m"], "modality": ["CT", "CT", "CT"]})
    wide, fails = xf.extract_extra_direct({}, manifest, tmp_path, id_column="pid")
    assert fails.empty
    assert wide.loc["a", "CT_deep_000"] == 2.0 and wide.loc["a", "CT_deep_001"] == 4.0
    assert wide.loc["b", "CT_deep_000"] == 10.0
