"""Baseline characteristics (Table 1) by cohort with p-values for differences between cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def _is_continuous(values: pd.Series) -> bool:
    num = pd.to_numeric(values, errors="coerce")
    return num.notna().sum() >= 0.9 * values.notna().sum() and values.nunique() > 5


def table1(clinical: dict[str, pd.DataFrame], variables: list[str]) -> pd.DataFrame:
    """One row per variable (and per level for categorical ones), one column per cohort.

    Continuous: median [IQR], Kruskal–Wallis p across cohorts. Categorical: n (%), χ² p.
    Missing values are counted in a "missing" row when present.
    """
    rows = []
    names = list(clinical)
    for var in variables:
        cols = {c: clinical[c][var] for c in names if var in clinical[c].columns}
        if not cols:
            continue
        if all(_is_continuous(v) for v in cols.values()):
            groups = [pd.to_numeric(v, errors="coerce").dropna() for v in cols.values()]
            p = stats.kruskal(*groups).pvalue if sum(len(g) > 0 for g in groups) > 1 else np.nan
            row = {"variable": var, "level": "median [IQR]", "test": "Kruskal–Wallis", "p_value": p}
            for c, g in zip(cols, groups, strict=False):
                q1, q2, q3 = np.percentile(g, [25, 50, 75]) if len(g) else (np.nan,) * 3
                row[c] = f"{q2:.1f} [{q1:.1f}–{q3:.1f}]"
            rows.append(row)
            continue
        levels = sorted({str(x) for v in cols.values() for x in v.dropna()})
        counts = pd.DataFrame({c: v.dropna().astype(str).value_counts() for c, v in cols.items()}).reindex(levels).fillna(0)
        p = stats.chi2_contingency(counts.to_numpy()).pvalue if counts.shape[0] > 1 and counts.shape[1] > 1 else np.nan
        for k, lev in enumerate(levels):
            row = {"variable": var if k == 0 else "", "level": lev,
                   "test": "χ²" if k == 0 else "", "p_value": p if k == 0 else np.nan}
            for c in cols:
                n = int(counts.loc[lev, c])
                row[c] = f"{n} ({100 * n / max(counts[c].sum(), 1):.0f}%)"
            rows.append(row)
    return pd.DataFrame(rows, columns=["variable", "level", *names, "test", "p_value"])


def format_p(p: float | None) -> str:
    """p-value as a reader expects it: '<0.001', else three significant digits."""
    if p is None or not np.isfinite(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"
