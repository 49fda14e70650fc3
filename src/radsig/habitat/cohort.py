"""Habitat features as an ordinary feature family of the cohort engine.

:func:`fit_habitat_model` fits the habitats on the **training** cases only and returns a
JSON-serialisable model; :func:`habitat_extractor` (cohort-engine signature) applies it to any
case. The model's parameters are part of the settings, so the cache keys on them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from radsig.exceptions import ConfigError
from radsig.habitat.clustering import HabitatClusterer
from radsig.habitat.pipeline import HABITAT_FAMILIES, fit_habitats, habitat_case


def _load(row, case: str):
    from radsig.io import read_image, read_mask

    label = getattr(row, "label", None)
    roi = getattr(row, "roi", None)
    image = read_image(row.image, case=case)
    mask = read_mask(row.mask, image, label=None if pd.isna(label) else int(label),
                     roi=roi if isinstance(roi, str) else None, case=case)
    return image, mask


def fit_habitat_model(training_cases: pd.DataFrame, *, radius_mm: float = 3.0, **params) -> dict:
    """Fit habitats on the training manifest rows; returns the model as a JSON-able dict."""
    cases = [({"img": img}, m) for img, m in (_load(r, str(r.patient_id))
                                              for r in training_cases.itertuples(index=False))]
    model = fit_habitats(cases, radius_mm=radius_mm, **params)
    return {"model": model.to_dict(), "radius_mm": radius_mm}


def habitat_settings(model: dict, *, ibsi=None, families=HABITAT_FAMILIES, maps_dir=None) -> dict:
    """Settings for :func:`habitat_extractor`."""
    return {"model": model, "ibsi": ibsi, "families": list(families),
            "maps_dir": str(maps_dir) if maps_dir else None}


def habitat_extractor(image, mask, settings: dict, *, label=None, roi=None, case=None) -> pd.DataFrame:
    """Per-case extractor: habitat fractions, ITH scores and per-habitat IBSI features (long table)."""
    from radsig.io import binarise_mask, read_image, read_mask

    if not isinstance(settings, dict) or "model" not in settings:
        raise ConfigError("habitat_extractor needs settings from habitat_settings(fit_habitat_model(...))")
    model = HabitatClusterer.from_dict(settings["model"]["model"])
    model.radius_mm_ = settings["model"]["radius_mm"]
    img = read_image(image, case=case) if isinstance(image, (str, Path)) else image
    msk = (read_mask(mask, img, label=label, roi=roi, case=case) if isinstance(mask, (str, Path))
           else binarise_mask(mask, img, label=label, case=case))
    write = None
    if settings.get("maps_dir"):
        Path(settings["maps_dir"]).mkdir(parents=True, exist_ok=True)
        write = Path(settings["maps_dir"]) / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', case or 'case')}_habitats.nii.gz"
    feats = habitat_case({"img": img}, msk, model, settings=settings.get("ibsi"),
                         families=settings.get("families", HABITAT_FAMILIES), case=case, write_map=write)
    names = [k.replace("_img_", "_") for k in feats]
    return pd.DataFrame({"feature": names, "family": "habitat", "ibsi_code": "",
                         "aggregation_code": "", "value": [float(v) for v in feats.values()]})
