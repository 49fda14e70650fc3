"""FFT helpers of the IBSI features, on NumPy's pocketfft.

``scipy.fft`` offers the same transforms, but importing it (with ``scipy._lib``'s array-API
layer) costs ≈ 0.1 s of a ≈ 0.4 s one-case ``radsig extract``; NumPy ≥ 2 ships the same C++
pocketfft. What NumPy lacks is written here: the fast-length search and the type-I DCT.
"""

from __future__ import annotations

import numpy as np

__all__ = ["next_fast_len", "rfftn", "irfftn", "dct1n"]


def next_fast_len(n: int) -> int:
    """Smallest 5-smooth integer ``>= n`` (a product of 2, 3 and 5: pocketfft's fast lengths)."""
    n = max(int(n), 1)
    best = None
    p5 = 1
    while p5 < 2 * n:
        p35 = p5
        while p35 < 2 * n:
            m = p35
            while m < n:
                m *= 2
            if best is None or m < best:
                best = m
            p35 *= 3
        p5 *= 5
    return int(best)


def rfftn(a: np.ndarray, sizes) -> np.ndarray:
    """Real N-D FFT of *a* zero-padded to *sizes* (all axes)."""
    return np.fft.rfftn(a, s=tuple(sizes), axes=tuple(range(len(sizes))))


def irfftn(a: np.ndarray, sizes) -> np.ndarray:
    """Inverse of :func:`rfftn` on a grid of *sizes*."""
    return np.fft.irfftn(a, s=tuple(sizes), axes=tuple(range(len(sizes))))


def dct1n(x: np.ndarray) -> np.ndarray:
    """Unnormalised type-I DCT over every axis (``scipy.fft.dctn(x, type=1)``).

    Along an axis of length ``M`` the type-I DCT is the real FFT of the even extension
    ``x_0 .. x_{M-1}, x_{M-2} .. x_1`` (length ``2M - 2``), whose spectrum is real.
    """
    out = np.asarray(x, dtype=np.float64)
    for ax in range(out.ndim):
        m = out.shape[ax]
        if m < 2:
            continue
        inner = np.flip(np.take(out, np.arange(1, m - 1), axis=ax), axis=ax)
        out = np.fft.rfft(np.concatenate([out, inner], axis=ax), axis=ax).real
    return out
