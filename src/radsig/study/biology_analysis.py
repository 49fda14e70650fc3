"""Analyses of the study's biology section once every cohort is scored (see :mod:`radsig.study.biology`).

Correlations use the patients of the validation cohorts (every cohort but training), whose
Rad-scores come from a model that never saw them; the training cohort is reported separately.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from radsig.exceptions import StatisticsError


def _rows(df: pd.DataFrame) -> list[dict]:
    return df.replace({np.nan: None}).to_dict("records")


def _score_table(run, models: list[str], cohorts: list[str]) -> pd.DataFrame:
    """Patients × (Rad-score of each model, z-scored selected features of the first model)."""
    from radsig.study import modelling as mdl

    parts = []
    first = next(m for m in run.frozen if m["name"] == models[0])
    feats = mdl.model_features(first)
    for name in cohorts:
        idx = run.data[name].clinical.index.astype(str)
        block = pd.DataFrame({f"Rad-score {m}": run.scores[name][m] for m in models}, index=idx)
        for f in feats:
            block[f] = pd.to_numeric(run.features[name][f], errors="coerce").to_numpy(float)
        parts.append(block)
    return pd.concat(parts)


def _markers(bio, spec) -> pd.DataFrame:
    cols = []
    if bio.scores is not None:
        cols.append(bio.scores.add_prefix("score: "))
    if bio.expression is not None and spec.genes:
        genes = [g for g in spec.genes if g in bio.expression.index]
        cols.append(bio.expression.loc[genes].T.add_prefix("gene: "))
    if bio.ihc is not None:
        num = bio.ihc.select_dtypes("number")
        cols.append(num.add_prefix("IHC: "))
    return pd.concat(cols, axis=1) if cols else pd.DataFrame()


def _group_tests(run, bio, model: str, cohorts: list[str]) -> tuple[list[dict], dict[str, pd.DataFrame]]:
    from radsig.biology import compare_groups

    lp = pd.concat([pd.Series(run.scores[c][model], index=run.data[c].clinical.index.astype(str)) for c in cohorts])
    groupings = {}
    if bio.phenotype is not None:
        groupings["TME phenotype (expression)"] = bio.phenotype
    if bio.ihc is not None and "immunoscore_group" in bio.ihc:
        groupings["Immunoscore-like group (IHC)"] = bio.ihc["immunoscore_group"]
    tests, frames = [], {}
    for label, groups in groupings.items():
        frame = pd.DataFrame({"score": lp, "group": groups.reindex(lp.index)}).dropna()
        try:
            res = compare_groups(frame["score"], frame["group"])
        except StatisticsError as err:
            tests.append({"grouping": label, "error": str(err)})
            continue
        tests.append({"grouping": label, "model": model, **res})
        frames[label] = frame
    return tests, frames


def _de(run, bio, model: dict, cohorts: list[str]) -> dict:
    from radsig.biology import differential_expression, set_enrichment

    if bio.expression is None:
        return {}
    lp = pd.concat([pd.Series(run.scores[c][model["name"]], index=run.data[c].clinical.index.astype(str))
                    for c in cohorts])
    groups = pd.Series(np.where(lp > model["cutoff"]["value"], "high", "low"), index=lp.index)
    common = bio.expression.columns.intersection(groups.index)
    try:
        de = differential_expression(bio.expression[common], groups.loc[common])
    except StatisticsError as err:
        return {"error": str(err)}
    signed = -np.log10(de["p_value"].clip(lower=1e-300)) * np.sign(de["log2fc"])
    enr = set_enrichment(signed, bio.gene_sets) if bio.gene_sets else pd.DataFrame()
    top = de.head(15).reset_index()
    return {"model": model["name"], "groups": {"high": int((groups.loc[common] == "high").sum()),
                                               "low": int((groups.loc[common] == "low").sum())},
            "n_genes": len(de), "n_q_below_0_05": int((de["q_value"] < 0.05).sum()),
            "top_genes": _rows(top), "enrichment": _rows(enr)}


def analyse_biology(run, bio) -> tuple[dict, dict]:
    """Results for ``results.json`` and the frames behind the figures."""
    from radsig.biology import correlate

    st, spec = run.study, run.study.biology
    models = spec.models or [m["name"] for m in run.frozen if m["kind"] == "radiomics"][:1]
    val = [c for c in run.data if c != st.training.name]
    out = {"messages": bio.messages, "join": bio.join, "models": models, "cohorts": val,
           "phenotype_counts": (bio.phenotype.value_counts().to_dict() if bio.phenotype is not None else {})}
    frames: dict = {}
    markers = _markers(bio, spec)
    if markers.empty or not models:
        out["messages"] = out["messages"] + ["biology: nothing to correlate (no immune scores, genes or IHC matched)"]
        return out, frames
    for label, cohorts in (("validation", val), ("training", [st.training.name])):
        scores = _score_table(run, models, cohorts)
        try:
            cor = correlate(scores, markers)
        except StatisticsError as err:
            out[f"correlations_{label}"] = {"error": str(err)}
            continue
        out[f"correlations_{label}"] = _rows(cor)
        frames[f"cor_{label}"] = cor
    out["group_tests"], frames["groups"] = _group_tests(run, bio, models[0], val)
    first = next(m for m in run.frozen if m["name"] == models[0])
    out["differential_expression"] = _de(run, bio, first, val)
    return out, frames


def biology_figures(frames: dict, folder) -> list[dict]:
    """Heatmap of Spearman ρ (validation cohorts; * q < 0.05) and boxplots of the Rad-score by group."""
    import matplotlib.pyplot as plt

    from radsig.study import plots

    folder.mkdir(parents=True, exist_ok=True)
    figs = []
    cor = frames.get("cor_validation")
    if cor is not None and len(cor):
        rho = cor.pivot(index="score", columns="marker", values="rho")
        q = cor.pivot(index="score", columns="marker", values="q_value").reindex_like(rho)
        fig, ax = plt.subplots(figsize=(1.6 + 0.42 * rho.shape[1], 1.4 + 0.36 * rho.shape[0]))
        im = ax.imshow(rho.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        ax.set_xticks(range(rho.shape[1]), rho.columns, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(rho.shape[0]), rho.index, fontsize=7)
        for (i, j), v in np.ndenumerate(q.to_numpy(float)):
            if np.isfinite(v) and v < 0.05:
                ax.text(j, i, "*", ha="center", va="center", fontsize=8)
        fig.colorbar(im, ax=ax, label="Spearman ρ", shrink=0.8)
        ax.set_title("Rad-score / features vs immune markers (* FDR q < 0.05)", fontsize=8)
        fig.tight_layout()
        png, svg = plots.save(fig, folder, "biology_heatmap")
        figs.append({"png": png, "svg": svg, "title": "Spearman correlation of Rad-scores and selected "
                     "features with immune scores, genes and IHC (validation cohorts)"})
    groups = frames.get("groups") or {}
    if groups:
        fig, axes = plt.subplots(1, len(groups), figsize=(3.4 * len(groups), 3.2), squeeze=False)
        for ax, (label, frame) in zip(axes[0], groups.items(), strict=False):
            levels = sorted(frame["group"].unique(), key=str)
            ax.boxplot([frame.loc[frame["group"] == g, "score"] for g in levels], tick_labels=levels)
            ax.set_title(label, fontsize=8)
            ax.set_ylabel("Rad-score")
        fig.tight_layout()
        png, svg = plots.save(fig, folder, "biology_boxplots")
        figs.append({"png": png, "svg": svg, "title": "Rad-score by TME phenotype and Immunoscore-like group "
                     "(validation cohorts)"})
    return figs
