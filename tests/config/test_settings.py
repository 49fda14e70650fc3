"""Settings files: validation, messages, PyRadiomics dispatch and hashing."""

from __future__ import annotations

from pathlib import Path

import pytest

from radsig.config import load_settings, settings_hash
from radsig.config.settings import IbsiSettings
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
