"""Features of a habitat map: fractions, fragmentation and intratumour-heterogeneity (ITH) scores."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

_CONNECT = ndimage.generate_binary_structure(3, 1)


def habitat_features(labels_map: np.ndarray, k: int) -> dict[str, float]:
    """Per-habitat volume fraction and connected subregions, plus ITH scores.

    Parameters
    ----------
    labels_map : ndarray of int, shape (z, y, x)
        Habitat index (0..k-1) inside the ROI, -1 outside.

    Returns
    -------
    dict
        ``hab{h}_fraction``, ``hab{h}_n_regions`` for each habitat; ``ith_n_regions`` (all
        connected subregions, 6-connectivity), ``ith_entropy`` (Shannon entropy of the fractions,
        bits), ``ith_spatial`` (fraction of face-adjacent ROI voxel pairs whose habitats differ:
        0 for one habitat, higher when habitats interleave) and ``ith_score`` (1 − Σ a_i²/A over
        connected subregions, an ITH score in the spirit of Li et al. 2023: 0 for one region,
        towards 1 for many small ones).
    """
    roi = labels_map >= 0
    n = roi.sum()
    out: dict[str, float] = {}
    areas = []
    for h in range(k):
        comp, nreg = ndimage.label(labels_map == h, structure=_CONNECT)
        out[f"hab{h}_fraction"] = float((labels_map == h).sum() / n)
        out[f"hab{h}_n_regions"] = float(nreg)
        if nreg:
            areas.append(np.bincount(comp.ravel())[1:])
    areas = np.concatenate(areas) if areas else np.array([n])
    fr = np.array([out[f"hab{h}_fraction"] for h in range(k)])
    fr = fr[fr > 0]
    diff = same = 0
    for ax in range(3):
        a = np.moveaxis(labels_map, ax, 0)
        both = (a[1:] >= 0) & (a[:-1] >= 0)
        diff += int((both & (a[1:] != a[:-1])).sum())
        same += int(both.sum())
    out["ith_n_regions"] = float(len(areas))
    out["ith_entropy"] = float(-(fr * np.log2(fr)).sum())
    out["ith_spatial"] = float(diff / same) if same else 0.0
    out["ith_score"] = float(1.0 - (areas.astype(float) ** 2).sum() / float(n) ** 2)
    return out
