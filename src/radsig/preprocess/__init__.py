"""radsig.preprocess: crop, resample, round, re-segment and discretise (IBSI chapter 2)."""

from __future__ import annotations

from radsig.preprocess.pipeline import prepare_arrays, prepare_roi
from radsig.preprocess.roi import PreparedRoi

__all__ = ["PreparedRoi", "prepare_roi", "prepare_arrays"]
