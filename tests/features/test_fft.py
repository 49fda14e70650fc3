"""NumPy FFT helpers against scipy.fft (what they replace in the IBSI features)."""

from __future__ import annotations

import numpy as np
import scipy.fft

from radsig.features._fft import dct1n, irfftn, next_fast_len, rfftn


def test_next_fast_len_equals_scipy():
    for n in range(1, 5000):
        assert next_fast_len(n) == scipy.fft.next_fast_len(n, real=True), n


def test_type_one_dct_equals_scipy():
    rng = np.random.default_rng(0)
    for shape in [(2,), (5,), (7, 9, 12), (2, 3, 17), (33, 2, 4)]:
        x = rng.normal(size=shape)
        np.testing.assert_allclose(dct1n(x), scipy.fft.dctn(x, type=1), rtol=1e-12, atol=1e-12)


def test_padded_real_transforms_equal_scipy():
    x = np.random.default_rng(1).normal(size=(6, 7, 9))
    sizes = (8, 9, 10)
    np.testing.assert_allclose(rfftn(x, sizes), scipy.fft.rfftn(x, sizes), atol=1e-12)
    np.testing.assert_allclose(irfftn(rfftn(x, sizes), sizes)[:6, :7, :9], x, atol=1e-12)
