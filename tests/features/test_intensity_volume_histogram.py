"""Intensity-volume histogram features by their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from radsig.features import intensity_volume_histogram
from radsig.preprocess.intensity import ivh_values
from radsig.preprocess.roi import PreparedRoi


def _roi(values: np.ndarray, ivh: dict) -> PreparedRoi:
    image = values.reshape(1, 1, -1).astype(float)
    mask = np.ones(image.shape, bool)
    return PreparedRoi(image=image, morph_mask=mask, int_mask=mask, spacing=(1.0, 1.0, 1.0),
                       extra={"ivh": ivh})


def test_discrete_case_on_phantom_values():
    values = np.repeat([1.0, 3.0, 4.0, 6.0], [50, 1, 16, 7])
    f = intensity_volume_histogram.compute(_roi(values, ivh_values(values, "none")))
    # V10: lowest level with intensity fraction >= 0.1 is 2 -> fraction of voxels >= 2
    assert f["ivh_v10"] == pytest.approx(24 / 74)
    assert f["ivh_v90"] == pytest.approx(7 / 74)
    # I10: lowest level where at most 10 % of the volume remains (levels >= 5: 7/74)
    assert f["ivh_i10"] == 5.0 and f["ivh_i90"] == 2.0
    assert f["ivh_diff_i10_i90"] == 3.0
    assert 0.0 < f["ivh_auc"] < 1.0


def test_volume_fraction_is_monotone_in_fbn_case():
    values = np.random.default_rng(5).normal(size=2000)
    data = ivh_values(values, "fbn", bin_number=100)
    f = intensity_volume_histogram.compute(_roi(values, data))
    assert 1 <= f["ivh_i90"] <= f["ivh_i10"] <= 100
    assert f["ivh_v10"] >= f["ivh_v90"]
