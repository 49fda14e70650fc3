"""Row-level checks of the tables a study or ``radsig predict`` reads: one row per patient and
modality, no image file shared by two patients, one clinical row per patient, clinical values a
frozen model can use. Each check returns a list of problems (one line each, naming the table,
the patient and the cause); the caller raises them together as one :class:`ConfigError`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: ROI intensity summaries kept per modality in the model file: (feature, transform)
INTENSITY_FEATURES = (("stat_median", "location"), ("stat_iqr", "spread"))
#: a new patient's summary further than this many robust SDs from training is refused ...
INTENSITY_Z_MAX = 5.0
#: ... and only when it also lies beyond the training 1st-99th percentile range widened by this
#: many times its own width on each side (in the transformed scale): training ROIs of one
#: scanner can cluster so tightly that another site's ordinary shift is many robust SDs away
#: (a synthetic CRLM validation site: 7 SDs), while a swapped modality or wrong units lies
#: far outside any such range.
INTENSITY_RANGE_WIDTHS = 2.0


def _rows(index) -> str:
    """CSV line numbers of table rows (header = line 1)."""
    lines = [int(i) + 2 for i in index]
    return ", ".join(map(str, lines[:5])) + (" …" if len(lines) > 5 else "")


def manifest_problems(man: pd.DataFrame, id_column: str, where: str, *,
                      needed: list[str] | None = None, lesion_column: str | None = None) -> list[str]:
    """Duplicate (patient, modality[, lesion]) rows, one image file on two patients' rows, and
    patients lacking a *needed* modality. *man* has its original row order (0-based index)."""
    problems = []
    if man.empty:
        return [f"{where}: no rows"]
    keys = [id_column, "modality"] + ([lesion_column] if lesion_column and lesion_column in man.columns else [])
    dup = man[man.duplicated(keys, keep=False)]
    for key, grp in list(dup.groupby(keys, sort=False))[:5]:
        key = key if isinstance(key, tuple) else (key,)
        what = ", ".join(f"{k}={v}" for k, v in zip(keys, key, strict=True))
        problems.append(f"{where}: {len(grp)} rows for {what} (lines {_rows(grp.index)}); one row per "
                        "patient and modality" + (f" and {lesion_column}" if len(keys) > 2 else
                                                   " (several lesions need a 'lesion' column)"))
    if "image" in man.columns:
        shared = man.groupby("image", sort=False)[id_column].nunique()
        for img in list(shared[shared > 1].index)[:5]:
            ids = sorted(set(man.loc[man["image"] == img, id_column]))
            problems.append(f"{where}: image {img} is on the rows of {len(ids)} patients {ids[:5]}; "
                            "each patient must be scored from their own image")
    if needed:
        have = man.groupby(id_column, sort=False)["modality"].agg(set)
        for pid, mods in have.items():
            gone = sorted(set(needed) - mods)
            if gone:
                problems.append(f"{where}: patient {pid} has no {'/'.join(gone)} row; the model needs "
                                f"{', '.join(needed)} for every patient")
                if len(problems) > 20:
                    break
    return problems


def duplicate_id_problems(table: pd.DataFrame, id_column: str, where: str) -> list[str]:
    """Patient IDs that occur on more than one row of a clinical table (before indexing)."""
    ids = table[id_column].astype(str)
    dup = ids[ids.duplicated(keep=False)]
    if dup.empty:
        return []
    first = list(dict.fromkeys(dup))[:5]
    return [f"{where}: patient ID(s) {first} occur on more than one row (lines "
            f"{_rows(dup.index)}); one row per patient"]


def clinical_value_problems(clin: pd.DataFrame, terms: list[dict], where: str) -> list[str]:
    """Values a frozen model's clinical terms cannot use: text in a numeric column, a category
    the model was not trained on (when the model file lists the training levels)."""
    problems = []
    seen = set()
    for t in terms:
        col = t.get("column")
        if t.get("source") != "clinical" or col in seen or col not in clin.columns:
            continue
        seen.add(col)
        raw = clin[col]
        present = raw[raw.notna() & (raw.astype(str).str.strip() != "")]
        if "level" in t:
            levels = t.get("levels")
            if levels is not None:
                from radsig.study.modelling import level_key

                bad = present[~present.map(level_key).isin([level_key(v) for v in levels])]
                if len(bad):
                    problems.append(f"{where}: column {col!r} has value(s) {sorted(set(bad.astype(str)))[:5]} "
                                    f"(patient(s) {list(bad.index[:5])}) the model was not trained on; "
                                    f"known levels: {levels}")
            continue
        num = pd.to_numeric(present, errors="coerce")
        bad = present[num.isna() | ~np.isfinite(num.astype(float))]
        if len(bad):
            problems.append(f"{where}: column {col!r} must be numeric; patient(s) {list(bad.index[:5])} "
                            f"have {[str(v) for v in bad.iloc[:5]]}")
    return problems


def missing_clinical(clin: pd.DataFrame, terms: list[dict]) -> dict[str, list[str]]:
    """Clinical column → patients with no value there (the model imputes its training value)."""
    out = {}
    for col in dict.fromkeys(t["column"] for t in terms if t.get("source") == "clinical"):
        if col in clin.columns:
            raw = clin[col]
            gone = raw.isna() | (raw.astype(str).str.strip() == "")
            if gone.any():
                out[col] = [str(p) for p in clin.index[gone.to_numpy()]]
    return out


# --------------------------------------------------------------------------- intensities
def _robust(x: np.ndarray) -> tuple[float, float]:
    center = float(np.median(x))
    mad = 1.4826 * float(np.median(np.abs(x - center)))
    floor = max(0.1 * float(np.std(x)), 1e-6 * (1.0 + abs(center)))
    return center, max(mad, floor)


def _transform(kind: str, x, delta: float):
    x = np.asarray(x, float)
    return np.log(np.maximum(x, 0.0) + delta) if kind == "spread" else x


def intensity_summary(feats: pd.DataFrame, modalities: list[str]) -> dict:
    """Per modality, the training distribution of the ROI median intensity and (log) IQR:
    centre and robust SD (1.4826 × MAD), quantiles for the report. ``None`` for a modality whose
    features hold no first-order statistics (then predict cannot check intensities)."""
    out: dict = {}
    for mod in modalities:
        entry = {}
        for feat, kind in INTENSITY_FEATURES:
            col = f"{mod}_{feat}"
            if col not in feats.columns:
                continue
            x = pd.to_numeric(feats[col], errors="coerce").to_numpy(float)
            x = x[np.isfinite(x)]
            if len(x) < 5:
                continue
            delta = 1e-3 * max(float(np.median(np.abs(x))), 1e-12) if kind == "spread" else 0.0
            center, scale = _robust(_transform(kind, x, delta))
            q = np.quantile(x, [0.01, 0.25, 0.5, 0.75, 0.99])
            entry[kind] = {"feature": feat, "n": int(len(x)), "center": center, "scale": scale,
                           "delta": delta, **{f"q{int(p * 100):02d}": float(v)
                                              for p, v in zip((0.01, 0.25, 0.5, 0.75, 0.99), q, strict=True)}}
        out[mod] = entry or None
    return out


def intensity_outliers(summary: dict, feats: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(problems, unchecked modalities): patients whose ROI intensities lie more than
    ``INTENSITY_Z_MAX`` robust SDs from the training distribution of that modality and beyond
    its 1st-99th percentile range widened by ``INTENSITY_RANGE_WIDTHS`` widths on each side."""
    problems, unchecked = [], []
    for mod, entry in summary.items():
        if not entry:
            unchecked.append(mod)
            continue
        for kind, s in entry.items():
            col = f"{mod}_{s['feature']}"
            if col not in feats.columns:
                unchecked.append(mod)
                continue
            v = pd.to_numeric(feats[col], errors="coerce").to_numpy(float)
            t = _transform(kind, v, s["delta"])
            z = (t - s["center"]) / s["scale"]
            lo, hi = _transform(kind, [s["q01"], s["q99"]], s["delta"])
            reach = INTENSITY_RANGE_WIDTHS * (hi - lo)
            beyond = (t < lo - reach) | (t > hi + reach)
            for pid, val, zz, far in zip(feats.index, v, z, beyond, strict=True):
                if np.isfinite(zz) and abs(zz) > INTENSITY_Z_MAX and far:
                    what = "median" if kind == "location" else "interquartile range"
                    problems.append(
                        f"patient {pid}, modality {mod}: ROI intensity {what} {val:.4g} is far outside "
                        f"the training {mod} images (1st–99th percentile {s['q01']:.4g} to {s['q99']:.4g}, "
                        f"{abs(zz):.0f} robust SDs from their median); wrong modality (CT and PET "
                        "swapped?), units or image")
    return problems, sorted(set(unchecked))
