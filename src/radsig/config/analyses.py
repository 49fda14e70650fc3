"""Study-file schema of the extra analyses (``analyses:``) and multi-lesion handling (``lesions:``).

Kept apart from :mod:`radsig.config.study` so the published-design examples can ask for the
tables their papers report without touching the core schema:

* ``correlation``: Spearman/Pearson correlation (Fisher-z CI, BH q-value) of a model's score with
  clinical-table columns (IHC densities, CD274 …) or with every gene of a per-cohort expression
  table (``expression: "{cohort}_expression.csv"``, genes × patients);
* ``response_by_group``: response rate (Wilson CI) in the model's high/low group (training
  cut-off), chi-square or Fisher test and the odds ratio high vs low with its CI;
* ``odds_ratio``: logistic OR per SD of the model score (Wald CI), optionally adjusted;
* ``cox``: Cox HR per SD of the score, adjusted for ``covariates`` (is the score independent?);
* ``group_difference``: Mann–Whitney of columns or genes between high and low groups.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnalysisSpec(_Strict):
    """One extra analysis of a frozen model's score, run in every cohort that has the data."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$")
    kind: Literal["correlation", "response_by_group", "odds_ratio", "cox", "group_difference"]
    model: str
    endpoint: str | None = None
    columns: list[str] = Field(default_factory=list)
    expression: Path | None = None
    covariates: list[str] = Field(default_factory=list)
    method: Literal["spearman", "pearson"] = "spearman"
    title: str = ""

    @model_validator(mode="after")
    def _needs(self) -> AnalysisSpec:
        if self.kind in ("correlation", "group_difference") and not (self.columns or self.expression):
            raise ValueError(f"analysis {self.name!r} ({self.kind}) needs 'columns' and/or 'expression'")
        if self.kind in ("response_by_group", "odds_ratio", "cox") and not self.endpoint:
            raise ValueError(f"analysis {self.name!r} ({self.kind}) needs 'endpoint'")
        return self


class LesionSpec(_Strict):
    """Several lesions per patient: a manifest column names the lesion; features are aggregated."""

    column: str = "lesion"
    aggregate: Literal["largest", "weighted", "max"] = "largest"
