"""Intensity histogram features on a hand-checkable histogram (the IBSI phantom's counts)."""

from __future__ import annotations

import numpy as np
import pytest

from radsig.features import intensity_histogram
from radsig.preprocess.roi import PreparedRoi


def _roi(levels: np.ndarray, n_levels: int) -> PreparedRoi:
    lv = levels.reshape(1, 1, -1).astype(np.int32)
    mask = np.ones(lv.shape, bool)
    return PreparedRoi(image=lv.astype(float), morph_mask=mask, int_mask=mask,
                       spacing=(1.0, 1.0, 1.0), levels=lv, n_levels=n_levels)


def test_phantom_like_histogram():
    # grey levels 1, 3, 4, 6 with counts 50, 1, 16, 7 (levels 2 and 5 empty)
    levels = np.repeat([1, 3, 4, 6], [50, 1, 16, 7])
    f = intensity_histogram.compute(_roi(levels, 6))
    p = np.array([50, 1, 16, 7]) / 74
    assert f["ih_entropy"] == pytest.approx(-np.sum(p * np.log2(p)))
    assert f["ih_uniformity"] == pytest.approx(np.sum(p**2))
    assert f["ih_mode"] == 1
    # gradient of H = [50, 0, 1, 16, 0, 7]: one-sided at the ends, central inside
    assert (f["ih_max_grad"], f["ih_max_grad_g"]) == (8.0, 3.0)
    assert (f["ih_min_grad"], f["ih_min_grad_g"]) == (-50.0, 1.0)
    assert f["ih_mean"] == pytest.approx(levels.mean())
    assert len(f) == 23


def test_mode_tie_goes_to_the_level_closest_to_the_mean():
    f = intensity_histogram.compute(_roi(np.array([1, 1, 2, 5, 5, 5, 9, 9, 9]), 9))
    assert f["ih_mode"] == 5
