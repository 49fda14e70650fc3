"""`radsig validate-study` catches what the study would otherwise fail on later: each bad study
file, table or settings file gives one `error:` (exit 2) naming the file / key and the cause, no
traceback, and `radsig study` on the same file stops before writing any output.
"""

from __future__ import annotations

import shutil
import sys
from unittest import mock

import pandas as pd
import pytest
import yaml

from radsig.study.demo import demo_files
from radsig.synth import make_demo_cohort
from radsig.synth.biology import make_demo_biology


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    """A small demo cohort (images, manifests, clinical tables, biology) and the demo settings."""
    root = tmp_path_factory.mktemp("validate_data")
    cohort = make_demo_cohort(root, n=64, seed=11)
    make_demo_biology(root, cohort.clinical, seed=11)
    shutil.copyfile(demo_files()[1], root / "features.yaml")
    return root


@pytest.fixture
def data_dir(cohort_dir, tmp_path):
    """A private copy of the cohort's tables (images stay shared: linked by absolute path)."""
    out = tmp_path / "data"
    out.mkdir()
    for f in cohort_dir.iterdir():
        if f.is_file():
            shutil.copyfile(f, out / f.name)
    for name in ("training", "internal", "external", "immunotherapy"):
        man = pd.read_csv(out / f"{name}_manifest.csv")
        for col in ("image", "mask"):
            man[col] = [str(cohort_dir / p) for p in man[col]]
        man.to_csv(out / f"{name}_manifest.csv", index=False)
    return out


def _study(root, mutate=None):
    doc = yaml.safe_load(demo_files()[0].read_text())
    if mutate:
        mutate(doc)
    path = root / "study.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _cli(capsys, *args):
    from radsig.cli.main import main

    code = 0
    with mock.patch.object(sys, "argv", ["radsig", *map(str, args)]):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def _table(root, name, fn):
    path = root / name
    df = pd.read_csv(path)
    df = fn(df)
    df.to_csv(path, index=False)
    return path


def _set(d, key, value):
    d[key] = value


def _training_clin(fn):
    return lambda root: _table(root, "training_clinical.csv", fn)


def _dup_id(df):
    return pd.concat([df, df.iloc[[3]]], ignore_index=True)


def _text_time(df):
    df["os_months"] = df["os_months"].astype(object)
    df.loc[2, "os_months"] = "12 months"
    return df


def _event_two(df):
    df.loc[1, "os_event"] = 2
    return df


def _negative_time(df):
    df.loc[4, "os_months"] = -3.0
    return df


def _few_responders(df):
    pos = df.index[df["response"] == 1]
    df.loc[pos[3:], "response"] = 0
    return df


def _constant_covariate(df):
    df["ecog"] = 1
    return df


def _dup_manifest_row(root):
    return _table(root, "internal_manifest.csv", lambda df: pd.concat([df, df.iloc[[0]]], ignore_index=True))


def _write(name, text):
    def apply(root):
        (root / name).write_bytes(text if isinstance(text, bytes) else text.encode())
        return root / name
    return apply


def _settings_typo(root):
    text = (root / "features.yaml").read_text().replace("interpolation:", "interpolaton:")
    return _write("features.yaml", text)(root)


def _settings_dup_key(root):
    text = (root / "features.yaml").read_text() + "\nfamilies: [glcm]\n"
    return _write("features.yaml", text)(root)


def _study_text(fn):
    def apply(root):
        path = root / "study.yaml"
        path.write_bytes(fn(path.read_text()))
        return path
    return apply


# kind: (study file edit, data edit returning the file that names the fault, words of the message)
CASES = {
    "seed_negative": (lambda d: _set(d, "seed", -1), None, ["seed", "greater than or equal to 0"]),
    "seed_1e30": (lambda d: _set(d, "seed", 1e30), None, ["seed", "valid integer"]),
    "seed_above_32_bit": (lambda d: _set(d, "seed", 2**40), None, ["seed", "less than or equal to"]),
    "seed_text": (lambda d: _set(d, "seed", "7"), None, ["seed", "valid integer"]),
    "bootstrap_below_minimum": (lambda d: _set(d, "bootstrap", 60), None,
                                ["bootstrap", "greater than or equal to 100"]),
    "bootstrap_fraction": (lambda d: _set(d, "bootstrap", 150.5), None, ["bootstrap", "valid integer"]),
    "horizon_negative": (lambda d: d["endpoints"][1].update(horizons=[-12]), None,
                         ["endpoints.1.horizons.0", "greater than 0"]),
    "model_modality_absent": (lambda d: d["models"][0].update(modalities=["MR"]), None,
                              ["modalities ['MR'] are not in the training manifest"]),
    "clinical_duplicate_id": (None, _training_clin(_dup_id), ["occur on more than one row"]),
    "manifest_duplicate_row": (None, _dup_manifest_row, ["2 rows for patient_id=", "modality="]),
    "survival_time_text": (None, _training_clin(_text_time), ["'os_months' must be numeric", "'12 months'"]),
    "event_not_binary": (None, _training_clin(_event_two), ["'os_event' must be 0/1", "[2"]),
    "survival_time_negative": (None, _training_clin(_negative_time), ["must be non-negative", "-3.0"]),
    "training_too_few_of_a_class": (None, _training_clin(_few_responders),
                                    ["endpoint 'response'", "'positive': 3", "at least 5 of each class"]),
    "covariate_constant_in_training": (None, _training_clin(_constant_covariate),
                                       ["covariate 'ecog' has 1 distinct value"]),
    "settings_file_empty": (None, _write("features.yaml", ""), ["is empty"]),
    "settings_unknown_key": (None, _settings_typo, ["interpolaton"]),
    "settings_duplicate_key": (None, _settings_dup_key, ["duplicate key 'families'"]),
    "settings_not_utf8": (None, _write("features.yaml", b"families: [\xff\xfe]\n"), ["not UTF-8"]),
    "study_not_utf8": (None, _study_text(lambda t: t.replace("name:", "name: \xe9", 1).encode("latin-1")),
                       ["not UTF-8"]),
    "study_duplicate_key": (None, _study_text(lambda t: (t + "\nseed: 3\nseed: 4\n").encode()),
                            ["duplicate key 'seed'"]),
    "study_yaml_alias": (None, _study_text(lambda t: t.replace("bootstrap:", "x_anchor: &a 1\nbootstrap:", 1)
                                           .replace("seed:", "seed: *a\nold_seed:", 1).encode()),
                         ["aliases"]),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_validate_study_refuses(kind, data_dir, capsys):
    edit_study, edit_data, words = CASES[kind]
    study = _study(data_dir, edit_study)
    named = edit_data(data_dir) if edit_data else study
    code, out, err = _cli(capsys, "validate-study", study)
    assert code == 2, (out, err)
    assert err.startswith("error: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert str(named) in err or named.name in err or kind.startswith(("seed", "bootstrap", "horizon", "model_")), err
    for w in words:
        assert w in err, (w, err)
    assert "study file OK" not in out


def test_study_command_stops_before_writing(data_dir, tmp_path, capsys):
    study = _study(data_dir, lambda d: _set(d, "seed", -1))
    code, _, err = _cli(capsys, "study", study, "--out", tmp_path / "out", "-q")
    assert code == 2 and err.startswith("error: ") and "seed" in err
    assert not (tmp_path / "out").exists()


def test_valid_study_passes(data_dir, capsys):
    code, out, err = _cli(capsys, "validate-study", _study(data_dir))
    assert code == 0, err
    assert "study file OK" in out


def test_several_problems_are_listed_on_one_line(data_dir, capsys):
    _training_clin(_dup_id)(data_dir)
    _dup_manifest_row(data_dir)
    code, _, err = _cli(capsys, "validate-study", _study(data_dir, lambda d: _set(d, "seed", -1)))
    assert code == 2 and len(err.strip().splitlines()) == 1 and "seed" in err  # the schema first
    code, _, err = _cli(capsys, "validate-study", _study(data_dir))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "occur on more than one row" in err and "2 rows for patient_id=" in err
