"""IBSI grey level run length features (family TP0I), all six aggregation methods.

Matrices come from :func:`radsig.features.glrlm_matrix.glrlm_matrices`; the in-slice
per-slice per-direction counts are built once and summed into the merged variants.
"""

from __future__ import annotations

import numpy as np

from radsig.features._texture import chebyshev_offsets, crop_to_roi, nan_result
from radsig.features._texture_features import (
    GLCM_AGGREGATIONS,
    batch_mean,
    check_aggregations,
    rename,
    rowcol_features,
)
from radsig.features.glrlm_matrix import glrlm_matrices

#: generic formula key → IBSI tag
NAMES = {"se": "rlm_sre", "le": "rlm_lre", "lge": "rlm_lgre", "hge": "rlm_hgre",
         "slge": "rlm_srlge", "shge": "rlm_srhge", "llge": "rlm_lrlge", "lhge": "rlm_lrhge",
         "glnu": "rlm_glnu", "glnu_norm": "rlm_glnu_norm", "jnu": "rlm_rlnu",
         "jnu_norm": "rlm_rlnu_norm", "perc": "rlm_r_perc", "gl_var": "rlm_gl_var",
         "j_var": "rlm_rl_var", "j_entr": "rlm_rl_entr"}
TAGS = tuple(NAMES.values())


def glrlm_features(counts: np.ndarray) -> dict[str, float]:
    """Mean over a batch ``(B, N_g, N_r)`` of run-length matrices of the 16 IBSI features.

    ``N_v`` of each matrix is ``sum_j j * r_ij`` (every ROI voxel lies in exactly one run per
    direction, so merged matrices carry the merged voxel count, as IBSI prescribes).
    """
    j = np.arange(1, counts.shape[-1] + 1)
    n_vox = (counts * j).sum(axis=(1, 2))
    return batch_mean(rowcol_features(counts, j, n_vox))


def compute(roi, *, aggregations=None, distance: int = 1, **options) -> dict[str, float]:
    """IBSI GLRLM features of a :class:`~radsig.preprocess.roi.PreparedRoi`.

    Parameters
    ----------
    roi : PreparedRoi
        Uses ``levels`` and ``n_levels``.
    aggregations : sequence of str, optional
        Any of ``2D_avg, 2D_comb, 2_5D_avg, 2_5D_comb, 3D_avg, 3D_comb`` (default all).
    distance : int
        Accepted for a uniform texture interface; runs always step to the adjacent voxel.
    **options
        Ignored (other families' options).

    Returns
    -------
    dict ``<tag>_<aggregation>`` → float; NaN with a FeatureWarning for an empty ROI.
    """
    aggs = check_aggregations("glrlm", aggregations, GLCM_AGGREGATIONS)
    names = [f"{t}_{a}" for a in aggs for t in TAGS]
    if roi.levels is None or not np.any(roi.levels > 0):
        return nan_result("GLRLM", names, "the ROI has no voxels")
    (lv,) = crop_to_roi(roi.levels)
    ng = int(roi.n_levels)
    out: dict[str, float] = {}
    if any(a.startswith("2") for a in aggs):
        r2 = glrlm_matrices(lv, ng, chebyshev_offsets(1, in_slice=True), per_slice=True)
        nr = r2.shape[-1]
        batches = {"2D_avg": r2.reshape(-1, ng, nr), "2D_comb": r2.sum(axis=1),
                   "2_5D_avg": r2.sum(axis=0), "2_5D_comb": r2.sum(axis=(0, 1))[None]}
        for a in aggs:
            if a in batches:
                out.update(rename(glrlm_features(batches[a]), NAMES, a))
    if any(a.startswith("3D") for a in aggs):
        r3 = glrlm_matrices(lv, ng, chebyshev_offsets(1))
        batches = {"3D_avg": r3, "3D_comb": r3.sum(axis=0)[None]}
        for a in aggs:
            if a in batches:
                out.update(rename(glrlm_features(batches[a]), NAMES, a))
    return {n: out[n] for n in names}
