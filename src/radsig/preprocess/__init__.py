"""radsig.preprocess: crop, resample, round, re-segment and discretise (IBSI chapter 2)."""

from __future__ import annotations

import importlib

__all__ = ["PreparedRoi", "prepare_roi", "prepare_arrays"]


def __getattr__(name: str):
    # Lazy (PEP 562): ``radsig.preprocess.filters`` is used on its own by PyRadiomics mode and
    # must not pull in the IBSI pipeline's imports (scipy.ndimage …) with it.
    if name in ("prepare_roi", "prepare_arrays"):
        return getattr(importlib.import_module("radsig.preprocess.pipeline"), name)
    if name == "PreparedRoi":
        return importlib.import_module("radsig.preprocess.roi").PreparedRoi
    raise AttributeError(f"module 'radsig.preprocess' has no attribute {name!r}")
