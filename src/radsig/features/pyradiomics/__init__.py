"""PyRadiomics-compatible extraction: PyRadiomics parameter files, conventions and feature names.

Entry point: :func:`extract_case_pyradiomics` (``radsig.features.extract_case`` dispatches here
when given :class:`radsig.config.pyradiomics.PyRadiomicsSettings`).
"""

from __future__ import annotations

from radsig.features.pyradiomics._extract import (
    compute_features,
    extract_case_pyradiomics,
    extract_rows,
    prepare_case,
)

__all__ = ["extract_case_pyradiomics", "compute_features", "prepare_case", "extract_rows"]
