"""Perturbed re-extractions for the ICC filter: noise, small rigid motion, mask erosion/dilation.

Each perturbation is a random draw of: additive Gaussian noise (``noise_sd`` × the ROI's
intensity SD), a rotation about the ROI centroid (uniform in ±``max_rotation_deg`` about each
axis), a translation (uniform in ±``max_translation_mm``), and a one-voxel binary erosion or
dilation of the mask (or none). Image and mask move together; features then come from the
feature engine (``radsig.features.extract_case``), so the ICC reflects the whole pipeline.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd


def _rigid(image, centre, angles_rad, shift_mm):
    import SimpleITK as sitk

    tx = sitk.Euler3DTransform()
    tx.SetCenter(centre)
    tx.SetRotation(*angles_rad)
    tx.SetTranslation(shift_mm)
    return tx


def perturb_case(image, mask, *, rng: np.random.Generator, noise_sd: float = 0.1,
                 max_rotation_deg: float = 5.0, max_translation_mm: float = 1.0,
                 morphology: bool = True):
    """One random perturbation of an (image, mask) pair of SimpleITK images.

    Returns
    -------
    (SimpleITK.Image, SimpleITK.Image)
        Perturbed image (float32) and binary UInt8 mask on the original grid.
    """
    import SimpleITK as sitk

    m = sitk.Cast(mask > 0, sitk.sitkUInt8)
    arr = sitk.GetArrayFromImage(image).astype(np.float32)
    roi = arr[sitk.GetArrayFromImage(m) > 0]
    sd = float(roi.std()) if roi.size > 1 else 1.0
    noisy = sitk.GetImageFromArray(arr + rng.normal(0.0, noise_sd * sd, arr.shape).astype(np.float32))
    noisy.CopyInformation(image)
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(m)
    centre = stats.GetCentroid(1)
    angles = np.deg2rad(rng.uniform(-max_rotation_deg, max_rotation_deg, 3))
    shift = rng.uniform(-max_translation_mm, max_translation_mm, 3)
    tx = _rigid(image, centre, angles.tolist(), shift.tolist())
    fill = float(arr.min())
    out_img = sitk.Resample(noisy, image, tx, sitk.sitkLinear, fill, sitk.sitkFloat32)
    out_mask = sitk.Resample(m, image, tx, sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    if morphology:
        op = rng.integers(0, 3)  # 0 none, 1 erode, 2 dilate
        if op == 1:
            eroded = sitk.BinaryErode(out_mask, [1, 1, 1])
            out_mask = eroded if sitk.GetArrayViewFromImage(eroded).any() else out_mask
        elif op == 2:
            out_mask = sitk.BinaryDilate(out_mask, [1, 1, 1])
    return out_img, out_mask


def perturbation_features(image, mask, settings=None, *, n: int = 5, seed: int = 0,
                          case: str = "case", extractor: Callable | None = None,
                          **perturb_options) -> pd.DataFrame:
    """Features of the original and ``n`` perturbed versions of one case (wide, one row each).

    Parameters
    ----------
    image, mask : SimpleITK.Image or path
    settings : feature settings passed to the extractor
    n : int
        Number of perturbations (repeat 0 is the unperturbed case).
    seed : int
        Seeds the perturbations (per case: combine with a case index for a cohort).
    case : str
        Case id written to the ``case`` column.
    extractor : callable, optional
        ``extractor(image, mask, settings) -> long DataFrame`` (columns ``feature``, ``value``);
        defaults to :func:`radsig.features.extract_case`.
    **perturb_options
        Passed to :func:`perturb_case`.

    Returns
    -------
    DataFrame
        Columns ``case``, ``repeat`` and one column per feature; feed several cases
        (``pd.concat``) to :class:`radsig.select.ICCFilter` or :func:`radsig.select.icc_table`.
    """
    from radsig import features

    if not hasattr(image, "GetSize") or not hasattr(mask, "GetSize"):
        from radsig.io import read_image, read_mask

        image = image if hasattr(image, "GetSize") else read_image(image, case=case)
        mask = mask if hasattr(mask, "GetSize") else read_mask(mask, image, case=case)
    extract = extractor or (lambda im, ma, s: features.extract_case(im, ma, s, case=case))
    to_wide = getattr(features, "to_wide", None) or (
        lambda df: dict(zip(df["feature"], df["value"], strict=True)))
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n + 1):
        im, ma = (image, mask) if r == 0 else perturb_case(image, mask, rng=rng, **perturb_options)
        rows.append({"case": case, "repeat": r, **to_wide(extract(im, ma, settings))})
    return pd.DataFrame(rows)
