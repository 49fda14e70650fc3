"""ROI-centred crops of fixed physical size, normalised per modality, as CNN input.

A crop is resampled (linear) onto a cube of ``size_mm`` around the ROI's centre of mass
with ``n_voxels`` voxels per side, so tumours from scanners of any resolution give inputs of
the same shape and physical scale. Intensities are mapped to [0, 1]: a HU window for CT, SUV
divided by ``suv_max`` for PET, a per-crop 1–99 percentile stretch otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import SimpleITK as sitk

from radsig.exceptions import ConfigError, EmptyMaskError


@dataclass(frozen=True)
class CropSpec:
    """How crops are made; recorded next to any weights trained or loaded on them."""

    size_mm: float = 64.0
    n_voxels: int = 32
    modality: str = "CT"
    window: tuple[float, float] = (-200.0, 300.0)
    suv_max: float = 15.0
    mode: str = "2.5d"  # "2.5d": 3 axial slices through the centre as channels; "3d": the cube

    def to_dict(self) -> dict:
        d = asdict(self)
        d["window"] = list(self.window)
        return d


def _normalise(arr: np.ndarray, spec: CropSpec) -> np.ndarray:
    mod = spec.modality.upper()
    if mod == "CT":
        lo, hi = spec.window
        out = (arr - lo) / (hi - lo)
    elif mod in {"PET", "PT"}:
        out = arr / spec.suv_max
    else:
        lo, hi = np.percentile(arr, [1, 99])
        out = (arr - lo) / max(hi - lo, 1e-6)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def roi_crop(image: sitk.Image, mask: sitk.Image, spec: CropSpec = CropSpec(), *,
             case: str | None = None) -> np.ndarray:
    """Crop of *image* centred on the ROI of *mask*: (3, n, n) for 2.5D, (1, n, n, n) for 3D."""
    if spec.mode not in {"2.5d", "3d"}:
        raise ConfigError(f"crop mode must be '2.5d' or '3d', got {spec.mode!r}")
    m = sitk.GetArrayViewFromImage(mask) > 0
    if not m.any():
        raise EmptyMaskError("deep-feature ROI is empty", case=case)
    centre_idx = np.argwhere(m).mean(0)[::-1]  # (x, y, z) continuous index
    centre = np.asarray(image.TransformContinuousIndexToPhysicalPoint(centre_idx.tolist()))
    step = spec.size_mm / spec.n_voxels
    n = spec.n_voxels
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    origin = centre - direction @ np.full(3, step * (n - 1) / 2.0)
    ref = sitk.Image([n, n, n], sitk.sitkFloat32)
    ref.SetSpacing([step] * 3)
    ref.SetDirection(image.GetDirection())
    ref.SetOrigin(origin.tolist())
    fill = float(np.min(sitk.GetArrayViewFromImage(image)))
    cube = sitk.GetArrayFromImage(sitk.Resample(sitk.Cast(image, sitk.sitkFloat32), ref, sitk.Transform(),
                                                sitk.sitkLinear, fill))
    cube = _normalise(cube, spec)
    if spec.mode == "3d":
        return cube[None]
    mid = n // 2
    return cube[[mid - 2, mid, mid + 2]]
