"""First-order descriptors shared by the intensity statistics and histogram families."""

from __future__ import annotations

import numpy as np

#: descriptors shared by both families, in IBSI order (suffixes of ``stat_*`` / ``ih_*`` tags)
SHARED_DESCRIPTORS = ("mean", "var", "skew", "kurt", "median", "min", "p10", "p90", "max", "iqr",
                      "range", "mad", "rmad", "medad", "cov", "qcod")


def moments(x: np.ndarray) -> dict[str, float]:
    """Mean, variance, skewness and excess kurtosis (population definitions, IBSI)."""
    mu = float(x.mean())
    d = x - mu
    m2 = float(np.mean(d * d))
    if m2 <= 0.0:
        skew = kurt = 0.0  # IBSI: a constant ROI has zero skewness and kurtosis
    else:
        skew = float(np.mean(d**3) / m2**1.5)
        kurt = float(np.mean(d**4) / m2**2 - 3.0)
    return {"mean": mu, "var": m2, "skew": skew, "kurt": kurt}


def dispersion(x: np.ndarray, mu: float, var: float) -> dict[str, float]:
    """Percentiles and dispersion measures of *x* (mean *mu*, variance *var*)."""
    p10, p25, median, p75, p90 = np.percentile(x, [10, 25, 50, 75, 90])
    inner = x[(x >= p10) & (x <= p90)]
    rmad = float(np.mean(np.abs(inner - inner.mean()))) if inner.size else np.nan
    sd = float(np.sqrt(var))
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sd / mu if mu != 0 else np.nan
        qcod = float((p75 - p25) / (p75 + p25)) if (p75 + p25) != 0 else np.nan
    return {
        "median": float(median), "min": float(x.min()), "p10": float(p10), "p90": float(p90),
        "max": float(x.max()), "iqr": float(p75 - p25), "range": float(x.max() - x.min()),
        "mad": float(np.mean(np.abs(x - mu))), "rmad": rmad,
        "medad": float(np.mean(np.abs(x - median))), "cov": float(cov), "qcod": qcod,
    }


def describe(x: np.ndarray) -> dict[str, float]:
    """Moments plus dispersion of the 1-D array *x* (not empty)."""
    out = moments(x)
    out.update(dispersion(x, out["mean"], out["var"]))
    return out
