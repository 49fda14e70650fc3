"""TRIPOD+AI and CLEAR reporting items, and the report section that answers each.

Item wording is paraphrased; the numbers refer to the published checklists (TRIPOD+AI, BMJ 2024;
CLEAR, Insights into Imaging 2023). ``answered_by`` is the anchor of a report section, or a
statement of what the user still has to supply.
"""

from __future__ import annotations

ITEMS: tuple[tuple[str, str, str, str], ...] = (
    # checklist, item, topic, section anchor (or "" = to be provided by the authors)
    ("TRIPOD+AI", "4", "Objectives: predictions made, for whom", "study"),
    ("TRIPOD+AI", "5", "Data sources, centres, dates", "flow"),
    ("TRIPOD+AI", "6", "Participants: eligibility and treatment", "table1"),
    ("TRIPOD+AI", "7", "Data preparation and quality checks", "flow"),
    ("TRIPOD+AI", "8", "Outcome: definition and how assessed", "endpoints"),
    ("TRIPOD+AI", "9", "Predictors: definition and measurement", "features"),
    ("TRIPOD+AI", "10", "Sample size", "flow"),
    ("TRIPOD+AI", "11", "Missing data handling", "methods"),
    ("TRIPOD+AI", "12", "Analysis: model type, selection, internal validation", "methods"),
    ("TRIPOD+AI", "12e", "Performance measures (discrimination, calibration, utility)", "performance"),
    ("TRIPOD+AI", "13", "Class imbalance", "flow"),
    ("TRIPOD+AI", "14", "Fairness across subgroups", ""),
    ("TRIPOD+AI", "20", "Participants: flow, characteristics by cohort", "table1"),
    ("TRIPOD+AI", "22", "Full model specification (formula, cut-offs)", "models"),
    ("TRIPOD+AI", "23", "Model performance with CIs per cohort", "performance"),
    ("TRIPOD+AI", "23b", "Calibration plots", "calibration"),
    ("TRIPOD+AI", "23c", "Clinical utility (decision curves)", "dca"),
    ("TRIPOD+AI", "18", "Open science: code, model file", "reproducibility"),
    ("CLEAR", "14", "Image acquisition and scanner differences", "flow"),
    ("CLEAR", "22", "Segmentation method", ""),
    ("CLEAR", "25", "Image preprocessing (resampling, discretisation)", "features"),
    ("CLEAR", "28", "Feature extraction software and settings (IBSI)", "features"),
    ("CLEAR", "31", "Feature harmonisation", "methods"),
    ("CLEAR", "33", "Feature selection and dimensionality reduction", "models"),
    ("CLEAR", "35", "Model: algorithm and hyper-parameter tuning", "methods"),
    ("CLEAR", "38", "Data partitioning, no leakage (fit on training only)", "methods"),
    ("CLEAR", "41", "Comparison with clinical model / statistical tests", "comparisons"),
    ("CLEAR", "42", "External validation", "performance"),
    ("CLEAR", "45", "Survival analysis: KM, log-rank, HR", "survival"),
    ("CLEAR", "55", "Sharing of model and code", "reproducibility"),
)


def checklist_rows(present_sections: set[str]) -> list[dict]:
    """Each item with where it is answered, or a note that the authors must add it."""
    rows = []
    for checklist, item, topic, anchor in ITEMS:
        if anchor and anchor in present_sections:
            where, status = anchor, "answered"
        else:
            where, status = "", "to be completed by the authors"
        rows.append({"checklist": checklist, "item": item, "topic": topic, "section": where, "status": status})
    return rows
