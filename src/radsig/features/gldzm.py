"""IBSI grey level distance zone features (family VMDZ), 2D / 2.5D / 3D aggregation.

Zones are linked on the intensity mask (grey levels); the distance of a zone to the ROI
border is the smallest taxicab distance of its voxels, measured on the morphological mask
(4-connected in-slice for 2D/2.5D, 6-connected in the volume for 3D), border voxels = 1.
"""

from __future__ import annotations

from radsig.features.gldzm_matrix import border_distance, zone_distances
from radsig.features.glszm import zone_family

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
    return zone_family("gldzm", roi, aggregations, distance, NAMES,
                       lambda zones, per_slice, morph: zone_distances(
                           zones, border_distance(morph, per_slice=per_slice)))
