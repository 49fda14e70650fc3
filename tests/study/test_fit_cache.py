"""What the shared feature cache keeps of deep / habitat fitting (``run_study(cache_dir=...)``)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from radsig.study import extra_features as xf


def _study(tmp_path: Path, deep: SimpleNamespace) -> SimpleNamespace:
    return SimpleNamespace(features=SimpleNamespace(deep=deep), seed=0,
                           path=lambda p: tmp_path / p, id_column="patient_id")


def _rows(tmp_path: Path, image_factory, n: int = 3) -> pd.DataFrame:
    import SimpleITK as sitk

    rows = []
    for i in range(n):
        img, mask = image_factory(seed=i)
        sitk.WriteImage(img, str(tmp_path / f"img{i}.nii.gz"))
        sitk.WriteImage(mask, str(tmp_path / f"mask{i}.nii.gz"))
        rows.append({"patient_id": f"P{i}", "image": str(tmp_path / f"img{i}.nii.gz"),
                     "mask": str(tmp_path / f"mask{i}.nii.gz"), "label": 1, "modality": "CT"})
    return pd.DataFrame(rows)


def test_given_weights_with_a_cache(tmp_path, image_factory):
    """``deep.method: weights`` copies the given file (nothing trained, nothing cached)."""
    from radsig.deep.backbones import build_backbone
    from radsig.deep.crops import CropSpec
    from radsig.deep.weights import save_weights

    save_weights(build_backbone({"dims": 2, "in_channels": 3, "width": 4, "n_features": 8}), CropSpec(),
                 tmp_path / "w.npz")
    deep = SimpleNamespace(method="weights", weights="w.json")
    entry = xf._fit_deep(_study(tmp_path, deep), _rows(tmp_path, image_factory, 1), None, tmp_path / "out",
                         "CT", None, cache=tmp_path / "cache")
    assert (tmp_path / "out" / entry["weights"]).is_file() and "extract_weights" not in entry


def test_key_follows_image_content_not_paths(tmp_path, image_factory):
    rows = _rows(tmp_path, image_factory)
    key = xf._fit_key(rows, tmp_path / "cache", {"epochs": 3})
    moved = rows.copy()
    for col in ("image", "mask"):
        for p in rows[col]:
            (tmp_path / "copy").mkdir(exist_ok=True)
            (tmp_path / "copy" / Path(p).name).write_bytes(Path(p).read_bytes())
        moved[col] = [str(tmp_path / "copy" / Path(p).name) for p in rows[col]]
    assert xf._fit_key(moved, tmp_path / "cache", {"epochs": 3}) == key
    assert xf._fit_key(rows, tmp_path / "cache", {"epochs": 4}) != key
    assert xf._fit_key(rows.iloc[:2], tmp_path / "cache", {"epochs": 3}) != key
