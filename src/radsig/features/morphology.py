"""IBSI morphological features (family HCUG), computed in 3D on the whole ROI (DHQ4).

Representations, as the IBSI manual defines them:

- the ROI **mesh** (marching cubes at iso-level 0.5 on the zero-padded morphological mask, in
  mm) gives volume, area, the convex hull, the maximum diameter and the bounding volumes;
- the **voxel centres** of the morphological mask give the voxel-counting volume, the PCA axes
  and the geometric centre of mass;
- the **intensity mask** gives integrated intensity, the intensity-weighted centre of mass and
  Moran's I / Geary's C.

Volume densities without IBSI reference values (OMBB, MVEE) use the approximations documented
in :mod:`radsig.features._mesh`.
"""

from __future__ import annotations

import warnings

import numpy as np

from radsig.exceptions import FeatureWarning
from radsig.features._autocorrelation import moran_geary
from radsig.features._mesh import (
    convex_hull,
    ellipsoid_area,
    max_diameter,
    mvee_semi_axes,
    oriented_min_box,
    roi_mesh,
)
from radsig.preprocess.roi import PreparedRoi

FEATURES = (
    "morph_volume", "morph_vol_approx", "morph_area_mesh", "morph_av", "morph_comp_1",
    "morph_comp_2", "morph_sph_dispr", "morph_sphericity", "morph_asphericity", "morph_com",
    "morph_diam", "morph_pca_maj_axis", "morph_pca_min_axis", "morph_pca_least_axis",
    "morph_pca_elongation", "morph_pca_flatness", "morph_vol_dens_aabb", "morph_area_dens_aabb",
    "morph_vol_dens_ombb", "morph_area_dens_ombb", "morph_vol_dens_aee", "morph_area_dens_aee",
    "morph_vol_dens_mvee", "morph_area_dens_mvee", "morph_vol_dens_conv_hull",
    "morph_area_dens_conv_hull", "morph_integ_int", "morph_moran_i", "morph_geary_c",
)


def _nan_result(reason: str) -> dict[str, float]:
    warnings.warn(f"morphology features not computed: {reason}; reported as missing (NaN)",
                  FeatureWarning, stacklevel=3)
    return dict.fromkeys(FEATURES, float("nan"))


def _voxel_centres(mask: np.ndarray, spacing: np.ndarray) -> np.ndarray:
    """World positions (mm, relative to voxel [0,0,0]) of the true voxels, shape (n, 3)."""
    return np.argwhere(mask) * spacing


def _shape_features(volume: float, area: float) -> dict[str, float]:
    """Features of volume ``V`` and area ``A`` only (compactness, sphericity...)."""
    v, a = volume, area
    sph = (36.0 * np.pi * v**2) ** (1.0 / 3.0)
    return {
        "morph_av": a / v,
        "morph_comp_1": v / (np.sqrt(np.pi) * a**1.5),
        "morph_comp_2": 36.0 * np.pi * v**2 / a**3,
        "morph_sph_dispr": a / sph,
        "morph_sphericity": sph / a,
        "morph_asphericity": (a**3 / (36.0 * np.pi * v**2)) ** (1.0 / 3.0) - 1.0,
    }


def _pca_features(points: np.ndarray, volume: float, area: float) -> dict[str, float]:
    """Axis lengths, elongation, flatness and approximate-enclosing-ellipsoid densities.

    The covariance of the voxel centres uses the unbiased (n - 1) normalisation, as the PCA of
    a point sample in statistics software does.
    """
    if len(points) < 2:
        lam = np.zeros(3)
    else:
        lam = np.clip(np.sort(np.linalg.eigvalsh(np.cov(points, rowvar=False)))[::-1], 0.0, None)
    a, b, c = 2.0 * np.sqrt(lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "morph_pca_maj_axis": 2.0 * a,
            "morph_pca_min_axis": 2.0 * b,
            "morph_pca_least_axis": 2.0 * c,
            "morph_pca_elongation": float(np.sqrt(lam[1] / lam[0])),
            "morph_pca_flatness": float(np.sqrt(lam[2] / lam[0])),
            "morph_vol_dens_aee": volume / (4.0 * np.pi * a * b * c / 3.0),
            "morph_area_dens_aee": area / ellipsoid_area(a, b, c),
        }


def _hull_features(vertices: np.ndarray, spacing: np.ndarray, volume: float,
                   area: float) -> dict[str, float]:
    """Diameter and the bounding-volume densities (AABB, OMBB, MVEE, convex hull).

    The mesh vertices lie on the half-voxel lattice (iso-level 0.5 on a binary mask), which
    lets :func:`convex_hull` compute the hull exactly.
    """
    span = np.ptp(vertices, axis=0)
    out = {
        "morph_vol_dens_aabb": volume / float(np.prod(span)),
        "morph_area_dens_aabb": area / (2.0 * float(span[0] * span[1] + span[1] * span[2]
                                                     + span[0] * span[2])),
    }
    hull = convex_hull(vertices, step=spacing / 2.0)
    if hull is None:
        out["morph_diam"] = max_diameter(vertices)
        for key in ("ombb", "mvee", "conv_hull"):
            out[f"morph_vol_dens_{key}"] = out[f"morph_area_dens_{key}"] = float("nan")
        return out
    hull_pts = vertices[hull.vertices]
    out["morph_diam"] = max_diameter(hull_pts)
    out["morph_vol_dens_conv_hull"] = volume / float(hull.volume)
    out["morph_area_dens_conv_hull"] = area / float(hull.area)
    box_volume, box_area = oriented_min_box(hull)
    out["morph_vol_dens_ombb"] = volume / box_volume
    out["morph_area_dens_ombb"] = area / box_area
    a, b, c = mvee_semi_axes(hull_pts)
    out["morph_vol_dens_mvee"] = volume / (4.0 * np.pi * a * b * c / 3.0)
    out["morph_area_dens_mvee"] = area / ellipsoid_area(a, b, c)
    return out


def _intensity_features(roi: PreparedRoi, spacing: np.ndarray, volume: float,
                        morph_points: np.ndarray) -> dict[str, float]:
    """Integrated intensity, centre-of-mass shift, Moran's I and Geary's C (intensity mask)."""
    int_mask = np.asarray(roi.int_mask, dtype=bool)
    if not int_mask.any():
        warnings.warn("intensity-based morphological features (integrated intensity, centre of "
                      "mass shift, Moran's I, Geary's C) not computed: the intensity mask is "
                      "empty; reported as missing (NaN)", FeatureWarning, stacklevel=3)
        return {"morph_integ_int": float("nan"), "morph_com": float("nan"),
                "morph_moran_i": float("nan"), "morph_geary_c": float("nan")}
    values = np.asarray(roi.image, dtype=np.float64)[int_mask]
    points = _voxel_centres(int_mask, spacing)
    total = float(values.sum())
    com_geom = morph_points.mean(axis=0)
    com_gl = (points * values[:, None]).sum(axis=0) / total if total != 0 else np.full(3, np.nan)
    moran, geary = moran_geary(roi.image, int_mask, tuple(spacing))
    return {
        "morph_integ_int": volume * float(values.mean()),
        "morph_com": float(np.linalg.norm(com_geom - com_gl)),
        "morph_moran_i": moran,
        "morph_geary_c": geary,
    }


def mask_features(morph_mask: np.ndarray, spacing) -> dict | None:
    """The features of the morphological mask alone (mesh, volumes, hull, diameter, bounding
    volumes, PCA), with the mesh volume and the voxel centres the intensity part needs under
    ``"_volume"`` and ``"_points"``; None for an empty mask. Computable before the image is
    read (see :func:`radsig.preprocess.pipeline.morphological_mask`)."""
    morph_mask = np.asarray(morph_mask, dtype=bool)
    if not morph_mask.any():
        return None
    spacing = np.asarray(spacing, dtype=np.float64)
    mesh = roi_mesh(morph_mask, tuple(spacing))
    volume, area = mesh.volume, mesh.area
    morph_points = _voxel_centres(morph_mask, spacing)
    out: dict = {
        "morph_volume": volume,
        "morph_vol_approx": float(morph_mask.sum() * np.prod(spacing)),
        "morph_area_mesh": area,
    }
    out.update(_shape_features(volume, area))
    out.update(_pca_features(morph_points, volume, area))
    out.update(_hull_features(mesh.vertices, spacing, volume, area))
    out["_volume"], out["_points"] = volume, morph_points
    return out


def compute(roi: PreparedRoi, **options) -> dict[str, float]:
    """IBSI morphological features of a prepared ROI.

    Parameters
    ----------
    roi : PreparedRoi
        Image, morphological and intensity masks (``(z, y, x)``) and spacing in mm. Its
        ``extra["morphology_mask"]``, if present, is ``(morph_mask, spacing, mask_features(...))``
        computed earlier (before the image was read); used when it is this ROI's mask.
    **options
        Accepted for the common family interface; morphology has no options.

    Returns
    -------
    dict of str to float
        Keyed by the IBSI tags (``morph_volume`` …); NaN with a ``FeatureWarning`` when the
        morphological mask is empty.
    """
    morph_mask = np.asarray(roi.morph_mask, dtype=bool)
    spacing = np.asarray(roi.spacing, dtype=np.float64)
    early = roi.extra.get("morphology_mask")
    if (early is not None and (early[0] is morph_mask or (early[0].shape == morph_mask.shape
                                                         and np.array_equal(early[0], morph_mask)))
            and np.array_equal(np.asarray(early[1], dtype=np.float64), spacing)):
        out = early[2]
    else:
        out = mask_features(morph_mask, spacing)
    if out is None:
        return _nan_result("the morphological mask is empty")
    out = dict(out)
    volume, morph_points = out.pop("_volume"), out.pop("_points")
    out.update(_intensity_features(roi, spacing, volume, morph_points))
    return {key: float(out[key]) for key in FEATURES}
