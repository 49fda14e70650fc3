"""radsig.features: IBSI feature extraction (``extract_case``) and the family registry."""

from __future__ import annotations

from radsig.features import registry
from radsig.features.extractor import extract_case, to_wide

__all__ = ["extract_case", "to_wide", "registry"]
