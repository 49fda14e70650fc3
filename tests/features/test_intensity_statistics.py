"""Intensity statistics against NumPy / SciPy reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from radsig.features import intensity_statistics
from radsig.preprocess.roi import PreparedRoi


def _roi(values: np.ndarray) -> PreparedRoi:
    image = np.zeros((1, 1, values.size + 2))
    image[0, 0, 1:-1] = values
    mask = np.zeros(image.shape, bool)
    mask[0, 0, 1:-1] = True
    return PreparedRoi(image=image, morph_mask=mask, int_mask=mask, spacing=(1.0, 1.0, 1.0))


def test_against_scipy():
    x = np.random.default_rng(4).gamma(2.0, 30.0, 500) - 20
    f = intensity_statistics.compute(_roi(x))
    assert f["stat_mean"] == pytest.approx(x.mean())
    assert f["stat_var"] == pytest.approx(x.var())
    assert f["stat_skew"] == pytest.approx(stats.skew(x))
    assert f["stat_kurt"] == pytest.approx(stats.kurtosis(x))
    assert f["stat_median"] == pytest.approx(np.median(x))
    assert f["stat_iqr"] == pytest.approx(stats.iqr(x))
    assert f["stat_energy"] == pytest.approx(np.sum(x**2))
    assert f["stat_rms"] == pytest.approx(np.sqrt(np.mean(x**2)))
    assert f["stat_cov"] == pytest.approx(x.std() / x.mean())
    p10, p90 = np.percentile(x, [10, 90])
    inner = x[(x >= p10) & (x <= p90)]
    assert f["stat_rmad"] == pytest.approx(np.mean(np.abs(inner - inner.mean())))
    assert f["stat_medad"] == pytest.approx(np.mean(np.abs(x - np.median(x))))
    assert len(f) == 18


def test_constant_roi_has_zero_skewness_and_kurtosis():
    f = intensity_statistics.compute(_roi(np.full(10, 7.0)))
    assert f["stat_skew"] == 0.0 and f["stat_kurt"] == 0.0 and f["stat_range"] == 0.0
