"""Several lesions per patient in a study: extract each lesion, then one row per patient.

A manifest with a lesion column (``lesions.column`` of the study file) has one row per lesion and
modality. Each lesion is extracted under the ID ``<patient>::<lesion>``; the wide table is then
aggregated per patient by :func:`radsig.cohort.aggregate.aggregate_lesions` (largest lesion,
volume-weighted mean or maximum). Lesion volume is measured on the mask (voxel count × voxel
volume) so it does not depend on which feature families are enabled.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEP = "::"


def split_lesions(manifest: pd.DataFrame, id_column: str, column: str) -> pd.DataFrame:
    """The manifest with lesion-level IDs ``patient::lesion`` (unchanged without the column)."""
    if column not in manifest.columns:
        return manifest
    out = manifest.copy()
    out[id_column] = out[id_column].astype(str) + SEP + out[column].astype(str)
    return out


def _mask_volume(path: str) -> float:
    import SimpleITK as sitk

    from radsig.io.image import read_file

    img = read_file(path, what="mask")  # the checked reader (short files, 4-D, NaN)
    return float((sitk.GetArrayViewFromImage(img) > 0).sum() * np.prod(img.GetSpacing()))


def aggregate_wide(wide: pd.DataFrame, manifest: pd.DataFrame, id_column: str, method: str) -> pd.DataFrame:
    """Lesion-level wide table (index ``patient::lesion``) → one row per patient.

    Adds ``LESIONS_n_lesions`` and ``LESIONS_total_volume`` (mm³) columns.
    """
    from radsig.cohort.aggregate import aggregate_lesions

    if wide.empty or not any(SEP in str(i) for i in wide.index):
        return wide
    vols = manifest.drop_duplicates(id_column).set_index(id_column)["mask"].map(_mask_volume)
    table = wide.copy()
    table["_volume"] = vols.reindex(table.index).to_numpy(float)
    table["patient_id"] = [str(i).split(SEP, 1)[0] for i in table.index]
    feats = [c for c in wide.columns]
    agg = aggregate_lesions(table.reset_index(drop=True), feats, method=method, volume_feature="_volume")
    agg = agg.set_index("patient_id")
    out = agg[feats].copy()
    out["LESIONS_n_lesions"] = agg["n_lesions"].astype(float)
    out["LESIONS_total_volume"] = agg["total_volume"].astype(float)
    out.index.name = id_column
    return out


def patient_failures(fails: pd.DataFrame, id_column: str) -> pd.DataFrame:
    """Failures keyed by patient (a patient fails if any of its lesions failed)."""
    if fails.empty:
        return fails
    fails = fails.copy()
    fails[id_column] = fails[id_column].astype(str).str.split(SEP, n=1).str[0]
    return fails
