"""Checks on input that is valid but suspicious: they warn (:class:`InputWarning`), naming the
file, the cause and what radsig did. The image and mask checks themselves live in
:func:`radsig.io.image.read_file` and :func:`radsig.io.image.binarise_mask`."""

from __future__ import annotations

import warnings

from radsig.exceptions import InputWarning

#: Largest/smallest voxel edge above which texture features without resampling are direction-biased.
ANISOTROPY_RATIO = 2.0


def warn_anisotropic(spacing, *, where, option: str, in_plane: bool = False) -> bool:
    """Warn when the voxels are anisotropic (ratio > :data:`ANISOTROPY_RATIO`) and the settings
    do not resample (in-plane spacing only when every texture aggregation is 2-D)."""
    edges = [float(v) for v in (tuple(spacing)[:2] if in_plane else tuple(spacing)[:3])]
    if not edges or min(edges) <= 0 or max(edges) / min(edges) <= ANISOTROPY_RATIO:
        return False
    shown = " x ".join(f"{v:g}" for v in spacing)
    warnings.warn(f"{where}: voxels are anisotropic ({shown} mm) and the settings do not "
                  f"resample; texture and shape features then depend on direction (set {option} "
                  "to an isotropic spacing)", InputWarning, stacklevel=3)
    return True
