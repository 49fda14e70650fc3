"""radsig: from a cancer cohort's scans and outcomes to a validated radiomics signature."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
