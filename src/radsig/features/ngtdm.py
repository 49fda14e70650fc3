"""IBSI neighbourhood grey tone difference features (family IPET), 2D / 2.5D / 3D.

Matrices (``n_i``, ``s_i``) come from :func:`radsig.features.ngtdm_matrix.ngtdm_matrices`;
2.5D merges the slice matrices by summing ``n_i`` and ``s_i`` and recomputing ``p_i``.
"""

from __future__ import annotations

import numpy as np

from radsig.features._texture import crop_to_roi, nan_result, neighbourhood_offsets, safe_div
from radsig.features._texture_features import ZONE_AGGREGATIONS, batch_mean, check_aggregations
from radsig.features.ngtdm_matrix import ngtdm_matrices

TAGS = ("ngt_coarseness", "ngt_contrast", "ngt_busyness", "ngt_complexity", "ngt_strength")


def ngtdm_features(n: np.ndarray, s: np.ndarray) -> dict[str, np.ndarray]:
    """The 5 IBSI NGTDM features of a batch of matrices.

    Parameters
    ----------
    n, s : ndarray, shape (B, N_g)
        Voxel counts and grey tone difference sums per grey level.

    Returns
    -------
    dict tag → ndarray shape (B,); NaN where ``sum(n) == 0`` or a denominator is 0.
    """
    n = np.asarray(n, dtype=float)
    s = np.asarray(s, dtype=float)
    nvc = n.sum(axis=1)
    p = n / np.where(nvc > 0, nvc, 1.0)[:, None]
    g = np.arange(1, n.shape[1] + 1, dtype=float)
    present = p > 0
    ngp = present.sum(axis=1)
    pair = present[:, :, None] & present[:, None, :]
    dg = g[:, None] - g[None, :]
    pi, pj = p[:, :, None], p[:, None, :]
    ps = p * s
    sum_ps = ps.sum(axis=1)
    sum_s = s.sum(axis=1)
    contrast = safe_div((pi * pj * dg**2).sum(axis=(1, 2)), ngp * (ngp - 1)) * safe_div(sum_s, nvc)
    busy_den = np.where(pair, np.abs(g * p)[:, :, None] - np.abs(g * p)[:, None, :], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        cplx = np.where(pair, np.abs(dg) * (ps[:, :, None] + ps[:, None, :]) / (pi + pj), 0.0)
    strength = np.where(pair, (pi + pj) * dg**2, 0.0).sum(axis=(1, 2))
    out = {
        "ngt_coarseness": safe_div(1.0, sum_ps),
        "ngt_contrast": contrast,
        "ngt_busyness": safe_div(sum_ps, np.abs(busy_den).sum(axis=(1, 2))),
        "ngt_complexity": safe_div(cplx.sum(axis=(1, 2)), nvc),
        "ngt_strength": safe_div(strength, sum_s),
    }
    for v in out.values():
        v[nvc == 0] = np.nan
    return out


def compute(roi, *, aggregations=None, distance: int = 1, **options) -> dict[str, float]:
    """IBSI NGTDM features of a :class:`~radsig.preprocess.roi.PreparedRoi`.

    Parameters
    ----------
    roi : PreparedRoi
        Uses ``levels`` and ``n_levels``.
    aggregations : sequence of str, optional
        Any of ``2D, 2_5D, 3D`` (default all).
    distance : int
        Chebyshev radius δ of the neighbourhood (8 in-slice / 26 volume neighbours for 1).
    **options
        Ignored (other families' options).
    """
    aggs = check_aggregations("ngtdm", aggregations, ZONE_AGGREGATIONS)
    names = [f"{t}_{a}" for a in aggs for t in TAGS]
    if roi.levels is None or not np.any(roi.levels > 0):
        return nan_result("NGTDM", names, "the ROI has no voxels")
    (lv,) = crop_to_roi(roi.levels)
    ng = int(roi.n_levels)
    out: dict[str, float] = {}
    if "2D" in aggs or "2_5D" in aggs:
        n2, s2 = ngtdm_matrices(lv, ng, neighbourhood_offsets(distance, in_slice=True),
                                per_slice=True)
        res = {"2D": batch_mean(ngtdm_features(n2, s2)),
               "2_5D": batch_mean(ngtdm_features(n2.sum(0)[None], s2.sum(0)[None]))}
        for a in ("2D", "2_5D"):
            if a in aggs:
                out.update({f"{k}_{a}": v for k, v in res[a].items()})
    if "3D" in aggs:
        n3, s3 = ngtdm_matrices(lv, ng, neighbourhood_offsets(distance))
        out.update({f"{k}_3D": v for k, v in batch_mean(ngtdm_features(n3[None], s3[None])).items()})
    out = {k: out[k] for k in names}
    if all(np.isnan(v) for v in out.values()):
        return nan_result("NGTDM", names, "no ROI voxel has a neighbour in the ROI")
    return out
