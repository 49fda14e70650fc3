"""IBSI neighbouring grey level dependence features (family REK0), 2D / 2.5D / 3D.

Matrices come from :func:`radsig.features.ngldm_matrix.ngldm_matrices` (in-slice
neighbourhood per slice for 2D/2.5D, volume neighbourhood for 3D).
"""

from __future__ import annotations

import numpy as np

from radsig.features._texture import crop_to_roi, nan_result, neighbourhood_offsets
from radsig.features._texture_features import (
    ZONE_AGGREGATIONS,
    batch_mean,
    check_aggregations,
    rename,
    rowcol_features,
)
from radsig.features.ngldm_matrix import ngldm_matrices

NAMES = {"se": "ngl_lde", "le": "ngl_hde", "lge": "ngl_lgce", "hge": "ngl_hgce",
         "slge": "ngl_ldlge", "shge": "ngl_ldhge", "llge": "ngl_hdlge", "lhge": "ngl_hdhge",
         "glnu": "ngl_glnu", "glnu_norm": "ngl_glnu_norm", "jnu": "ngl_dcnu",
         "jnu_norm": "ngl_dcnu_norm", "perc": "ngl_dc_perc", "gl_var": "ngl_gl_var",
         "j_var": "ngl_dc_var", "j_entr": "ngl_dc_entr", "j_energy": "ngl_dc_energy"}
TAGS = tuple(NAMES.values())


def ngldm_features(counts: np.ndarray) -> dict[str, float]:
    """Mean over a batch ``(B, N_g, N_d)`` of dependence matrices of the 17 IBSI features.

    ``N_v`` of a matrix is its total count (every ROI voxel has one dependence).
    """
    j = np.arange(1, counts.shape[-1] + 1)
    return batch_mean(rowcol_features(counts, j, counts.sum(axis=(1, 2))))


def compute(roi, *, aggregations=None, distance: int = 1, alpha: float = 0,
            **options) -> dict[str, float]:
    """IBSI NGLDM features of a :class:`~radsig.preprocess.roi.PreparedRoi`.

    Parameters
    ----------
    roi : PreparedRoi
        Uses ``levels`` and ``n_levels``.
    aggregations : sequence of str, optional
        Any of ``2D, 2_5D, 3D`` (default all).
    distance : int
        Chebyshev radius δ of the neighbourhood.
    alpha : float
        Coarseness α: a neighbour is dependent when its grey level differs by at most α.
    **options
        Ignored (other families' options).
    """
    aggs = check_aggregations("ngldm", aggregations, ZONE_AGGREGATIONS)
    names = [f"{t}_{a}" for a in aggs for t in TAGS]
    if roi.levels is None or not np.any(roi.levels > 0):
        return nan_result("NGLDM", names, "the ROI has no voxels")
    (lv,) = crop_to_roi(roi.levels)
    ng = int(roi.n_levels)
    out: dict[str, float] = {}
    if "2D" in aggs or "2_5D" in aggs:
        m2 = ngldm_matrices(lv, ng, neighbourhood_offsets(distance, in_slice=True), alpha=alpha,
                            per_slice=True)
        res = {"2D": ngldm_features(m2), "2_5D": ngldm_features(m2.sum(axis=0)[None])}
        for a in ("2D", "2_5D"):
            if a in aggs:
                out.update(rename(res[a], NAMES, a))
    if "3D" in aggs:
        m3 = ngldm_matrices(lv, ng, neighbourhood_offsets(distance), alpha=alpha)
        out.update(rename(ngldm_features(m3[None]), NAMES, "3D"))
    return {n: out[n] for n in names}
