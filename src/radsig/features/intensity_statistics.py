"""Intensity-based statistical features (IBSI family UHIW) on the intensity mask."""

from __future__ import annotations

import numpy as np

from radsig.features._first_order import SHARED_DESCRIPTORS, describe
from radsig.preprocess.roi import PreparedRoi


def compute(roi: PreparedRoi, **options) -> dict[str, float]:
    """The 18 IBSI intensity statistics of the voxels in ``roi.int_mask``.

    Returns
    -------
    dict
        ``stat_mean`` … ``stat_rms`` (keys as the IBSI reference tags).
    """
    x = roi.image[roi.int_mask].astype(np.float64)
    d = describe(x)
    out = {f"stat_{k}": d[k] for k in SHARED_DESCRIPTORS}
    out["stat_energy"] = float(np.sum(x * x))
    out["stat_rms"] = float(np.sqrt(np.mean(x * x)))
    return out
