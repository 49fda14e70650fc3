"""radsig.evaluate: the statistics a radiomics paper reports, each with a confidence interval.

Functions take NumPy / pandas inputs and return frozen result objects (``estimate, ci_low,
ci_high`` and, for tests, ``statistic, p_value``) whose ``summary`` is a tidy DataFrame with the
columns ``estimate, ci_low, ci_high, p_value, n``. Bad input raises
:class:`radsig.exceptions.StatisticsError`.
"""

from __future__ import annotations

from radsig.evaluate._results import Estimate, ResultTable, TestResult
from radsig.evaluate.calibration import (
                                         CalibrationCurve,
                                         brier_score,
                                         calibration_curve,
                                         calibration_intercept_slope,
                                         hosmer_lemeshow,
                                         survival_calibration,
)
from radsig.evaluate.concordance import concordance_index, time_dependent_auc
from radsig.evaluate.cutoffs import (
                                         Cutoff,
                                         maxstat_cutoff,
                                         median_cutoff,
                                         p_lausen92,
                                         p_lausen94,
                                         youden_cutoff,
)
from radsig.evaluate.discrimination import (
                                         RocCurve,
                                         auc_ci,
                                         delong_test,
                                         delong_test_unpaired,
                                         diagnostic_metrics,
                                         roc_curve_ci,
)
from radsig.evaluate.groups import (
                                         correlate_features,
                                         correlation,
                                         mann_whitney,
                                         odds_ratio,
                                         response_by_group,
)
from radsig.evaluate.reclassification import idi, nri
from radsig.evaluate.survival import (
                                         KaplanMeierResult,
                                         cox_hazard_ratios,
                                         kaplan_meier,
                                         logrank_test,
                                         number_at_risk,
)
from radsig.evaluate.utility import DecisionCurve, clinical_impact_curve, decision_curve

__all__ = [
    # result types
    "Estimate", "TestResult", "ResultTable", "RocCurve", "KaplanMeierResult", "CalibrationCurve",
    "DecisionCurve", "Cutoff",
    # discrimination
    "auc_ci", "delong_test", "delong_test_unpaired", "diagnostic_metrics", "roc_curve_ci",
    # calibration
    "calibration_curve", "calibration_intercept_slope", "hosmer_lemeshow", "brier_score",
    "survival_calibration",
    # clinical utility and reclassification
    "decision_curve", "clinical_impact_curve", "nri", "idi",
    # survival
    "concordance_index", "time_dependent_auc", "kaplan_meier", "logrank_test",
    "cox_hazard_ratios", "number_at_risk",
    # cut-offs
    "maxstat_cutoff", "median_cutoff", "youden_cutoff", "p_lausen92", "p_lausen94",
    # group comparisons
    "odds_ratio", "response_by_group", "mann_whitney", "correlation", "correlate_features",
]
