"""The prepared region of interest that every feature family reads.

The preprocessing pipeline (crop → resample → round → re-segment → discretise) ends in one
:class:`PreparedRoi`; feature families never touch files, settings objects or SimpleITK.
Arrays are NumPy, indexed ``(z, y, x)``, cropped to the ROI bounding box plus a margin
(at least 10 mm each side where the image allows, so local-intensity peaks see neighbours);
the masks are ``False`` in the margin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class PreparedRoi:
    """Image and masks after preprocessing, ready for feature computation.

    Attributes
    ----------
    image : ndarray of float64, shape (z, y, x)
        Intensities after interpolation and rounding (not discretised), margin included.
    morph_mask : ndarray of bool, shape (z, y, x)
        Morphological mask (interpolated ROI, not re-segmented).
    int_mask : ndarray of bool, shape (z, y, x)
        Intensity mask (morphological mask after range / outlier re-segmentation).
    spacing : tuple of float
        Voxel spacing ``(z, y, x)`` in mm.
    levels : ndarray of int32, shape (z, y, x) or None
        Discretised grey levels ``1..n_levels`` inside ``int_mask``; 0 elsewhere.
    n_levels : int
        Number of grey levels ``N_g`` of the discretisation (texture families and IH).
    origin : tuple of float
        World position ``(z, y, x)`` in mm of voxel ``[0, 0, 0]`` of these arrays.
    extra : dict
        Anything else a family needs (e.g. IVH discretisation), keyed by name.
    """

    image: np.ndarray
    morph_mask: np.ndarray
    int_mask: np.ndarray
    spacing: tuple[float, float, float]
    levels: np.ndarray | None = None
    n_levels: int = 0
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    extra: dict = field(default_factory=dict)
