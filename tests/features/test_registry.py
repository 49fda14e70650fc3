"""The registry covers every IBSI tag, and the extractor's contract around families."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from radsig.exceptions import FeatureWarning
from radsig.features import extract_case, registry, to_wide


def test_every_tag_maps_to_a_registered_family():
    table = registry.feature_table()
    assert len(table) > 150
    assert set(table["family"]) <= set(registry.FAMILY_MODULES)
    for family in registry.FAMILY_MODULES:
        assert registry.family_tags(family), family
        assert hasattr(registry.get_family(family), "compute")


def test_specific_ivh_code_and_aggregation_codes():
    assert registry.features_by_tag()["ivh_v10"].ibsi_code == "NK6P"
    codes = registry.aggregation_codes()
    assert codes[""] == "DHQ4" and codes["3D_avg"] == "ITBB" and codes["2_5D"] == "62GR"
    assert registry.split_key("cm_joint_max_3D_avg") == ("cm_joint_max", "3D_avg")
    assert registry.split_key("szm_sze_2_5D") == ("szm_sze", "2_5D")


def test_expected_keys_follow_aggregations():
    keys = registry.expected_keys("glcm", ["2D", "3D"])
    assert "cm_joint_max_2D_comb" in keys and "cm_joint_max_3D_avg" in keys
    assert registry.expected_keys("intensity_statistics", ["3D"])[0] == "stat_mean"


def test_failing_family_gives_nan_and_warning_others_computed(image_factory, monkeypatch):
    image, mask = image_factory()
    module = registry.get_family("intensity_histogram")

    def broken(roi, **options):
        raise ValueError("boom")

    monkeypatch.setattr(module, "compute", broken)
    settings = {"families": ["intensity_statistics", "intensity_histogram"]}
    with pytest.warns(FeatureWarning, match="intensity_histogram.*boom"):
        df = extract_case(image, mask, settings)
    wide = to_wide(df)
    assert np.isnan(wide["ih_mean"])
    assert np.isfinite(wide["stat_mean"])
    assert list(df.columns) == ["feature", "family", "ibsi_code", "aggregation_code", "value"]
    assert df.attrs["family_errors"]["intensity_histogram"].startswith("ValueError")


def test_long_table_codes(image_factory):
    image, mask = image_factory()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeatureWarning)
        df = extract_case(image, mask, {"families": ["intensity_volume_histogram", "glcm"]})
    row = df.set_index("feature").loc["ivh_v10"]
    assert (row["ibsi_code"], row["aggregation_code"]) == ("NK6P", "DHQ4")
    assert df.set_index("feature").loc["cm_joint_max_3D_comb", "aggregation_code"] == "IAZD"


def test_filters_call_apply_filters_and_prefix_names(image_factory, monkeypatch):
    import sys
    import types

    calls = {}

    def apply_filters(image, spacing, image_types, mask=None):
        calls["args"] = (image.shape, spacing, image_types)
        return {"original": image, "square": image**2}

    fake = types.ModuleType("radsig.preprocess.filters")
    fake.apply_filters = apply_filters
    fake.filter_margin = lambda image_types, spacing: np.array([4, 4, 4])
    monkeypatch.setitem(sys.modules, "radsig.preprocess.filters", fake)
    image, mask = image_factory()
    settings = {"families": ["intensity_statistics", "morphology"],
                "filters": {"Original": {}, "Square": {}}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FeatureWarning)
        wide = to_wide(extract_case(image, mask, settings))
    assert calls["args"][2] == {"Original": {}, "Square": {}}
    assert wide["square_stat_mean"] > wide["stat_mean"] > 0
    assert "square_morph_volume" not in wide  # shape is computed on the original image only


def test_unknown_filter_is_a_config_error():
    from radsig.config import load_settings
    from radsig.exceptions import ConfigError

    with pytest.raises(ConfigError, match="unknown image type.*Gabor.*valid: Original"):
        load_settings({"filters": {"Gabor": {}}})
