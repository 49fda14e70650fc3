"""IBSI grey level size zone features (family 9SAK), 2D / 2.5D / 3D aggregation.

Zones come from :func:`radsig.features.glszm_matrix.label_zones` (8-connected in-slice zones
for 2D and 2.5D, 26-connected volume zones for 3D). The matrices keep only the zone sizes
that occur as columns, so a large 3D zone does not make a huge dense matrix.
"""

from __future__ import annotations

import warnings

import numpy as np

from radsig.exceptions import FeatureWarning
from radsig.features._texture import crop_to_roi, nan_result, roi_cached
from radsig.features._texture_features import (
    ZONE_AGGREGATIONS,
    batch_mean,
    check_aggregations,
    rename,
    rowcol_features,
)
from radsig.features.glszm_matrix import Zones, compact_zone_matrix, label_zones

NAMES = {"se": "szm_sze", "le": "szm_lze", "lge": "szm_lgze", "hge": "szm_hgze",
         "slge": "szm_szlge", "shge": "szm_szhge", "llge": "szm_lzlge", "lhge": "szm_lzhge",
         "glnu": "szm_glnu", "glnu_norm": "szm_glnu_norm", "jnu": "szm_zsnu",
         "jnu_norm": "szm_zsnu_norm", "perc": "szm_z_perc", "gl_var": "szm_gl_var",
         "j_var": "szm_zs_var", "j_entr": "szm_zs_entr"}
TAGS = tuple(NAMES.values())


def zone_inputs(roi) -> tuple[np.ndarray, np.ndarray]:
    """Grey levels and morphological mask cropped to the box of both (shared by GLSZM/GLDZM,
    so the zones cached on the ROI line up with the GLDZM distance map)."""
    morph = roi.levels > 0
    if roi.morph_mask is not None:
        morph = morph | np.asarray(roi.morph_mask, dtype=bool)
    _, lv, mm = crop_to_roi(morph, roi.levels, morph)
    return lv, mm


def zone_feature_sets(zones: Zones, values: np.ndarray, n_levels: int,
                      per_slice: bool) -> dict[str, dict[str, float]]:
    """Features of zone matrices with column quantity ``values`` (size or distance per zone).

    Returns ``{"2D": ..., "2_5D": ...}`` when ``per_slice`` (slice matrices averaged, and the
    merged matrix), else ``{"3D": ...}``.
    ``N_v`` is the voxel count of the zones (sum of zone sizes); each dict maps the
    generic keys of :func:`radsig.features._texture_features.rowcol_features` → value.
    """
    m, uniq = compact_zone_matrix(zones, values, n_levels, per_slice=per_slice)
    if per_slice:
        n_vox = np.bincount(zones.z, weights=zones.size, minlength=m.shape[0])
        merged = rowcol_features(m.sum(axis=0)[None], uniq, [n_vox.sum()])
        return {"2D": batch_mean(rowcol_features(m, uniq, n_vox)),
                "2_5D": batch_mean(merged)}
    return {"3D": batch_mean(rowcol_features(m[None], uniq, [zones.size.sum()]))}


def compute(roi, *, aggregations=None, distance: int = 1, **options) -> dict[str, float]:
    """IBSI GLSZM features of a :class:`~radsig.preprocess.roi.PreparedRoi`.

    Parameters
    ----------
    roi : PreparedRoi
        Uses ``levels`` and ``n_levels``.
    aggregations : sequence of str, optional
        Any of ``2D, 2_5D, 3D`` (default all).
    distance : int
        Not used: zones are always linked at distance 1 (8-connected in-slice /
        26-connected volume); another value warns (FeatureWarning).
    **options
        Ignored (other families' options).
    """
    return zone_family("glszm", roi, aggregations, distance, NAMES,
                       lambda zones, per_slice, morph: zones.size)


def zone_family(family: str, roi, aggregations, distance: int, names_map: dict[str, str],
                column_values) -> dict[str, float]:
    """Shared driver of the zone families (GLSZM, GLDZM): zones labelled once per ROI and slice
    mode (cached on the ROI), features of each aggregation from the zone matrices whose column
    quantity is ``column_values(zones, per_slice, morph_mask)`` (zone size or zone distance)."""
    aggs = check_aggregations(family, aggregations, ZONE_AGGREGATIONS)
    names = [f"{t}_{a}" for a in aggs for t in names_map.values()]
    if distance != 1:
        warnings.warn(f"{family}: zones are linked at distance 1 as IBSI defines; "
                      f"distance={distance} applies to GLCM/NGTDM/NGLDM only",
                      FeatureWarning, stacklevel=3)
    if roi.levels is None or not np.any(roi.levels > 0):
        return nan_result(family.upper(), names, "the ROI has no voxels")
    lv, mm = zone_inputs(roi)
    ng = int(roi.n_levels)
    out: dict[str, float] = {}
    for per_slice, wanted in ((True, ("2D", "2_5D")), (False, ("3D",))):
        if not any(a in aggs for a in wanted):
            continue
        zones = roi_cached(roi, ("zones", per_slice),
                           lambda ps=per_slice: label_zones(lv, ng, per_slice=ps))
        sets = zone_feature_sets(zones, column_values(zones, per_slice, mm), ng, per_slice)
        for a in wanted:
            if a in aggs:
                out.update(rename(sets[a], names_map, a))
    return {n: out[n] for n in names}
