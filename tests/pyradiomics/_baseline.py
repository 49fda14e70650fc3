"""Helpers shared by the PyRadiomics baseline tests: read the baselines, run one configuration."""

from __future__ import annotations

import ast
import functools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

SHARED_DIR = Path(__file__).resolve().parents[1] / "data"  # tests/data (see SOURCES.md)
CASES = ("brain1", "brain2", "breast1", "lung1", "lung2")
CLASSES = ("firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm", "shape", "shape2D")


def data_dir(shared: Path) -> Path:
    return shared / "realdata" / "pyradiomics"


@functools.lru_cache(maxsize=None)
def baseline(shared: Path, cls: str) -> pd.DataFrame:
    return pd.read_csv(data_dir(shared) / "baseline" / f"baseline_{cls}.csv", index_col=0)


def scenarios(shared: Path):
    """(config column, class) for every column of every baseline file."""
    out = []
    for cls in CLASSES:
        for col in baseline(shared, cls).columns:
            out.append((col, cls))
    return out


def column_settings(shared: Path, col: str, cls: str) -> dict:
    text = baseline(shared, cls).loc["diagnostics_Configuration_Settings", col]
    settings = ast.literal_eval(text)
    settings.pop("additionalInfo", None)
    return settings


def single_slice_mask(mask_path: Path):
    """The shape2D test mask: the label's largest axial slice, on the 3D grid (as upstream)."""
    import SimpleITK as sitk

    m = sitk.ReadImage(str(mask_path))
    arr = sitk.GetArrayFromImage(m)
    k = int(np.argmax([(arr[z] == 1).sum() for z in range(arr.shape[0])]))
    out = np.zeros_like(arr)
    out[k] = arr[k]
    img = sitk.GetImageFromArray(out)
    img.CopyInformation(m)
    return img


@functools.lru_cache(maxsize=None)
def run_column(shared: Path, col: str, cls_group: str) -> dict[str, float]:
    """radsig's features for one configuration column (all classes of the group at once)."""
    from radsig.features.pyradiomics import extract_case_pyradiomics

    case = col.split("_")[0]
    d = data_dir(shared)
    cls = next(c for c in CLASSES if col in baseline(shared, c).columns)
    settings = column_settings(shared, col, cls)
    if cls_group == "shape2D":
        mask, classes = single_slice_mask(d / f"{case}_label.nrrd"), {"shape2D": None}
    else:
        mask = d / f"{case}_label.nrrd"
        classes = {c: None for c in CLASSES if c != "shape2D"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = extract_case_pyradiomics(d / f"{case}_image.nrrd", mask,
                                      {"setting": settings, "featureClass": classes}, case=case)
    return dict(zip(df["feature"], df["value"], strict=True))


def rel_diff(value: float, base: float) -> float:
    """PyRadiomics' rule: |1 - value/base|, or 0/1 for an exact match where the baseline is 0."""
    if base == 0:
        return 0.0 if value == 0 else 1.0
    return abs(1.0 - value / base)
