"""`radsig predict` refuses inputs it cannot score honestly, in one `error:` line (exit 2), before
writing anything; suspicious but scorable input gets a named `warning:`.

The model is the session's `radsig demo` run (tests/study/demo_runs.py, shared with tests/study and
tests/report); each case scores one or two external patients, so the slow part (feature
extraction) stays small. The CLI runs in-process (radsig.cli.main.main), as the console script does.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest

_spec = importlib.util.spec_from_file_location("demo_runs", Path(__file__).parents[1] / "study" / "demo_runs.py")
demo_runs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo_runs)

pytestmark = pytest.mark.xdist_group(name=demo_runs.GROUP)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """Output folder of ``radsig demo`` (the same session-wide run tests/study uses)."""
    return demo_runs.full_demo(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def tables(demo_dir):
    """The external cohort's manifest (absolute paths) and clinical table."""
    data = demo_dir / "data"
    man = pd.read_csv(data / "external_manifest.csv")
    for col in ("image", "mask"):
        man[col] = [str(data / p) for p in man[col]]
    return man, pd.read_csv(data / "external_clinical.csv")


def _cli(capsys, *args):
    """(exit status, stdout, stderr) of ``radsig ARGS`` run in this process."""
    from radsig.cli.main import main

    code = 0
    with mock.patch.object(sys, "argv", ["radsig", *map(str, args)]):
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def _patients(man, n=1, start=0):
    ids = list(dict.fromkeys(man["patient_id"]))[start:start + n]
    return man[man["patient_id"].isin(ids)].reset_index(drop=True), ids


def _dup_row(man, clin):
    m, _ = _patients(man, 2)
    return pd.concat([m, m.iloc[[0]]], ignore_index=True), clin


def _no_pet(man, clin):
    m, ids = _patients(man, 2)
    return m[~((m["patient_id"] == ids[1]) & (m["modality"] == "PET"))], clin


def _shared_image(man, clin):
    m, ids = _patients(man, 2)
    a_ct = m.loc[(m["patient_id"] == ids[0]) & (m["modality"] == "CT"), "image"].iloc[0]
    m.loc[(m["patient_id"] == ids[1]) & (m["modality"] == "CT"), "image"] = a_ct
    return m, clin


def _empty_manifest(man, clin):
    return man.iloc[:0], clin


def _no_image_column(man, clin):
    return _patients(man)[0].drop(columns="image"), clin


def _clin_dup_id(man, clin):
    m, ids = _patients(man)
    return m, pd.concat([clin, clin[clin["patient_id"] == ids[0]]], ignore_index=True)


def _clin_text_age(man, clin):
    m, ids = _patients(man)
    clin = clin.astype({"age": object})
    clin.loc[clin["patient_id"] == ids[0], "age"] = "sixty"
    return m, clin


def _clin_text_immune(man, clin):
    m, ids = _patients(man)
    clin = clin.astype({"immune_score": object})
    clin.loc[clin["patient_id"] == ids[0], "immune_score"] = "high"
    return m, clin


def _clin_unknown_level(man, clin):
    m, ids = _patients(man)
    clin.loc[clin["patient_id"] == ids[0], "stage"] = "IVb"
    return m, clin


def _clin_missing_column(man, clin):
    return _patients(man)[0], clin.drop(columns=["immune_score"])


def _clin_missing_patient(man, clin):
    m, ids = _patients(man)
    return m, clin[clin["patient_id"] != ids[0]]


def _swap_ct_pet(man, clin):
    m, _ = _patients(man)
    m["modality"] = m["modality"].map({"CT": "PET", "PET": "CT"})
    return m, clin


def _ct_as_pet(man, clin):
    m, _ = _patients(man)
    ct = m.loc[m["modality"] == "CT", "image"].iloc[0]
    m.loc[m["modality"] == "PET", "image"] = ct
    return m, clin


# kind of bad input: (make manifest/clinical, words the one-line message must hold)
REFUSED = {
    "duplicate_manifest_row": (_dup_row, ["2 rows for patient_id=", "modality=CT", "lines 2, 6"]),
    "missing_modality_row": (_no_pet, ["has no PET row", "the model needs CT, PET"]),
    "image_on_two_patients": (_shared_image, ["is on the rows of 2 patients"]),
    "empty_manifest": (_empty_manifest, ["no rows"]),
    "manifest_without_image_column": (_no_image_column, ["missing column(s) ['image']"]),
    "clinical_duplicate_id": (_clin_dup_id, ["occur on more than one row", "one row per patient"]),
    "clinical_text_in_numeric_column": (_clin_text_age, ["column 'age' must be numeric", "'sixty'"]),
    "clinical_text_in_nomogram_column": (_clin_text_immune, ["column 'immune_score' must be numeric", "'high'"]),
    "clinical_unknown_category": (_clin_unknown_level, ["column 'stage'", "'IVb'", "not trained on"]),
    "clinical_missing_column": (_clin_missing_column, ["needs column(s) ['immune_score']"]),
    "clinical_missing_patient": (_clin_missing_patient, ["no row for patient(s)"]),
    "ct_pet_swapped": (_swap_ct_pet, ["modality PET", "far outside the training PET images",
                                      "--allow-intensity-shift"]),
    "ct_given_as_pet": (_ct_as_pet, ["modality PET", "far outside the training PET images"]),
}


def _write(tmp_path, man, clin):
    man.to_csv(tmp_path / "manifest.csv", index=False)
    clin.to_csv(tmp_path / "clinical.csv", index=False)
    return tmp_path / "manifest.csv", tmp_path / "clinical.csv"


@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_predict_refuses(kind, demo_dir, tables, tmp_path, capsys):
    make, words = REFUSED[kind]
    man, clin = make(tables[0].copy(), tables[1].copy())
    manifest, clinical = _write(tmp_path, man, clin)
    out = tmp_path / "pred.csv"
    out.write_text("earlier predictions\n")
    code, stdout, err = _cli(capsys, "predict", demo_dir / "model.json", "--manifest", manifest,
                             "--clinical", clinical, "--out", out)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])
    path = clinical if kind.startswith("clinical") else manifest
    assert str(path) in lines[0] or kind in ("ct_pet_swapped", "ct_given_as_pet", "missing_modality_row") \
        and "patient " in lines[0], lines[0]
    assert out.read_text() == "earlier predictions\n"  # earlier output intact, nothing written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clinical.csv", "manifest.csv", "pred.csv"]


def test_wrong_modality_scored_with_option_and_warning(demo_dir, tables, tmp_path, capsys):
    man, clin = _ct_as_pet(tables[0].copy(), tables[1].copy())
    manifest, clinical = _write(tmp_path, man, clin)
    code, stdout, err = _cli(capsys, "predict", demo_dir / "model.json", "--manifest", manifest,
                             "--clinical", clinical, "--allow-intensity-shift", "--out", tmp_path / "p.csv")
    assert code == 0, err
    warns = [ln for ln in err.splitlines() if ln.startswith("warning: ")]
    assert any("modality PET" in w and "scored anyway" in w for w in warns), err
    assert all(ln.startswith("warning: ") for ln in err.strip().splitlines()), err


def test_without_clinical_nomograms_are_named_not_dropped(demo_dir, tables, tmp_path, capsys):
    man, _ = _patients(tables[0].copy())
    man.to_csv(tmp_path / "manifest.csv", index=False)
    code, stdout, err = _cli(capsys, "predict", demo_dir / "model.json", "--manifest", tmp_path / "manifest.csv")
    assert code == 0, err
    warn = [ln for ln in err.splitlines() if "not scored" in ln]
    assert len(warn) == 1 and warn[0].startswith("warning: ") and "model.json" in warn[0], err
    for name in ("clinical", "combined", "nomogram_os"):
        assert f" {name}," in warn[0] or f" {name} " in warn[0], warn[0]
    table = pd.read_csv(__import__("io").StringIO(stdout))
    assert "radiomics_score" in table.columns and "combined_score" not in table.columns


def test_missing_clinical_value_is_imputed_with_a_warning(demo_dir, tables, tmp_path, capsys):
    man, ids = _patients(tables[0].copy())
    clin = tables[1].copy()
    clin.loc[clin["patient_id"] == ids[0], "immune_score"] = np.nan
    manifest, clinical = _write(tmp_path, man, clin)
    code, stdout, err = _cli(capsys, "predict", demo_dir / "model.json", "--manifest", manifest,
                             "--clinical", clinical)
    assert code == 0, err
    assert f"warning: clinical table {clinical}: no 'immune_score' value for patient(s) ['{ids[0]}']" in err


def test_out_folder_missing_is_refused_before_work(demo_dir, tables, tmp_path, capsys):
    man, _ = _patients(tables[0].copy())
    man.to_csv(tmp_path / "manifest.csv", index=False)
    code, _, err = _cli(capsys, "predict", demo_dir / "model.json", "--manifest", tmp_path / "manifest.csv",
                        "--out", tmp_path / "no" / "p.csv")
    assert code == 2 and err.startswith("error: --out") and "does not exist" in err, err


def test_nan_score_gets_no_risk_group():
    from radsig.study.runner import predictions_table

    model = {"name": "m", "link": "cox", "cutoff": {"value": 0.0}}
    table = predictions_table([model], {"m": np.array([1.0, np.nan, -1.0])}, ["a", "b", "c"], "patient_id")
    assert table["m_group"].tolist()[0] == "high" and table["m_group"].tolist()[2] == "low"
    assert pd.isna(table["m_group"].iloc[1])


def test_unreadable_image_is_one_error_line(demo_dir, tables, tmp_path, capsys):
    man, ids = _patients(tables[0].copy())
    (tmp_path / "broken.nii.gz").write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    man.loc[man["modality"] == "CT", "image"] = str(tmp_path / "broken.nii.gz")
    man.to_csv(tmp_path / "manifest.csv", index=False)
    out = tmp_path / "pred.csv"
    code, _, err = _cli(capsys, "predict", demo_dir / "model.json", "--manifest", tmp_path / "manifest.csv",
                        "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: feature extraction failed, nothing was scored: ") and f"{ids[0]} CT" in err
    assert "broken.nii.gz" in err and not out.exists()
