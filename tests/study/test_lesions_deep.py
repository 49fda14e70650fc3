"""Deep / habitat features of multi-lesion patients are extracted per lesion and aggregated per
patient exactly like the handcrafted ones (``lesions.aggregate``), in the study and in predict."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from radsig.study import extra_features as xf
from radsig.study import lesions as les
from radsig.study import runner
from radsig.study.examples import examples_dir
from radsig.synth.designs import make_design_cohort


def _value(image: str) -> float:
    """A per-lesion number read off the file name ``<PID>_L<k>_ct.nii.gz``: 100 × patient + k."""
    stem = str(image).rsplit("/", 1)[-1]
    pid, lesion = stem.split("_")[:2]
    return 100.0 * int(pid[3:]) + int(lesion[1:])


def _fake_ibsi(manifest, settings, out, *, id_column, **_):
    wide = pd.DataFrame({"CT_stat_mean": [_value(p) for p in manifest["image"]]},
                        index=pd.Index(manifest[id_column].astype(str), name=id_column))
    return wide, pd.DataFrame(columns=[id_column, "modality", "error"])


def _fake_extra(doc, manifest, out, name, *, id_column, **_):
    wide = pd.DataFrame({"CT_deep_000": [-_value(p) for p in manifest["image"]]},
                        index=pd.Index(manifest[id_column].astype(str), name=id_column))
    return wide, pd.DataFrame(columns=[id_column, "modality", "error"])


@pytest.mark.parametrize("method", ["largest", "max"])
def test_deep_features_aggregated_per_patient_like_handcrafted(tmp_path, monkeypatch, method):
    data = tmp_path / "data"
    make_design_cohort("crlm_ct_survival", data, n_scale=0.12, seed=3)
    spec = yaml.safe_load((examples_dir() / "crlm_ct_survival.yaml").read_text())
    spec["lesions"]["aggregate"] = method
    spec["features"] = {**spec["features"], "settings": "features.yaml"}
    (data / "study.yaml").write_text(yaml.safe_dump(spec))
    shutil.copyfile(examples_dir() / "features.yaml", data / "features.yaml")
    study, cohorts, settings = runner.validate(data / "study.yaml")
    run = runner.StudyRun(study=study, out=tmp_path / "out", settings=settings, data=cohorts)
    monkeypatch.setattr(runner, "extract_with_cohort_engine", _fake_ibsi)
    monkeypatch.setattr(runner, "_fit_extra_families", lambda *a, **k: {"deep": {"CT": {}}})
    monkeypatch.setattr(xf, "extract_extra", _fake_extra)
    assert settings.extractor == "radsig.features"
    runner._extract(run, None)

    man = pd.concat([cd.manifest for cd in cohorts.values()])
    man = man[man["modality"] == "CT"]
    assert man.groupby("patient_id").size().max() > 1  # some patients have several lesions
    vols = {row["patient_id"] + les.SEP + row["lesion"]: les._mask_volume(row["mask"]) for _, row in man.iterrows()}
    for name, feats in run.features.items():
        assert feats["LESIONS_n_lesions"].max() > 1
        for pid, row in feats.iterrows():
            own = {k: v for k, v in vols.items() if k.startswith(pid + les.SEP)}
            values = {k: _value(man.set_index(man["patient_id"] + les.SEP + man["lesion"]).loc[k, "image"]) for k in own}
            if method == "largest":
                expected = values[max(own, key=own.get)]
                assert row["CT_stat_mean"] == expected and row["CT_deep_000"] == -expected, (name, pid)
            else:  # max of each feature separately
                assert row["CT_stat_mean"] == max(values.values())
                assert row["CT_deep_000"] == -min(values.values())
    assert np.isfinite(run.features["training"]["CT_deep_000"]).all()
