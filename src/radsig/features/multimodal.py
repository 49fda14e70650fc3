"""Several modalities of one tumour (PET/CT, multiphase CT) in one feature row.

The ROI is drawn on one modality; it is carried onto the others through world coordinates
(:func:`radsig.io.multimodal.transfer_mask`), each modality is extracted with its own
settings, and feature names get the modality as prefix (``CT_stat_mean``, ``PET_SUVmax``).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from radsig._typing import PathLike
from radsig.exceptions import ConfigError


def extract_multimodal(images: Mapping[str, PathLike], mask: PathLike, *, mask_on: str,
                       settings=None, roi: str | None = None, label: int | None = None,
                       case: str | None = None, pet_indices: bool = True) -> pd.DataFrame:
    """Extract features of every modality in *images* with the ROI drawn on ``images[mask_on]``.

    Parameters
    ----------
    images : mapping of str to path
        Modality prefix (``"CT"``, ``"PET"``…) → image file or DICOM series folder.
    mask : path
        Mask file (label map, RTSTRUCT or SEG) drawn on the *mask_on* image.
    settings : settings, path or mapping of modality to settings, optional
        One feature setting for all modalities, or one per modality.
    pet_indices : bool
        Add SUVmax, SUVpeak, SUVmean, MTV and TLG for modalities named ``PET``/``PT``.

    Returns
    -------
    DataFrame
        Long format (``feature, family, ibsi_code, aggregation_code, value``) with prefixed names.
    """
    from radsig.config import load_settings
    from radsig.features import extract_case
    from radsig.features.pet import pet_indices as _pet_indices
    from radsig.io import read_image, read_mask
    from radsig.io.multimodal import transfer_mask

    if mask_on not in images:
        raise ConfigError(f"mask_on={mask_on!r} is not one of the modalities {list(images)}")
    loaded = {m: read_image(p, case=case) for m, p in images.items()}
    base_mask = read_mask(mask, loaded[mask_on], label=label, roi=roi, case=case)
    frames = []
    for modality, image in loaded.items():
        m_mask = base_mask if modality == mask_on else transfer_mask(base_mask, image, case=case)
        m_settings = settings.get(modality) if isinstance(settings, Mapping) else settings
        table = extract_case(image, m_mask, load_settings(m_settings), case=case).copy()
        if pet_indices and modality.upper() in {"PET", "PT"}:
            extra = _pet_indices(image, m_mask, case=case)
            table = pd.concat([table, pd.DataFrame({
                "feature": list(extra), "family": "pet_indices", "ibsi_code": "",
                "aggregation_code": "", "value": list(extra.values())})], ignore_index=True)
        table["feature"] = f"{modality}_" + table["feature"].astype(str)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)
