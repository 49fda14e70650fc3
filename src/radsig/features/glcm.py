"""IBSI grey level co-occurrence features (family LFYI), all six aggregation methods.

Matrices come from :func:`radsig.features.glcm_matrix.glcm_matrices`: the in-slice
per-slice per-direction counts are built once and summed into the slice-merged, direction-
merged and fully merged variants; the 13 volume directions once for 3D.
"""

from __future__ import annotations

import numpy as np

from radsig.features._texture import chebyshev_offsets, crop_to_roi, nan_result, safe_div
from radsig.features._texture_features import (
    GLCM_AGGREGATIONS,
    batch_mean,
    check_aggregations,
)
from radsig.features.glcm_matrix import glcm_matrices

TAGS = ("cm_joint_max", "cm_joint_avg", "cm_joint_var", "cm_joint_entr", "cm_diff_avg",
        "cm_diff_var", "cm_diff_entr", "cm_sum_avg", "cm_sum_var", "cm_sum_entr", "cm_energy",
        "cm_contrast", "cm_dissimilarity", "cm_inv_diff", "cm_inv_diff_norm", "cm_inv_diff_mom",
        "cm_inv_diff_mom_norm", "cm_inv_var", "cm_corr", "cm_auto_corr", "cm_clust_tend",
        "cm_clust_shade", "cm_clust_prom", "cm_info_corr1", "cm_info_corr2")


def _entropy(p: np.ndarray, axes) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0).sum(axis=axes)


def _marginal_features(p, i, j, ng) -> dict[str, np.ndarray]:
    """Features of the diagonal (|i-j|) and cross-diagonal (i+j) marginals."""
    b = p.shape[0]
    diff = np.abs(i - j).astype(np.int64).ravel()
    summ = (i + j).astype(np.int64).ravel()
    flat = p.reshape(b, -1)
    # Marginals of all matrices with one weighted bincount each (batch index folded in the key).
    rows = np.arange(b, dtype=np.int64)[:, None]
    pd = np.bincount((rows * ng + diff).ravel(), weights=flat.ravel(),
                     minlength=b * ng).reshape(b, ng)
    ns = 2 * ng + 1
    ps = np.bincount((rows * ns + summ).ravel(), weights=flat.ravel(),
                     minlength=b * ns).reshape(b, ns)
    kd = np.arange(ng, dtype=float)
    ks = np.arange(2 * ng + 1, dtype=float)
    mu_d = (pd * kd).sum(axis=1)
    mu_s = (ps * ks).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_var = (pd[:, 1:] / kd[1:] ** 2).sum(axis=1)
    return {
        "cm_diff_avg": mu_d,
        "cm_diff_var": (pd * (kd - mu_d[:, None]) ** 2).sum(axis=1),
        "cm_diff_entr": _entropy(pd, 1),
        "cm_sum_avg": mu_s,
        "cm_sum_var": (ps * (ks - mu_s[:, None]) ** 2).sum(axis=1),
        "cm_sum_entr": _entropy(ps, 1),
        "cm_inv_var": inv_var,
    }


def _information_features(p, px, py) -> dict[str, np.ndarray]:
    """Joint entropy and the two informational measures of correlation."""
    hxy = _entropy(p, (1, 2))
    pxy = px[:, :, None] * py[:, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        logpxy = np.where(pxy > 0, np.log2(np.where(pxy > 0, pxy, 1.0)), 0.0)
    hxy1 = -(p * logpxy).sum(axis=(1, 2))
    hxy2 = -(pxy * logpxy).sum(axis=(1, 2))
    return {
        "cm_joint_entr": hxy,
        "cm_info_corr1": safe_div(hxy - hxy1, _entropy(px, 1)),
        "cm_info_corr2": np.sqrt(np.clip(1 - np.exp(-2 * (hxy2 - hxy)), 0, None)),
    }


def glcm_features(counts: np.ndarray) -> dict[str, np.ndarray]:
    """The 25 IBSI GLCM features of a batch of co-occurrence matrices.

    Parameters
    ----------
    counts : ndarray, shape (B, N_g, N_g)
        Co-occurrence counts (normalised here); empty matrices give NaN.

    Returns
    -------
    dict tag → ndarray shape (B,)
    """
    m = np.asarray(counts, dtype=np.float64)
    ng = m.shape[1]
    tot = m.sum(axis=(1, 2))
    p = m / np.where(tot > 0, tot, 1.0)[:, None, None]
    i = np.arange(1, ng + 1, dtype=float)[:, None]
    j = np.arange(1, ng + 1, dtype=float)[None, :]
    px, py = p.sum(axis=2), p.sum(axis=1)
    lv = np.arange(1, ng + 1, dtype=float)
    mu_x, mu_y = (px * lv).sum(1), (py * lv).sum(1)
    sd_x = np.sqrt((px * (lv - mu_x[:, None]) ** 2).sum(1))
    sd_y = np.sqrt((py * (lv - mu_y[:, None]) ** 2).sum(1))
    mu = (p * i).sum(axis=(1, 2))
    dij = np.abs(i - j)
    cl = i + j - (mu_x + mu_y)[:, None, None]
    out = {
        "cm_joint_max": p.max(axis=(1, 2)),
        "cm_joint_avg": mu,
        "cm_joint_var": (p * (i - mu[:, None, None]) ** 2).sum(axis=(1, 2)),
        "cm_energy": (p**2).sum(axis=(1, 2)),
        "cm_contrast": (p * dij**2).sum(axis=(1, 2)),
        "cm_dissimilarity": (p * dij).sum(axis=(1, 2)),
        "cm_inv_diff": (p / (1 + dij)).sum(axis=(1, 2)),
        "cm_inv_diff_norm": (p / (1 + dij / ng)).sum(axis=(1, 2)),
        "cm_inv_diff_mom": (p / (1 + dij**2)).sum(axis=(1, 2)),
        "cm_inv_diff_mom_norm": (p / (1 + dij**2 / ng**2)).sum(axis=(1, 2)),
        "cm_corr": safe_div((p * (i - mu_x[:, None, None]) * (j - mu_y[:, None, None])).sum(axis=(1, 2)),
                            sd_x * sd_y),
        "cm_auto_corr": (p * i * j).sum(axis=(1, 2)),
        "cm_clust_tend": (p * cl**2).sum(axis=(1, 2)),
        "cm_clust_shade": (p * cl**3).sum(axis=(1, 2)),
        "cm_clust_prom": (p * cl**4).sum(axis=(1, 2)),
    }
    out.update(_information_features(p, px, py))
    out.update(_marginal_features(p, np.broadcast_to(i, (ng, ng)), np.broadcast_to(j, (ng, ng)), ng))
    for v in out.values():
        v[tot == 0] = np.nan
    return {t: out[t] for t in TAGS}


def _suffixed(values: dict[str, float], suffix: str) -> dict[str, float]:
    return {f"{k}_{suffix}": v for k, v in values.items()}


def compute(roi, *, aggregations=None, distance: int = 1, **options) -> dict[str, float]:
    """IBSI GLCM features of a :class:`~radsig.preprocess.roi.PreparedRoi`.

    Parameters
    ----------
    roi : PreparedRoi
        Uses ``levels`` and ``n_levels``.
    aggregations : sequence of str, optional
        Any of ``2D_avg, 2D_comb, 2_5D_avg, 2_5D_comb, 3D_avg, 3D_comb`` (default all).
    distance : int
        Chebyshev distance δ of the co-occurring voxel pairs.
    **options
        Ignored (other families' options).

    Returns
    -------
    dict ``<tag>_<aggregation>`` → float; NaN (with a FeatureWarning) when the ROI has no
    voxel pair at that distance.
    """
    aggs = check_aggregations("glcm", aggregations, GLCM_AGGREGATIONS)
    names = [f"{t}_{a}" for a in aggs for t in TAGS]
    if roi.levels is None or not np.any(roi.levels > 0):
        return nan_result("GLCM", names, "the ROI has no voxels")
    (lv,) = crop_to_roi(roi.levels)
    ng = int(roi.n_levels)
    out: dict[str, float] = {}
    if any(a.startswith("2") for a in aggs):
        p2 = glcm_matrices(lv, ng, chebyshev_offsets(distance, in_slice=True), per_slice=True)
        batches = {
            "2D_avg": p2.reshape(-1, ng, ng),
            "2D_comb": p2.sum(axis=1),
            "2_5D_avg": p2.sum(axis=0),
            "2_5D_comb": p2.sum(axis=(0, 1))[None],
        }
        for a in aggs:
            if a in batches:
                out.update(_suffixed(batch_mean(glcm_features(batches[a])), a))
    if any(a.startswith("3D") for a in aggs):
        p3 = glcm_matrices(lv, ng, chebyshev_offsets(distance))
        batches = {"3D_avg": p3, "3D_comb": p3.sum(axis=0)[None]}
        for a in aggs:
            if a in batches:
                out.update(_suffixed(batch_mean(glcm_features(batches[a])), a))
    out = {n: out[n] for n in names}
    if all(np.isnan(v) for v in out.values()):
        return nan_result("GLCM", names, f"no voxel pair at distance {distance} in the ROI")
    return out
