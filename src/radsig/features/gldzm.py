"""IBSI grey level distance zone features (family VMDZ), 2D / 2.5D / 3D aggregation.

Zones are linked on the intensity mask (grey levels); the distance of a zone to the ROI
border is the smallest taxicab distance of its voxels, measured on the morphological mask
(4-connected in-slice for 2D/2.5D, 6-connected in the volume for 3D), border voxels = 1.
"""

from __future__ import annotations

import warnings

import numpy as np

from radsig.exceptions import FeatureWarning
from radsig.features._texture import nan_result, roi_cached
from radsig.features._texture_features import ZONE_AGGREGATIONS, check_aggregations, rename
from radsig.features.gldzm_matrix import border_distance, zone_distances
from radsig.features.glszm import zone_feature_sets, zone_inputs
from radsig.features.glszm_matrix import label_zones

NAMES = {"se": "dzm_sde", "le": "dzm_lde", "lge": "dzm_lgze", "hge": "dzm_hgze",
         "slge": "dzm_sdlge", "shge": "dzm_sdhge", "llge": "dzm_ldlge", "lhge": "dzm_ldhge",
         "glnu": "dzm_glnu", "glnu_norm": "dzm_glnu_norm", "jnu": "dzm_zdnu",
         "jnu_norm": "dzm_zdnu_norm", "perc": "dzm_z_perc", "gl_var": "dzm_gl_var",
         "j_var": "dzm_zd_var", "j_entr": "dzm_zd_entr"}
TAGS = tuple(NAMES.values())


def compute(roi, *, aggregations=None, distance: int = 1, **options) -> dict[str, float]:
    """IBSI GLDZM features of a :class:`~radsig.preprocess.roi.PreparedRoi`.

    Parameters
    ----------
    roi : PreparedRoi
        Uses ``levels``, ``n_levels`` and ``morph_mask`` (``levels > 0`` when it is None).
    aggregations : sequence of str, optional
        Any of ``2D, 2_5D, 3D`` (default all).
    distance : int
        Not used: zones are always linked at distance 1; another value warns.
    **options
        Ignored (other families' options).
    """
    aggs = check_aggregations("gldzm", aggregations, ZONE_AGGREGATIONS)
    names = [f"{t}_{a}" for a in aggs for t in TAGS]
    if distance != 1:
        warnings.warn(f"gldzm: zones are linked at distance 1 as IBSI defines; "
                      f"distance={distance} applies to GLCM/NGTDM/NGLDM only",
                      FeatureWarning, stacklevel=2)
    if roi.levels is None or not np.any(roi.levels > 0):
        return nan_result("GLDZM", names, "the ROI has no voxels")
    lv, mm = zone_inputs(roi)
    ng = int(roi.n_levels)
    out: dict[str, float] = {}
    for per_slice, wanted in ((True, ("2D", "2_5D")), (False, ("3D",))):
        if not any(a in aggs for a in wanted):
            continue
        zones = roi_cached(roi, ("zones", per_slice),
                           lambda ps=per_slice: label_zones(lv, ng, per_slice=ps))
        dist = zone_distances(zones, border_distance(mm, per_slice=per_slice))
        sets = zone_feature_sets(zones, dist, ng, per_slice)
        for a in wanted:
            if a in aggs:
                out.update(rename(sets[a], NAMES, a))
    return {n: out[n] for n in names}
