"""A small stand-in feature extractor used only when ``radsig.features`` is not available.

Why by hand: the study runner must work end to end before (and independently of) the full IBSI
engine; this computes a compact, documented set — intensity statistics, a merged 3D grey-level
co-occurrence matrix and Laplacian-of-Gaussian responses — after resampling to isotropic voxels.
It returns the same long format as :func:`radsig.features.extract_case`. Names follow IBSI tags.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import SimpleITK as sitk
from scipy import stats

DEFAULTS = {"resample_mm": 1.0, "bin_number": 32, "bins_glcm": 24, "log_sigmas_mm": [1.0, 2.0, 3.0]}
_DIRECTIONS = [d for d in itertools.product((-1, 0, 1), repeat=3) if d > (0, 0, 0)]


def _resample(image: sitk.Image, spacing: float, nearest: bool) -> sitk.Image:
    old_sp, old_size = np.array(image.GetSpacing()), np.array(image.GetSize())
    size = [int(round(s)) for s in old_size * old_sp / spacing]
    interp = sitk.sitkNearestNeighbor if nearest else sitk.sitkLinear
    return sitk.Resample(image, size, sitk.Transform(), interp, image.GetOrigin(),
                         (spacing,) * 3, image.GetDirection(), 0.0, image.GetPixelID())


def _first_order(values: np.ndarray, bin_number: int) -> dict[str, float]:
    q10, q25, q75, q90 = np.percentile(values, [10, 25, 75, 90])
    bins = np.floor((values - values.min()) / (np.ptp(values) + 1e-9) * bin_number)
    _, counts = np.unique(bins, return_counts=True)
    p = counts / counts.sum()
    return {
        "stat_mean": values.mean(), "stat_var": values.var(), "stat_skew": stats.skew(values),
        "stat_kurt": stats.kurtosis(values), "stat_median": np.median(values),
        "stat_p10": q10, "stat_p90": q90, "stat_iqr": q75 - q25, "stat_range": np.ptp(values),
        "stat_mad": np.mean(np.abs(values - values.mean())), "stat_cov": values.std() / (abs(values.mean()) + 1e-9),
        "stat_max": values.max(),
        "ih_entropy": float(-(p * np.log2(p)).sum()), "ih_uniformity": float((p**2).sum()),
    }


def _glcm(arr: np.ndarray, roi: np.ndarray, n_bins: int) -> dict[str, float]:
    lo, hi = arr[roi].min(), arr[roi].max()
    q = np.clip(((arr - lo) / (hi - lo + 1e-9) * n_bins).astype(int), 0, n_bins - 1)
    mat = np.zeros((n_bins, n_bins))
    shape = np.array(arr.shape)
    for d in _DIRECTIONS:
        a_sl = tuple(slice(max(0, -k), s - max(0, k)) for k, s in zip(d, shape, strict=False))
        b_sl = tuple(slice(max(0, k), s - max(0, -k)) for k, s in zip(d, shape, strict=False))
        both = roi[a_sl] & roi[b_sl]
        idx = q[a_sl][both] * n_bins + q[b_sl][both]
        mat += np.bincount(idx, minlength=n_bins * n_bins).reshape(n_bins, n_bins)
    mat = mat + mat.T
    p = mat / max(mat.sum(), 1.0)
    i, j = np.indices(p.shape) + 1
    mu_i, mu_j = (i * p).sum(), (j * p).sum()
    sd_i, sd_j = np.sqrt(((i - mu_i) ** 2 * p).sum()), np.sqrt(((j - mu_j) ** 2 * p).sum())
    nz = p[p > 0]
    return {
        "cm_joint_entr_3D_comb": float(-(nz * np.log2(nz)).sum()),
        "cm_energy_3D_comb": float((p**2).sum()),
        "cm_contrast_3D_comb": float(((i - j) ** 2 * p).sum()),
        "cm_inv_diff_3D_comb": float((p / (1 + np.abs(i - j))).sum()),
        "cm_corr_3D_comb": float((((i - mu_i) * (j - mu_j) * p).sum()) / (sd_i * sd_j + 1e-12)),
        "cm_diff_avg_3D_comb": float((np.abs(i - j) * p).sum()),
    }


def extract_basic(image: sitk.Image, mask: sitk.Image, settings: dict | None = None) -> pd.DataFrame:
    """Features of one ROI in the long format of ``radsig.features.extract_case``."""
    opts = {**DEFAULTS, **(settings or {})}
    image = sitk.Cast(image, sitk.sitkFloat32)
    mask.CopyInformation(image)
    img = _resample(image, float(opts["resample_mm"]), nearest=False)
    msk = _resample(sitk.Cast(mask > 0, sitk.sitkUInt8), float(opts["resample_mm"]), nearest=True)
    arr, roi = sitk.GetArrayFromImage(img).astype(float), sitk.GetArrayFromImage(msk) > 0
    values = arr[roi]
    feats: dict[str, tuple[str, float]] = {}
    feats.update({k: ("intensity", v) for k, v in _first_order(values, int(opts["bin_number"])).items()})
    feats["morph_volume"] = ("morphology", float(roi.sum() * float(opts["resample_mm"]) ** 3))
    feats.update({k: ("glcm", v) for k, v in _glcm(arr, roi, int(opts["bins_glcm"])).items()})
    for sigma in opts["log_sigmas_mm"]:
        log = sitk.GetArrayFromImage(sitk.LaplacianRecursiveGaussian(img, sigma=float(sigma)))[roi]
        tag = f"log-sigma-{str(float(sigma)).replace('.', '-')}-mm-3D"
        feats[f"{tag}_stat_mean"] = ("intensity", float(log.mean()))
        feats[f"{tag}_stat_var"] = ("intensity", float(log.var()))
        feats[f"{tag}_stat_mad"] = ("intensity", float(np.mean(np.abs(log - log.mean()))))
    return pd.DataFrame(
        [(k, fam, "", "", float(v)) for k, (fam, v) in feats.items()],
        columns=["feature", "family", "ibsi_code", "aggregation_code", "value"],
    )
