"""IBSI-1 compliance of the six texture families: digital phantom (all aggregations) and CT
phantom configuration A (2D and 2.5D aggregations), against ``reference_values.csv``.

The PreparedRoi is built here with a small helper (the engine branch owns the real pipeline):
phantom = its own grey levels 1..6; config A = no interpolation, round, range re-segmentation
[-500, 400] HU, fixed bin size 25 HU from -500.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest

from radsig.features import glcm, gldzm, glrlm, glszm, ngldm, ngtdm
from radsig.preprocess.roi import PreparedRoi

FAMILIES = {"glcm": (glcm, "LFYI"), "glrlm": (glrlm, "TP0I"), "glszm": (glszm, "9SAK"),
            "gldzm": (gldzm, "VMDZ"), "ngtdm": (ngtdm, "IPET"), "ngldm": (ngldm, "REK0")}


def _read(path):
    import SimpleITK as sitk

    return np.round(sitk.GetArrayFromImage(sitk.ReadImage(str(path))).astype(np.float64))


def phantom_roi(shared) -> PreparedRoi:
    d = shared / "ibsi" / "digital_phantom"
    img, mask = _read(d / "image.nii.gz"), _read(d / "mask.nii.gz") > 0
    levels = np.where(mask, img, 0).astype(np.int32)
    return PreparedRoi(image=img, morph_mask=mask, int_mask=mask, spacing=(2.0, 2.0, 2.0),
                       levels=levels, n_levels=6)


def config_a_roi(shared) -> PreparedRoi:
    d = shared / "ibsi" / "ct_phantom_pat1"
    img, mask = _read(d / "image.nii.gz"), _read(d / "mask.nii.gz") > 0
    int_mask = mask & (img >= -500) & (img <= 400)
    levels = np.where(int_mask, np.floor((img + 500) / 25) + 1, 0).astype(np.int32)
    return PreparedRoi(image=img, morph_mask=mask, int_mask=int_mask, spacing=(3.0, 0.977, 0.977),
                       levels=levels, n_levels=int(levels.max()))


def _sig_round(x: float, ref: str) -> float:
    """Round ``x`` to the significant digits of the reference text (at least 3)."""
    mant = ref.lower().split("e")[0].lstrip("+-").replace(".", "").lstrip("0")
    digits = max(3, len(mant))
    if x == 0 or not math.isfinite(x):
        return x
    return round(x, digits - 1 - int(math.floor(math.log10(abs(x)))))


def compare(values: dict, refs: pd.DataFrame) -> tuple[int, list[str]]:
    """Pass count and failure lines of ``values`` against reference rows (README rule)."""
    n_pass, fails = 0, []
    for r in refs.itertuples():
        key = f"{r.tag}_{r.aggregation_short}"
        v = values.get(key, float("nan"))
        ok = math.isfinite(v) and abs(_sig_round(v, r.value_text) - float(r.value_text)) <= (
            float(r.tolerance) + 1e-9 * max(1.0, abs(float(r.value_text))))
        n_pass += ok
        if not ok:
            fails.append(f"{key}: {v!r} vs {r.value_text} ± {r.tolerance}")
    return n_pass, fails


@pytest.fixture(scope="module")
def refs(shared) -> pd.DataFrame:
    df = pd.read_csv(shared / "ibsi" / "reference_values.csv", dtype={"value": str})
    return df.rename(columns={"value": "value_text"})


def _rows(refs, config, code, aggs=None):
    rows = refs[(refs.config == config) & (refs.family_code == code)]
    return rows if aggs is None else rows[rows.aggregation_short.isin(aggs)]


@pytest.mark.parametrize("family", list(FAMILIES))
def test_digital_phantom(shared, refs, family):
    module, code = FAMILIES[family]
    rows = _rows(refs, "dig_phantom", code)
    values = module.compute(phantom_roi(shared), aggregations=sorted(set(rows.aggregation_short)))
    n_pass, fails = compare(values, rows)
    print(f"dig_phantom {family}: {n_pass}/{len(rows)}")
    assert not fails, "\n".join(fails)


@pytest.fixture(scope="module")
def roi_a(shared):
    return config_a_roi(shared)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_config_a(roi_a, refs, family):
    module, code = FAMILIES[family]
    rows = _rows(refs, "A", code)
    t0 = time.perf_counter()
    values = module.compute(roi_a, aggregations=sorted(set(rows.aggregation_short)))
    print(f"config A {family}: {time.perf_counter() - t0:.2f} s")
    n_pass, fails = compare(values, rows)
    print(f"config A {family}: {n_pass}/{len(rows)}")
    assert not fails, "\n".join(fails)
