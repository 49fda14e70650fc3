"""radsig.evaluate: the statistics a radiomics paper reports, each with a confidence interval.

Functions take NumPy / pandas inputs and return frozen result objects (``estimate, ci_low,
ci_high`` and, for tests, ``statistic, p_value``) whose ``summary`` is a tidy DataFrame.
"""

from __future__ import annotations

from radsig.evaluate._results import Estimate, ResultTable, TestResult
from radsig.evaluate.concordance import concordance_index, time_dependent_auc
from radsig.evaluate.discrimination import (RocCurve, auc_ci, delong_test, delong_test_unpaired,
                                            diagnostic_metrics, roc_curve_ci)
from radsig.evaluate.survival import (KaplanMeierResult, cox_hazard_ratios, kaplan_meier,
                                      logrank_test, number_at_risk)

__all__ = [
    "Estimate", "TestResult", "ResultTable", "RocCurve", "KaplanMeierResult",
    "auc_ci", "delong_test", "delong_test_unpaired", "diagnostic_metrics", "roc_curve_ci",
    "concordance_index", "time_dependent_auc",
    "kaplan_meier", "logrank_test", "cox_hazard_ratios", "number_at_risk",
]
