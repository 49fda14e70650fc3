"""Intensity-volume histogram features (IBSI family P88C).

The IVH intensities, their range G and step w_d come from the preprocessing
(``roi.extra["ivh"]``, see :func:`radsig.preprocess.intensity.ivh_values`).
"""

from __future__ import annotations

import numpy as np

from radsig.preprocess.intensity import ivh_values
from radsig.preprocess.roi import PreparedRoi

_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # NumPy < 2 has only trapz


def _curve(data: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluated intensities X, intensity fractions γ and volume fractions ν."""
    values = np.sort(np.asarray(data["values"], dtype=np.float64))
    low, high, width = float(data["low"]), float(data["high"]), float(data["width"])
    n_steps = int(np.floor((high - low) / width + 1e-9))
    grid = low + width * np.arange(n_steps + 1)
    # ν(X): fraction of voxels with intensity ≥ X (sorted values, one searchsorted)
    nu = 1.0 - np.searchsorted(values, grid - 1e-9 * width, side="left") / values.size
    gamma = (grid - low) / (high - low) if high > low else np.zeros_like(grid)
    return grid, gamma, nu


def _volume_at(gamma: np.ndarray, nu: np.ndarray, fraction: float) -> float:
    """V_x: volume fraction at the lowest intensity whose intensity fraction is ≥ x."""
    ok = np.flatnonzero(gamma >= fraction - 1e-12)
    return float(nu[ok[0]]) if ok.size else 0.0


def _intensity_at(grid: np.ndarray, nu: np.ndarray, fraction: float) -> float:
    """I_x: lowest intensity at which at most a fraction x of the volume remains."""
    ok = np.flatnonzero(nu <= fraction + 1e-12)
    return float(grid[ok[0]]) if ok.size else float(grid[-1] + (grid[1] - grid[0]
                                                                  if grid.size > 1 else 1.0))


def compute(roi: PreparedRoi, **options) -> dict[str, float]:
    """V10, V90, I10, I90, their differences and the area under the IVH curve."""
    data = roi.extra.get("ivh")
    if data is None:
        data = ivh_values(roi.image[roi.int_mask], "none")
    grid, gamma, nu = _curve(data)
    v10, v90 = _volume_at(gamma, nu, 0.10), _volume_at(gamma, nu, 0.90)
    i10, i90 = _intensity_at(grid, nu, 0.10), _intensity_at(grid, nu, 0.90)
    auc = float(_trapezoid(nu, gamma)) if grid.size > 1 else np.nan
    return {"ivh_v10": v10, "ivh_v90": v90, "ivh_i10": i10, "ivh_i90": i90,
            "ivh_diff_v10_v90": v10 - v90, "ivh_diff_i10_i90": i10 - i90, "ivh_auc": auc}
