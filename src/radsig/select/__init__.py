"""radsig.select: feature selection steps (all scikit-learn estimators, fitted on training only)."""

from __future__ import annotations

from radsig.select.lasso import LassoCoxSelector, LassoLogisticSelector, choose_index

__all__ = ["LassoCoxSelector", "LassoLogisticSelector", "choose_index"]
