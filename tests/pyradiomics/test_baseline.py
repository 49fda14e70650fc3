"""PyRadiomics' own baselines (5 cases × every configuration column × every class) reproduced.

Rule (upstream ``tests/testUtils.py``): relative difference < 3 %, exact where the baseline is 0.
We hold features far tighter: 1e-6, except the mesh-based shape features (surface area, mesh
volume and the two ratios built from them) of brain1, whose baseline came from an older
PyRadiomics mesh; PyRadiomics 3.1.4 itself gives our values there (checked to 1e-12), so those
are held to 1e-3.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _baseline import (  # noqa: E402
    CLASSES,
    SHARED_DIR,
    baseline,
    column_settings,
    data_dir,
    rel_diff,
    run_column,
    scenarios,
)

from radsig.features.pyradiomics import _texture as T  # noqa: E402
from radsig.features.pyradiomics import prepare_case  # noqa: E402
from radsig.features.pyradiomics._matrices import discretize  # noqa: E402

MESH = {"MeshVolume", "SurfaceArea", "SurfaceVolumeRatio", "Sphericity"}


def _params():
    if not SHARED_DIR.is_dir():
        return []
    out = []
    for col, cls in scenarios(SHARED_DIR):
        heavy = col.startswith("lung2") or col.endswith("_normalization")
        marks = [pytest.mark.slow] if heavy else []
        out.append(pytest.param(col, cls, id=f"{col}-{cls}", marks=marks))
    return out


@pytest.mark.parametrize("col, cls", _params())
def test_baseline_column(shared, col, cls):
    base = baseline(shared, cls)[col]
    got = run_column(shared, col, "shape2D" if cls == "shape2D" else "all")
    diffs = {}
    for name, value in base.items():
        if name.startswith("diagnostics"):
            continue
        assert name in got, f"{name} missing for {col}"
        assert not math.isnan(got[name]), f"{name} is NaN for {col}"
        diffs[name] = rel_diff(got[name], float(value))
    bad = {k: v for k, v in diffs.items() if v >= 0.03}
    assert not bad, f"{col}: outside PyRadiomics' 3 % rule: {bad}"
    tight = {k: v for k, v in diffs.items()
             if v > (1e-3 if k.rsplit("_", 1)[1] in MESH else 1e-6)}
    assert not tight, f"{col}: above 1e-6: {tight}"


MATRIX_CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")


@pytest.mark.parametrize("case", MATRIX_CASES)
@pytest.mark.parametrize("cls", ["glcm", "glrlm", "glszm", "gldm", "ngtdm"])
def test_matrices(shared, case, cls):
    """Texture matrices under each case's default configuration vs ``<case>_<class>.npy``."""
    d = data_dir(shared)
    s = column_settings(shared, case, "glcm")
    img, mask, spacing, s = prepare_case(d / f"{case}_image.nrrd", d / f"{case}_label.nrrd",
                                         {"setting": s})
    q, _ = discretize(img, mask, s.get("binWidth", 25))
    if cls == "glcm":
        mat = T.glcm_matrix(q, s, spacing)[0]
    elif cls == "glrlm":
        mat = T.glrlm_matrix(q, s, spacing)[0]
    elif cls == "glszm":
        mat = T.glszm_matrix(q, s)[0]
    elif cls == "gldm":
        mat = T.gldm_matrix(q, s)[0]
    else:
        mat = T.ngtdm_matrix(q, s)
    expected = np.load(d / "baseline" / f"{case}_{cls}.npy")
    assert mat.shape == expected.shape
    assert np.max(np.abs(mat - expected)) < 1e-3


def test_every_class_is_covered(shared):
    covered = {cls for _, cls in scenarios(shared)}
    assert covered == set(CLASSES)


def test_packaged_mesh_table_matches_derivation():
    import json

    from radsig.features.pyradiomics._mesh import TABLE_FILE, derive_table

    stored = json.loads(TABLE_FILE.read_text())
    derived = derive_table()
    assert len(stored) == 256
    for code, (s, d) in enumerate(zip(stored, derived, strict=True)):
        np.testing.assert_array_equal(np.asarray(s).reshape(-1, 3, 3) / 2, d, err_msg=str(code))


def _zone_labels_scipy(work):
    """Reference: label each grey level separately with SciPy (26-connectivity)."""
    from scipy import ndimage

    labels = np.zeros(work.shape, dtype=np.int64)
    offset = 0
    for lev in np.unique(work[work > 0]):
        lab, n = ndimage.label(work == lev, structure=np.ones((3, 3, 3), dtype=bool))
        labels[lab > 0] = lab[lab > 0] + offset
        offset += n
    return labels


def test_zone_labelling_matches_per_level_reference():
    """GLSZM zones from SimpleITK's one-pass labelling equal SciPy's per-level labelling."""
    from collections import Counter

    from radsig.features.pyradiomics import _matrices as M

    rng = np.random.default_rng(7)
    for _ in range(10):
        work = rng.integers(0, 5, size=(9, 10, 11)).astype(np.int32)
        inside = work > 0
        zones = []
        for labels in (M._zone_labels_itk(work), _zone_labels_scipy(work)):
            ids, first = np.unique(labels[inside], return_index=True)
            sizes = np.bincount(labels[inside])[ids]
            zones.append(Counter(zip(sizes.tolist(), work[inside][first].tolist(), strict=True)))
        assert zones[0] == zones[1]
