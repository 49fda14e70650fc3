"""radsig.models: Rad-score, nomograms, ensembles, validation designs and JSON model files."""

from __future__ import annotations

from radsig.models.ensemble import ensemble_members, make_ensemble
from radsig.models.nomogram import FusedSignature, Nomogram, PCAScore
from radsig.models.radscore import RadScore, format_formula
from radsig.models.risk import (
                                RiskGroups,
                                RiskGroupSummary,
                                cross_val_risk_groups,
                                maxstat_cut,
                                risk_group_summary,
)
from radsig.models.serialize import (
                                check_model_inputs,
                                load_model,
                                model_document,
                                model_from_document,
                                read_model_file,
                                save_model,
)
from radsig.models.validation import (
                                CVResult,
                                OptimismResult,
                                bootstrap_optimism,
                                cross_validate_model,
                                metric_with_ci,
                                model_score,
                                train_validate,
)

__all__ = ["CVResult", "FusedSignature", "Nomogram", "OptimismResult", "PCAScore",
           "RadScore", "RiskGroupSummary", "RiskGroups", "bootstrap_optimism", "check_model_inputs",
           "cross_val_risk_groups", "cross_validate_model", "ensemble_members", "format_formula",
           "load_model", "make_ensemble", "maxstat_cut", "metric_with_ci", "model_document",
           "model_from_document", "model_score",
           "read_model_file", "risk_group_summary", "save_model", "train_validate"]
