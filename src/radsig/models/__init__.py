"""radsig.models: Rad-score, nomograms, ensembles, validation designs and JSON model files."""

from __future__ import annotations

from radsig.models.ensemble import ensemble_members, make_ensemble
from radsig.models.radscore import RadScore, format_formula
from radsig.models.serialize import load_model, read_model_file, save_model

__all__ = ["ensemble_members", "make_ensemble", "RadScore", "format_formula", "load_model", "read_model_file", "save_model"]
