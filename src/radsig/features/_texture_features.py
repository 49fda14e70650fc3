"""Feature formulas shared by the GLRLM, GLSZM, GLDZM and NGLDM families, and aggregation.

These four IBSI families use the same set of formulas on a matrix ``M[i, j]`` whose rows are
grey levels ``i = 1..N_g`` and whose columns are a count-like quantity ``j`` (run length,
zone size, zone distance, dependence). Each formula is evaluated on a batch of matrices at
once (shape ``(B, N_g, N_j)``), so averaging over slices/directions costs one call.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from radsig.exceptions import ConfigError
from radsig.features._texture import safe_div

GLCM_AGGREGATIONS = ("2D_avg", "2D_comb", "2_5D_avg", "2_5D_comb", "3D_avg", "3D_comb")
ZONE_AGGREGATIONS = ("2D", "2_5D", "3D")

#: generic key → meaning (rows i, columns j); families rename them to their IBSI tags.
GENERIC_KEYS = ("se", "le", "lge", "hge", "slge", "shge", "llge", "lhge", "glnu", "glnu_norm",
                "jnu", "jnu_norm", "perc", "gl_var", "j_var", "j_entr", "j_energy")


def check_aggregations(family: str, aggregations, allowed: Sequence[str]) -> tuple[str, ...]:
    """Validate the requested aggregation suffixes; ``None`` means all of ``allowed``."""
    aggs = tuple(allowed) if aggregations is None else tuple(aggregations)
    bad = [a for a in aggs if a not in allowed]
    if bad:
        raise ConfigError(f"{family}: unknown aggregation(s) {bad}; allowed: {list(allowed)}")
    return aggs


def rowcol_features(m: np.ndarray, j_values: np.ndarray, n_voxels) -> dict[str, np.ndarray]:
    """IBSI run/zone/dependence features of a batch of matrices.

    Parameters
    ----------
    m : ndarray, shape (B, N_g, N_j)
        Counts; row ``i-1`` is grey level ``i``, column ``c`` has the value ``j_values[c]``.
    j_values : ndarray, shape (N_j,)
        Value of ``j`` (run length, zone size, distance, dependence) of each column.
    n_voxels : array-like, shape (B,)
        ``N_v`` of each matrix (voxels it was built from; for merged matrices the merged sum).

    Returns
    -------
    dict of generic key (see :data:`GENERIC_KEYS`) → ndarray shape (B,); NaN where the
    matrix is empty.
    """
    m = np.asarray(m, dtype=np.float64)
    ng = m.shape[1]
    i = np.arange(1, ng + 1, dtype=np.float64)[None, :, None]
    j = np.asarray(j_values, dtype=np.float64)[None, None, :]
    ns = m.sum(axis=(1, 2))
    p = m / np.where(ns > 0, ns, 1.0)[:, None, None]
    ri = m.sum(axis=2)
    cj = m.sum(axis=1)
    mu_i = (p * i).sum(axis=(1, 2))
    mu_j = (p * j).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    out = {
        "se": (p / j**2).sum(axis=(1, 2)),
        "le": (p * j**2).sum(axis=(1, 2)),
        "lge": (p / i**2).sum(axis=(1, 2)),
        "hge": (p * i**2).sum(axis=(1, 2)),
        "slge": (p / (i**2 * j**2)).sum(axis=(1, 2)),
        "shge": (p * i**2 / j**2).sum(axis=(1, 2)),
        "llge": (p * j**2 / i**2).sum(axis=(1, 2)),
        "lhge": (p * i**2 * j**2).sum(axis=(1, 2)),
        "glnu": safe_div((ri**2).sum(axis=1), ns),
        "glnu_norm": safe_div((ri**2).sum(axis=1), ns**2),
        "jnu": safe_div((cj**2).sum(axis=1), ns),
        "jnu_norm": safe_div((cj**2).sum(axis=1), ns**2),
        "perc": safe_div(ns, n_voxels),
        "gl_var": (p * (i - mu_i[:, None, None]) ** 2).sum(axis=(1, 2)),
        "j_var": (p * (j - mu_j[:, None, None]) ** 2).sum(axis=(1, 2)),
        "j_entr": -plogp.sum(axis=(1, 2)),
        "j_energy": (p**2).sum(axis=(1, 2)),
    }
    empty = ns == 0
    for v in out.values():
        v[empty] = np.nan
    return out


def batch_mean(values: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean of each feature over the batch, ignoring NaN (empty slices/directions)."""
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k, v in values.items():
            out[k] = float(np.nanmean(v)) if np.size(v) else float("nan")
    return out


def rename(values: dict[str, float], names: dict[str, str], suffix: str) -> dict[str, float]:
    """``{f"{names[k]}_{suffix}": v}`` for the generic keys listed in ``names``."""
    return {f"{tag}_{suffix}": float(values[k]) for k, tag in names.items()}
