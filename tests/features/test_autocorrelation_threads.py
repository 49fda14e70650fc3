"""Moran's I / Geary's C do not depend on the BLAS thread count (cohort workers run with one
BLAS thread, a Dask worker with several: the tables must be equal)."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from radsig.features._autocorrelation import moran_geary


def test_same_bits_with_one_or_two_blas_threads():
    rng = np.random.default_rng(5)
    img = rng.normal(size=(36, 60, 64))
    mask = np.zeros(img.shape, bool)
    mask[2:34, 4:56, 3:60] = rng.random((32, 52, 57)) > 0.1
    with threadpool_limits(1):
        one = moran_geary(img, mask, (2.5, 0.8, 0.8))
    with threadpool_limits(2):
        two = moran_geary(img, mask, (2.5, 0.8, 0.8))
    assert one == two
    # and the value is the direct pair sum's (brute force on a small ROI)
    small = np.zeros(img.shape, bool)
    small[10:13, 20:26, 30:35] = True
    pts = np.argwhere(small) * np.array([2.5, 0.8, 0.8])
    x = img[small]
    d = np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))
    w = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)
    y = x - x.mean()
    moran = x.size / w.sum() * (w * np.outer(y, y)).sum() / (y ** 2).sum()
    geary = (x.size - 1) / (2 * w.sum()) * (w * (x[:, None] - x[None]) ** 2).sum() / (y ** 2).sum()
    got = moran_geary(img, small, (2.5, 0.8, 0.8))
    assert np.allclose(got, (moran, geary), rtol=1e-10, atol=1e-13)
