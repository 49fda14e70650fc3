"""radsig.features: IBSI feature extraction (``extract_case``) and the family registry."""

from __future__ import annotations

import importlib

__all__ = ["extract_case", "to_wide", "registry"]


def __getattr__(name: str):
    # Lazy (PEP 562): importing a subpackage such as radsig.features.pyradiomics must not pull in
    # the IBSI extractor's dependencies (pandas, scipy …), which dominate a one-case process.
    if name == "registry":
        return importlib.import_module("radsig.features.registry")
    if name in ("extract_case", "to_wide"):
        return getattr(importlib.import_module("radsig.features.extractor"), name)
    raise AttributeError(f"module 'radsig.features' has no attribute {name!r}")
