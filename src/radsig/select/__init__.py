"""radsig.select: feature selection steps (all scikit-learn estimators, fitted on training only)."""

from __future__ import annotations

from radsig.select.filters import (
                                   CorrelationFilter,
                                   MannWhitneyFilter,
                                   UnivariateCoxFilter,
                                   VarianceFilter,
                                   relevance,
)
from radsig.select.icc import ICCFilter, icc, icc_table
from radsig.select.lasso import LassoCoxSelector, LassoLogisticSelector, choose_index
from radsig.select.mrmr import MRMRSelector
from radsig.select.perturb import perturb_case, perturbation_features
from radsig.select.stability import StabilitySelector

__all__ = ["CorrelationFilter", "ICCFilter", "LassoCoxSelector", "LassoLogisticSelector",
           "MRMRSelector", "MannWhitneyFilter", "StabilitySelector", "UnivariateCoxFilter",
           "VarianceFilter", "choose_index", "icc", "icc_table", "perturb_case",
           "perturbation_features", "relevance"]
