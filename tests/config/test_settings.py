"""Settings files: validation, messages, PyRadiomics dispatch and hashing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from radsig.config import load_settings, settings_hash
from radsig.config.settings import IbsiSettings, SettingsError
from radsig.exceptions import ConfigError

PARAMS = Path(__file__).resolve().parents[2] / "params" / "ibsi"


@pytest.mark.parametrize("name", ["dig_phantom", "config_a", "config_b", "config_c",
                                  "config_d", "config_e", "default_ct"])
def test_shipped_params_load(name):
    assert isinstance(load_settings(PARAMS / f"{name}.yaml"), IbsiSettings)


def test_unknown_key_names_key_and_valid_keys(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("interpolation:\n  spacng: [1, 1, 1]\n")
    with pytest.raises(ConfigError, match=r"s\.yaml.*unknown settings key 'spacng'.*"
                                          r"valid keys: spacing, image_method"):
        load_settings(path)


def test_unknown_top_level_key():
    with pytest.raises(ConfigError, match=r"'colour'.*valid keys: input, crop"):
        load_settings({"colour": 1})


def test_malformed_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("interpolation: [1, 2\n  spacing: {\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: malformed YAML at line"):
        load_settings(path)


def test_bad_values():
    with pytest.raises(ConfigError, match="discretisation"):
        load_settings({"discretisation": {"method": "fbs", "bin_width": None}})
    with pytest.raises(ConfigError, match="range"):
        load_settings({"resegmentation": {"range": [400, -500]}})


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "none.yaml")


def test_hash_is_stable_and_content_based():
    a = load_settings({"discretisation": {"method": "fbn", "bin_number": 16}})
    b = load_settings({"discretisation": {"bin_number": 16, "method": "fbn"}})
    assert settings_hash(a) == settings_hash(b)
    assert settings_hash(a) != settings_hash(load_settings(None))
    assert len(settings_hash(a)) == 64


def test_pyradiomics_file_is_dispatched(tmp_path):
    path = tmp_path / "pyrad.yaml"
    path.write_text("setting:\n  binWidth: 25\nimageType:\n  Original: {}\n")
    try:
        import radsig.config.pyradiomics  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError):
            load_settings(path)
    else:
        assert not isinstance(load_settings(path), IbsiSettings)


# settings_hash of these files as radsig computed it with pydantic models (before the settings
# became checked dataclasses): feature caches keyed on it stay valid
PYDANTIC_ERA_HASHES = {
    None: "8d8e4739f75446756a00b772479ffa4903d64cfdd3fc77ee2849cc053a71afff",
    "default_ct": "a5336021dd3b1a2e2aa1b4eefc0ebbb3c74bfffc4cd93ae740f5bd41ce1bd607",
    "config_c": "a0c0bca9272ef3b90ad5a535d55ef4ba6a4b5bad3e5405d1d5944800bffa859c",
}


@pytest.mark.parametrize("name", list(PYDANTIC_ERA_HASHES))
def test_settings_hash_unchanged_since_the_pydantic_models(name):
    settings = load_settings(None if name is None else PARAMS / f"{name}.yaml")
    assert settings_hash(settings) == PYDANTIC_ERA_HASHES[name]


def test_values_are_coerced_and_checked_like_the_pydantic_models():
    s = load_settings({"crop": {"margin_mm": 12}, "interpolation": {"spacing": [1, 2, 3]},
                       "texture": {"distance": 2.0}, "resegmentation": {"range": [-1000, None]}})
    assert s.crop.margin_mm == 12.0 and isinstance(s.crop.margin_mm, float)
    assert s.interpolation.spacing == [1.0, 2.0, 3.0]
    assert all(isinstance(v, float) for v in s.interpolation.spacing)
    assert s.texture.distance == 2 and isinstance(s.texture.distance, int)
    assert s.resegmentation.range == [-1000.0, None]
    assert s.discretisation.bin_number == 32  # defaults of the stages not given
    for data, needle in [
        ({"texture": {"distance": 1.5}}, "'texture.distance': should be an integer; got 1.5"),
        ({"texture": {"distance": 0}}, "should be greater than or equal to 1; got 0"),
        ({"input": {"round_intensities": "yes"}}, "should be true or false"),
        ({"crop": {"margin_mm": True}}, "'crop.margin_mm': should be a number"),
        ({"interpolation": {"mask_threshold": 0}}, "should be greater than 0"),
        ({"interpolation": {"mask_threshold": 1.5}}, "should be less than or equal to 1"),
        ({"interpolation": {"image_method": "cubic"}}, "one of 'nearest', 'linear', 'bspline'"),
        ({"texture": {"aggregations": ["3D", "4D"]}}, "'texture.aggregations.1'"),
        ({"resegmentation": {"range": [1, 2, 3]}}, "range needs two values"),
        ({"ivh": {"method": "fbn"}}, "'ivh': method 'fbn' needs bin_number"),
        ({"crop": [10]}, "'crop': should be a mapping"),
        ({"texture": {"distance": 1, "ngldm": 1}}, "unknown settings key 'ngldm' in texture"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(needle)):
            load_settings(data)


def test_replace_checks_and_to_dict_round_trips():
    s = load_settings(PARAMS / "default_ct.yaml")
    t = s.replace(families=["glcm"])
    assert t.families == ["glcm"] and t.texture == s.texture and s.families != ["glcm"]
    with pytest.raises(SettingsError, match="should be one of") as err:
        s.replace(families=["glcmm"])
    assert err.value.loc == ("families", "0")
    assert IbsiSettings.from_dict(s.to_dict()) == s
    with pytest.raises(AttributeError):  # frozen, as the pydantic models were
        s.crop.margin_mm = 20.0
