"""Result objects returned by :mod:`radsig.evaluate`.

Every headline number comes with a confidence interval (R14). Results are frozen dataclasses;
their ``summary`` property gives a tidy one-row (or many-row) :class:`pandas.DataFrame` with the
columns ``estimate, ci_low, ci_high, p_value, n`` that :mod:`radsig.report` renders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ["estimate", "ci_low", "ci_high", "p_value", "n"]


def _plain(value: Any) -> Any:
    """Turn NumPy scalars / arrays / frames into JSON-friendly Python objects."""
    if isinstance(value, pd.DataFrame):
        return _plain(value.to_dict(orient="list"))
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _freeze(details: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(details or {}))


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval.

    Attributes
    ----------
    name : str
        What was estimated (``"AUC"``, ``"C-index (Harrell)"``…).
    estimate, ci_low, ci_high : float
        Point estimate and the two-sided ``level`` confidence interval.
    n : int
        Number of observations used.
    method : str
        How the interval was obtained (``"delong"``, ``"bootstrap-percentile"``, ``"wilson"``…).
    level : float
        Confidence level of the interval.
    se : float
        Standard error where the method gives one, else NaN.
    details : Mapping
        Extra read-only values (counts, components of the estimate).
    p_value : float
        NaN for a plain estimate (present so every result fills the same table).
    """

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    level: float = 0.95
    se: float = math.nan
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    p_value: float = math.nan

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", _freeze(self.details))
        for name in ("estimate", "ci_low", "ci_high", "se", "statistic", "p_value", "df"):
            value = getattr(self, name, None)
            if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))
        object.__setattr__(self, "n", int(self.n))

    @property
    def summary(self) -> pd.DataFrame:
        """One-row table with columns ``estimate, ci_low, ci_high, p_value, n`` (+ method)."""
        row = {c: getattr(self, c) for c in SUMMARY_COLUMNS}
        row["method"] = self.method
        return pd.DataFrame([row], index=pd.Index([self.name], name="metric"))

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dictionary (JSON serialisable)."""
        out = {k: _plain(getattr(self, k)) for k in
               ("name", "estimate", "ci_low", "ci_high", "n", "method", "level", "se")}
        out["p_value"] = _plain(self.p_value)
        out["details"] = _plain(dict(self.details))
        return out


@dataclass(frozen=True)
class TestResult(Estimate):
    """A hypothesis test: an effect estimate with CI plus ``statistic`` and ``p_value``.

    ``estimate`` is the effect the test is about (difference in AUC, odds ratio…) or NaN when
    the test has no single effect (k-group log-rank).
    """

    __test__ = False  # not a pytest test class

    statistic: float = math.nan
    df: float = math.nan

    @property
    def summary(self) -> pd.DataFrame:
        """One-row table with ``estimate, ci_low, ci_high, p_value, n, statistic, df, method``."""
        table = super().summary
        table["statistic"] = self.statistic
        table["df"] = self.df
        return table

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update(statistic=_plain(self.statistic), df=_plain(self.df))
        return out


@dataclass(frozen=True, eq=False)
class ResultTable:
    """Many estimates at once (HRs of a Cox model, correlations of many features, …).

    ``table`` has at least the columns ``estimate, ci_low, ci_high, p_value, n``, one row per
    item (index = item name).
    """

    name: str
    table: pd.DataFrame
    method: str
    level: float = 0.95
    details: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", _freeze(self.details))

    @property
    def summary(self) -> pd.DataFrame:
        """A copy of ``table``."""
        return self.table.copy()

    def __getitem__(self, item: str) -> pd.Series:
        return self.table.loc[item]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "method": self.method, "level": self.level,
                "table": _plain(self.table.reset_index()), "details": _plain(dict(self.details))}
