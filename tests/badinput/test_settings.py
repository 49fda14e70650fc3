"""Settings, parameter and study files: unknown keys at every level, empty files, YAML aliases,
duplicate keys, non-UTF-8 bytes, absurd values. Each is an ``error:`` naming the file and key."""

from __future__ import annotations

import pytest
from _badinput import assert_error

from radsig.config import load_settings
from radsig.config.study import load_study
from radsig.exceptions import ConfigError

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n" \
       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"

# (id, file text, words the error line must hold)
CASES = [
    ("unknown-top-level-key", "familes: [glcm]\n", ["unknown settings key 'familes'"]),
    ("unknown-nested-key", "interpolation:\n  spacng: [1, 1, 1]\n",
     ["unknown settings key 'spacng'", "interpolation"]),
    ("unknown-filter-option", "filters:\n  LoG: {sigmaa: [1.0]}\n", ["sigmaa", "LoG"]),
    ("log-without-sigma", "filters:\n  LoG: {}\n", ["LoG", "sigma"]),
    ("unknown-filter", "filters:\n  Gabor: {}\n", ["Gabor"]),
    ("empty-file", "", ["empty"]),
    ("comments-only", "# nothing here\n\n", ["empty"]),
    ("alias-bomb", BOMB, ["alias", "line"]),
    ("merge-key-alias", "base: &b {bin_number: 8}\ndiscretisation:\n  <<: *b\n", ["alias"]),
    ("duplicate-key", "families: [glcm]\nfamilies: [glrlm]\n", ["duplicate key 'families'",
                                                              "line 2", "first at line 1"]),
    ("duplicate-nested-key", "discretisation:\n  method: fbn\n  method: fbs\n",
     ["duplicate key 'method'"]),
    ("tiny-interpolation-spacing", "interpolation:\n  spacing: [1.0e-6, 1.0e-6, 1.0e-6]\n",
     ["interpolation.spacing", "0.01"]),
    ("absurd-bin-number", "discretisation:\n  method: fbn\n  bin_number: 100000000\n",
     ["discretisation.bin_number", "65536"]),
    ("pyradiomics-absurd-bin-count", "setting:\n  binCount: 100000000\n", ["binCount", "65536"]),
    ("negative-bin-width", "discretisation:\n  method: fbs\n  bin_width: -5\n",
     ["discretisation.bin_width"]),
    ("unknown-family", "families: [glcm, glcmm]\n", ["families"]),
    ("wrong-type", "crop:\n  margin_mm: wide\n", ["crop.margin_mm"]),
    ("list-not-mapping", "- glcm\n- glrlm\n", ["mapping"]),
    ("malformed-yaml", "families: [glcm\n", ["malformed YAML", "line"]),
    ("tab-indentation", "interpolation:\n\tspacing: [1, 1, 1]\n", ["malformed YAML"]),
    ("pyradiomics-unknown-setting", "setting:\n  binWidht: 25\n", ["binWidht"]),
    ("pyradiomics-log-option-typo", "imageType:\n  LoG: {sigmaa: [1.0]}\n", ["sigmaa", "LoG"]),
    ("pyradiomics-tiny-spacing", "setting:\n  resampledPixelSpacing: [1.0e-6, 1.0e-6, 1.0e-6]\n",
     ["resampledPixelSpacing", "0.01"]),
    ("pyradiomics-unknown-feature", "featureClass:\n  glcm: [Contrastt]\n", ["Contrastt"]),
    ("pyradiomics-bad-interpolator", "setting:\n  interpolator: sitkCubic\n", ["interpolator"]),
]


@pytest.mark.parametrize("text,needles", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_settings_file(tmp_path, text, needles):
    path = tmp_path / "settings.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    msg = str(err.value)
    assert str(path) in msg and "\n" not in msg
    for needle in needles:
        assert needle in msg, (needle, msg)


def test_alias_bomb_is_refused_fast(tmp_path):
    import time

    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB + "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                    "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n")
    t = time.perf_counter()
    with pytest.raises(ConfigError, match="alias"):
        load_settings(path)
    assert time.perf_counter() - t < 1.0


def test_not_utf8_settings_on_the_command_line(cli, tmp_path, case):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("# réglages\nfamilies: [glcm]\n".encode("latin-1"))
    assert_error(cli("extract", case[0], case[1], "--params", path), "latin1.yaml", "not UTF-8",
                 "position 3")


def test_empty_settings_on_the_command_line(cli, tmp_path, case):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    out = tmp_path / "f.csv"
    assert_error(cli("extract", case[0], case[1], "--params", path, "--out", out),
                 "empty.yaml", "empty")
    assert not out.exists()


def test_settings_file_missing(cli, tmp_path, case):
    assert_error(cli("extract", case[0], case[1], "--params", tmp_path / "nope.yaml"),
                 "nope.yaml", "not found")


def test_settings_path_is_a_folder(cli, tmp_path, case):
    assert_error(cli("extract", case[0], case[1], "--params", tmp_path), "folder")


def test_empty_pyradiomics_json(tmp_path):
    path = tmp_path / "params.json"
    path.write_text("{}")
    from radsig.config.pyradiomics import load_pyradiomics_settings

    with pytest.raises(ConfigError, match="empty"):
        load_pyradiomics_settings(path)


def test_utf8_with_bom_is_read(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufefffamilies: [glcm]\n".encode())
    assert list(load_settings(path).families) == ["glcm"]


@pytest.mark.parametrize("text,needles", [
    ("name: a\nname: b\n", ["duplicate key 'name'"]),
    ("x: &x {a: 1}\ny: *x\n", ["alias"]),
    ("", ["study file is empty"]),
], ids=["study-duplicate-key", "study-alias", "study-empty"])
def test_bad_study_file(tmp_path, text, needles):
    path = tmp_path / "study.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_study(path)
    for needle in needles:
        assert needle in str(err.value)


def test_study_file_not_utf8_via_validate_study(cli, tmp_path):
    path = tmp_path / "study.yaml"
    path.write_bytes(b"name: \xe9tude\n")
    assert_error(cli("validate-study", path), "study.yaml", "not UTF-8")


def test_feature_settings_of_a_study_empty(tmp_path):
    from radsig.study.extraction import load_feature_settings

    path = tmp_path / "features.yaml"
    path.write_text("# to do\n")
    with pytest.raises(ConfigError, match="empty"):
        load_feature_settings(path)


@pytest.mark.parametrize("text", [
    "discretisation: {method: fbs, bin_width: 1.0e-9}\nfamilies: [glcm]\n",
    "setting: {binWidth: 1.0e-9}\nfeatureClass: {glcm: []}\n",
], ids=["ibsi", "pyradiomics"])
def test_bin_width_in_the_wrong_unit(cli, tmp_path, case, text):
    """A bin width of 1e-9 asked for 1e11 grey levels: a MemoryError traceback or empty features."""
    path = tmp_path / "s.yaml"
    path.write_text(text)
    out = tmp_path / "f.csv"
    assert_error(cli("extract", case[0], case[1], "--params", path, "--out", out),
                 "idth", "65536", "larger bin")
    assert not out.exists()
