"""radsig.harmonize: ComBat fitted on training data only and applied to new cohorts."""

from __future__ import annotations

from radsig.harmonize.combat import ComBat

__all__ = ["ComBat"]
