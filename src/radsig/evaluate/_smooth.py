"""Locally weighted linear regression (lowess) for smoothed calibration curves.

Hand-written because statsmodels, which has one, is not a radsig dependency; this is the
no-robustness-iteration variant (as R's ``lowess(iter = 0)`` used for binary outcomes),
evaluated on a grid with array operations.
"""

from __future__ import annotations

import numpy as np


def lowess(x: np.ndarray, y: np.ndarray, grid: np.ndarray, frac: float = 2 / 3) -> np.ndarray:
    """Lowess fit of ``y`` on ``x`` evaluated at ``grid``.

    For each grid point the ``k = frac·n`` nearest observations get tricube weights
    ``(1 − (d/h)³)³`` (``h`` = distance to the k-th nearest) and a weighted straight line is
    fitted.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    n = x.size
    k = min(max(int(frac * n + 1e-10), 2), n)
    out = np.empty(grid.size)
    for start in range(0, grid.size, 256):
        g = grid[start:start + 256, None]
        d = np.abs(x[None, :] - g)
        h = np.partition(d, k - 1, axis=1)[:, k - 1:k]
        h = np.where(h > 0, h, 1.0)
        u = np.clip(d / h, 0, 1)
        w = (1 - u ** 3) ** 3
        sw, swx, swy = w.sum(1), (w * x).sum(1), (w * y).sum(1)
        xm, ym = swx / sw, swy / sw
        sxx = (w * (x[None, :] - xm[:, None]) ** 2).sum(1)
        sxy = (w * (x[None, :] - xm[:, None]) * (y[None, :] - ym[:, None])).sum(1)
        slope = np.divide(sxy, sxx, out=np.zeros_like(sxy), where=sxx > 1e-12 * sw)
        out[start:start + 256] = ym + slope * (g[:, 0] - xm)
    return out
