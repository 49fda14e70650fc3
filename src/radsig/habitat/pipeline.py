"""Habitat features of a case: voxel maps → training-fitted habitats → fractions, ITH and per-habitat IBSI."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import SimpleITK as sitk

from radsig._typing import PathLike
from radsig.exceptions import FeatureWarning
from radsig.habitat.clustering import HabitatClusterer
from radsig.habitat.ith import habitat_features
from radsig.habitat.local_maps import voxel_features

#: families computed on each habitat by default (cheap and meaningful on small subregions)
HABITAT_FAMILIES = ("intensity_statistics",)


def fit_habitats(cases: Sequence[tuple[Mapping[str, sitk.Image], sitk.Image]], *, radius_mm: float = 3.0,
                 **clusterer_params) -> HabitatClusterer:
    """Fit habitats on the *training* cases only (each a ``(images, mask)`` pair)."""
    mats = [voxel_features(images, mask, radius_mm=radius_mm)[0] for images, mask in cases]
    model = HabitatClusterer(**clusterer_params).fit(mats)
    model.radius_mm_ = radius_mm
    return model


def label_map(images: Mapping[str, sitk.Image], mask: sitk.Image, model: HabitatClusterer, *,
              case: str | None = None) -> sitk.Image:
    """Habitat map on the mask's grid: 1..k inside the ROI, 0 outside (viewable as a label map)."""
    X, geo = voxel_features(images, mask, radius_mm=getattr(model, "radius_mm_", 3.0), case=case)
    labels = model.predict(X)
    full = np.zeros(geo["shape"], dtype=np.uint8)
    box = np.zeros(geo["mask"].shape, dtype=np.uint8)
    box[geo["mask"]] = labels + 1
    full[geo["bbox"]] = box
    out = sitk.GetImageFromArray(full)
    out.CopyInformation(mask)
    return out


def habitat_case(images: Mapping[str, sitk.Image], mask: sitk.Image, model: HabitatClusterer, *,
                 settings=None, families: Sequence[str] = HABITAT_FAMILIES, case: str | None = None,
                 write_map: PathLike | None = None) -> dict[str, float]:
    """Habitat features of one case with a fitted *model*.

    Returns fractions, subregion counts and ITH scores (:func:`habitat_features`) plus, for each
    habitat and modality, the IBSI *families* computed on that habitat (``hab1_CT_stat_mean``…;
    missing with a warning when a habitat is absent from this tumour).
    """
    from radsig.config import load_settings
    from radsig.features import extract_case, to_wide

    hmap = label_map(images, mask, model, case=case)
    if write_map is not None:
        sitk.WriteImage(hmap, str(write_map), useCompression=True)
    arr = sitk.GetArrayFromImage(hmap).astype(int) - 1
    feats = habitat_features(arr, model.k_)
    base = load_settings(settings)
    sub_settings = base.replace(families=list(families))
    for h in range(model.k_):
        sub = sitk.Cast(hmap == (h + 1), sitk.sitkUInt8)
        if not sitk.GetArrayViewFromImage(sub).any():
            warnings.warn(f"{case or 'case'}: habitat {h + 1} absent; its IBSI features are missing",
                          FeatureWarning, stacklevel=2)
            continue
        for modality, image in images.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FeatureWarning)
                wide = to_wide(extract_case(image, sub, sub_settings, case=case))
            feats.update({f"hab{h}_{modality}_{k}": v for k, v in wide.items()})
    return feats
