"""Intensity histogram features (IBSI family ZVCW) on the discretised grey levels."""

from __future__ import annotations

import numpy as np

from radsig.features._first_order import SHARED_DESCRIPTORS, describe
from radsig.preprocess.roi import PreparedRoi


def _mode(levels: np.ndarray, counts: np.ndarray, mean: float) -> float:
    """Most frequent grey level; among ties, the one closest to the mean (IBSI)."""
    candidates = levels[counts == counts.max()]
    return float(candidates[np.argmin(np.abs(candidates - mean))])


def compute(roi: PreparedRoi, **options) -> dict[str, float]:
    """The 23 IBSI intensity-histogram features of ``roi.levels`` inside ``roi.int_mask``.

    The histogram spans grey levels ``1..N_g`` (empty bins included), which matters for the
    histogram gradient features.
    """
    x = roi.levels[roi.int_mask].astype(np.int64)
    d = describe(x.astype(np.float64))
    out = {f"ih_{k}": d[k] for k in SHARED_DESCRIPTORS}
    n_levels = max(int(roi.n_levels), int(x.max()))
    hist = np.bincount(x, minlength=n_levels + 1)[1:].astype(np.float64)
    grey = np.arange(1, n_levels + 1, dtype=np.float64)
    p = hist / hist.sum()
    nz = p[p > 0]
    out["ih_mode"] = _mode(grey, hist, d["mean"])
    out["ih_entropy"] = float(-np.sum(nz * np.log2(nz)))
    out["ih_uniformity"] = float(np.sum(p * p))
    if n_levels >= 2:
        grad = np.gradient(hist)  # central differences inside, one-sided at both ends
        out["ih_max_grad"] = float(grad.max())
        out["ih_max_grad_g"] = float(grey[np.argmax(grad)])
        out["ih_min_grad"] = float(grad.min())
        out["ih_min_grad_g"] = float(grey[np.argmin(grad)])
    else:
        out.update(ih_max_grad=np.nan, ih_max_grad_g=np.nan, ih_min_grad=np.nan,
                   ih_min_grad_g=np.nan)
    return out
