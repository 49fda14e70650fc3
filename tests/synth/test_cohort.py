"""The synthetic demo cohort: sizes, centres, files, planted links and the negative control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from radsig.exceptions import ConfigError
from radsig.synth import COHORTS, make_demo_cohort
from radsig.synth.cohort import _patients


def test_cohort_files_and_structure(tmp_path):
    cohort = make_demo_cohort(tmp_path, n=60, seed=3)
    assert set(cohort.manifests) == {c[0] for c in COHORTS}
    clin = pd.concat([pd.read_csv(p) for p in cohort.clinical.values()])
    assert len(clin) == cohort.n_patients >= 60
    assert clin["patient_id"].is_unique
    assert clin["centre"].nunique() >= 3
    assert set(pd.read_csv(cohort.clinical["external"])["centre"]) == {"C"}
    for col in ("response", "os_months", "os_event", "pfs_months", "pfs_event", "immune_score", "phenotype"):
        assert clin[col].notna().all()
    assert 0 < clin["os_event"].mean() < 1  # some censoring
    assert (clin["pfs_months"] <= clin["os_months"] + 1e-9).all()
    man = pd.read_csv(cohort.manifests["training"])
    assert set(man["modality"]) == {"CT", "PET"}
    ct = sitk.ReadImage(str(tmp_path / man["image"][0]))
    mask = sitk.ReadImage(str(tmp_path / man["mask"][0]))
    assert ct.GetSize() == mask.GetSize()
    assert sitk.GetArrayFromImage(mask).sum() > 50


def test_same_seed_same_cohort(tmp_path):
    a = make_demo_cohort(tmp_path / "a", n=48, seed=5)
    b = make_demo_cohort(tmp_path / "b", n=48, seed=5)
    pd.testing.assert_frame_equal(pd.read_csv(a.clinical["training"]), pd.read_csv(b.clinical["training"]))


def test_scanners_differ_between_centres(tmp_path):
    cohort = make_demo_cohort(tmp_path, n=60, seed=1)
    spacing = {}
    for name in ("training", "external"):
        man = pd.read_csv(cohort.manifests[name])
        spacing[name] = sitk.ReadImage(str(tmp_path / man["image"][0])).GetSpacing()[0]
    assert spacing["external"] == pytest.approx(1.5)
    assert spacing["training"] in (1.0, 1.25)


@pytest.mark.parametrize("negative_control, linked", [(False, True), (True, False)])
def test_phenotype_image_link(negative_control, linked):
    df = _patients(np.random.default_rng(0), 4000, negative_control)
    r = np.corrcoef(df["_s"], df["_z"])[0, 1]
    assert (r > 0.8) if linked else (abs(r) < 0.06)
    # outcome links are planted in both variants
    assert df.groupby("phenotype")["response"].mean()["inflamed"] > 0.6
    assert df.groupby("phenotype")["response"].mean()["desert"] < 0.4
    assert 0.3 < np.corrcoef(df["immune_score"], df["_z"])[0, 1] < 0.7


def test_too_small_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="n=10"):
        make_demo_cohort(tmp_path, n=10)


def test_negative_control_keeps_the_images(tmp_path):
    """Same seed: the negative control writes byte-identical images (a shared feature cache serves
    it), while its outcomes no longer follow the images."""
    a = make_demo_cohort(tmp_path / "a", n=48, seed=5)
    b = make_demo_cohort(tmp_path / "b", n=48, seed=5, negative_control=True)
    for name in a.manifests:
        man = pd.read_csv(a.manifests[name])
        assert man.equals(pd.read_csv(b.manifests[name]))
        for rel in set(man["image"]) | set(man["mask"]):
            assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    clin_a, clin_b = (pd.read_csv(c.clinical["training"]) for c in (a, b))
    assert not clin_a["phenotype"].equals(clin_b["phenotype"])
