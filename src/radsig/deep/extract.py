"""Deep features: crops through a backbone in batches, pooled per patient."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from radsig._optional import require

torch = require("torch", "deep")


@torch.no_grad()
def deep_features(model: torch.nn.Module, crops: np.ndarray, *, batch_size: int = 64,
                  prefix: str = "deep") -> np.ndarray:
    """Feature vectors (n_crops, n_features) of *crops*; deterministic (eval mode, one thread)."""
    model.eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # identical sums whatever the machine's thread count
    try:
        out = [model(torch.from_numpy(np.ascontiguousarray(crops[i:i + batch_size], dtype=np.float32))).numpy()
               for i in range(0, len(crops), batch_size)]
    finally:
        torch.set_num_threads(threads)
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def pool_by_patient(features: np.ndarray, patient_ids: Sequence[str], *, how: str = "mean",
                    prefix: str = "deep") -> pd.DataFrame:
    """One row per patient (mean or max over the patient's lesions/crops)."""
    frame = pd.DataFrame(features, columns=[f"{prefix}_{k:03d}" for k in range(features.shape[1])])
    frame["patient_id"] = list(patient_ids)
    grouped = frame.groupby("patient_id", sort=False)
    return grouped.max() if how == "max" else grouped.mean()
