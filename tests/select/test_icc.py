"""ICC against Shrout & Fleiss (1979), ICC filter, perturbation helper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from radsig.exceptions import StatisticsError
from radsig.select import ICCFilter, icc, icc_table, perturb_case, perturbation_features

# Shrout & Fleiss 1979, Table 2: 6 targets rated by 4 judges; published ICC(2,1)=.29, ICC(3,1)=.71
SF = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])


def test_icc_against_shrout_fleiss_table():
    assert icc(SF, "2,1") == pytest.approx(0.2898, abs=5e-4)
    assert icc(SF, "3,1") == pytest.approx(0.7148, abs=5e-4)


def test_icc_filter_keeps_reproducible_features():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(20, 1))
    rows = []
    for r in range(3):
        stable = truth[:, 0] + 0.1 * rng.normal(size=20)
        noisy = truth[:, 0] + 2.0 * rng.normal(size=20)
        rows.append(pd.DataFrame({"case": range(20), "repeat": r, "stable": stable,
                                  "noisy": noisy}))
    repeats = pd.concat(rows)
    table = icc_table(repeats)
    assert table["stable"] > 0.9 and table["noisy"] < 0.5
    X = pd.DataFrame(rng.normal(size=(30, 2)), columns=["noisy", "stable"])
    filt = ICCFilter(repeats=repeats, threshold=0.75).fit(X)
    assert list(filt.get_feature_names_out()) == ["stable"]
    with pytest.raises(StatisticsError, match="no repeated extraction"):
        ICCFilter(repeats=repeats).fit(X.assign(extra=1.0))


def _long(image, mask, settings=None):
    import SimpleITK as sitk

    a = sitk.GetArrayFromImage(image)[sitk.GetArrayFromImage(mask) > 0]
    return pd.DataFrame({"feature": ["stat_mean", "stat_var", "morph_voxels"],
                         "family": "x", "ibsi_code": "", "aggregation_code": "",
                         "value": [a.mean(), a.var(), float(a.size)]})


def test_perturbations_move_mask_and_image_a_little(image_factory):
    import SimpleITK as sitk

    image, mask = image_factory(shape=(20, 22, 24), radius=6)
    img2, m2 = perturb_case(image, mask, rng=np.random.default_rng(0), morphology=False)
    a, b = sitk.GetArrayFromImage(mask) > 0, sitk.GetArrayFromImage(m2) > 0
    dice = 2 * (a & b).sum() / (a.sum() + b.sum())
    assert 0.7 < dice < 1.0
    assert img2.GetSize() == image.GetSize() and img2.GetSpacing() == image.GetSpacing()


def test_perturbation_features_feed_icc(image_factory):
    cases = [perturbation_features(*image_factory(shape=(28, 28, 28), radius=3 + 2 * i, seed=i),
                                   n=3, seed=i, case=f"c{i}", extractor=_long)
             for i in range(4)]
    table = pd.concat(cases)
    assert list(table["repeat"].unique()) == [0, 1, 2, 3]
    values = icc_table(table)
    assert 0.6 < values["morph_voxels"] < 1.0  # ROI sizes differ more than perturbations


def test_perturbation_features_with_the_feature_engine(image_factory):
    image, mask = image_factory(shape=(20, 22, 24), radius=5)
    out = perturbation_features(image, mask, None, n=2, seed=0, case="c0")
    assert len(out) == 3 and out.shape[1] > 10
