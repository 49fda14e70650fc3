"""Deep features as an ordinary feature family of the cohort engine.

Two steps, so nothing is fitted outside training: :func:`train_deep_model` trains (or takes)
the weights on the *training* cases' crops and writes them as NPZ + JSON; then
:func:`deep_extractor` — a per-case extractor for :func:`radsig.cohort.extract_cohort` —
turns each case into ``deep_000…`` features. The weights' checksum is part of the settings,
so the cohort cache never mixes features of different networks.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from radsig._typing import PathLike
from radsig.deep.crops import CropSpec, roi_crop
from radsig.exceptions import ConfigError

DEFAULT_BACKBONE = {"dims": 2, "in_channels": 3, "width": 16, "n_features": 256}


def _crops_of(cases: pd.DataFrame, spec: CropSpec) -> np.ndarray:
    from radsig.io import read_image, read_mask

    out = []
    for row in cases.itertuples(index=False):
        image = read_image(row.image, case=str(row.patient_id))
        mask = read_mask(row.mask, image, label=getattr(row, "label", None) if pd.notna(getattr(row, "label", None)) else None,
                         roi=getattr(row, "roi", None) if isinstance(getattr(row, "roi", None), str) else None,
                         case=str(row.patient_id))
        out.append(roi_crop(image, mask, spec, case=str(row.patient_id)))
    return np.stack(out)


def train_deep_model(training_cases: pd.DataFrame, out_dir: PathLike, *, spec: CropSpec = CropSpec(),
                     backbone: dict | None = None, method: str = "self_supervised", y=None,
                     epochs: int = 15, batch_size: int = 32, seed: int = 0, progress=None) -> Path:
    """Train a backbone on the training cases' crops; returns the weights' JSON sidecar path.

    Parameters
    ----------
    training_cases : DataFrame
        Manifest rows of the **training** cohort only (``patient_id, image, mask`` [+ label/roi]).
    method : {"self_supervised", "supervised"}
        Contrastive pre-training, or fine-tuning on the binary endpoint *y* (aligned with rows).
    """
    from radsig._optional import require
    from radsig.deep.backbones import build_backbone
    from radsig.deep.train import train_self_supervised, train_supervised
    from radsig.deep.weights import save_weights

    torch = require("torch", "deep")
    if method not in {"self_supervised", "supervised"}:
        raise ConfigError(f"deep method must be 'self_supervised' or 'supervised', got {method!r}")
    crops = _crops_of(training_cases, spec)
    torch.manual_seed(seed)
    model = build_backbone(dict(backbone or DEFAULT_BACKBONE, in_channels=crops.shape[1],
                                dims=2 if spec.mode == "2.5d" else 3))
    if method == "supervised":
        if y is None:
            raise ConfigError("supervised deep training needs the training endpoint y")
        record = train_supervised(model, crops, np.asarray(y), epochs=epochs, batch_size=batch_size, seed=seed)
    else:
        record = train_self_supervised(model, crops, epochs=epochs, batch_size=batch_size, seed=seed,
                                       progress=progress)
    record["training_patients"] = sorted(map(str, training_cases["patient_id"].unique()))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return save_weights(model, spec, Path(out_dir) / "deep_weights", record=record)


def deep_settings(weights_json: PathLike) -> dict:
    """Settings for :func:`deep_extractor` (weights path + checksum, which keys the cache)."""
    import json

    meta = json.loads(Path(weights_json).read_text())
    return {"weights": str(Path(weights_json).resolve()), "sha256": meta["sha256"]}


@lru_cache(maxsize=4)
def _model(weights: str, sha256: str):
    from radsig.deep.weights import load_weights

    model, spec, meta = load_weights(weights)
    if meta["sha256"] != sha256:
        raise ConfigError(f"{weights}: weights changed since the settings were made")
    return model, spec


def deep_extractor(image, mask, settings: dict, *, label=None, roi=None, case=None) -> pd.DataFrame:
    """Per-case extractor (cohort-engine signature): long table of ``deep_NNN`` features."""
    from radsig.deep.extract import deep_features
    from radsig.io import binarise_mask, read_image, read_mask

    if not isinstance(settings, dict) or "weights" not in settings:
        raise ConfigError("deep_extractor needs settings from deep_settings(weights_json)")
    model, spec = _model(settings["weights"], settings["sha256"])
    img = read_image(image, case=case) if isinstance(image, (str, Path)) else image
    msk = (read_mask(mask, img, label=label, roi=roi, case=case) if isinstance(mask, (str, Path))
           else binarise_mask(mask, img, label=label, case=case))
    vec = deep_features(model, roi_crop(img, msk, spec, case=case)[None])[0]
    return pd.DataFrame({"feature": [f"deep_{k:03d}" for k in range(len(vec))], "family": "deep",
                         "ibsi_code": "", "aggregation_code": "", "value": vec.astype(float)})
