"""PyRadiomics-compatible extraction: PyRadiomics parameter files, conventions and feature names.

Entry point: :func:`extract_case_pyradiomics` (``radsig.features.extract_case`` dispatches here
when given :class:`radsig.config.pyradiomics.PyRadiomicsSettings`).
"""

from __future__ import annotations

import importlib

__all__ = ["extract_case_pyradiomics", "compute_features", "prepare_case", "extract_rows"]


def __getattr__(name: str):
    # Lazy (PEP 562): the IBSI engine imports this package's C kernels (._matrices) without the
    # PyRadiomics-mode extraction modules (~18 ms of imports).
    if name in __all__:
        return getattr(importlib.import_module("radsig.features.pyradiomics._extract"), name)
    raise AttributeError(f"module 'radsig.features.pyradiomics' has no attribute {name!r}")
