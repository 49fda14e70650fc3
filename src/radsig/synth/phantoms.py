"""Small synthetic CT and PET-like tumour volumes for the demo cohort.

Each patient gets one lesion on a cube of fixed physical size. The voxel spacing, noise,
intensity offset and PET calibration come from the patient's centre (scanner differences);
the tumour's texture and uptake come from an image latent ``s`` that the cohort generator
ties (or, in the negative control, does not tie) to the hidden immune phenotype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

FOV_MM = 36.0


@dataclass(frozen=True)
class Scanner:
    """Acquisition differences of one centre."""

    name: str
    spacing_mm: float
    ct_noise_hu: float
    ct_offset_hu: float
    pet_calibration: float
    pet_noise: float


CENTRES: dict[str, Scanner] = {
    "A": Scanner("A", 1.0, 6.0, 0.0, 1.00, 0.06),
    "B": Scanner("B", 1.25, 10.0, 12.0, 1.10, 0.08),
    "C": Scanner("C", 1.5, 14.0, -10.0, 0.90, 0.10),
    "D": Scanner("D", 1.2, 8.0, 6.0, 1.05, 0.07),
}


def _correlated_field(rng: np.random.Generator, shape: tuple[int, ...], sigma_vox: float) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=max(sigma_vox, 0.3))
    return (field - field.mean()) / (field.std() + 1e-12)


def _lesion_mask(rng: np.random.Generator, n: int, spacing: float, radius_mm: float) -> np.ndarray:
    """An irregular ellipsoid (random axes, lobulated surface) centred in the cube."""
    axes = radius_mm * rng.uniform(0.8, 1.2, size=3)
    coords = (np.indices((n, n, n)) - (n - 1) / 2.0) * spacing
    r = np.sqrt(sum((coords[i] / axes[i]) ** 2 for i in range(3)))
    lobes = 0.12 * _correlated_field(rng, (n, n, n), 4.0 / spacing)
    mask = r <= 1.0 + lobes
    labels, count = ndimage.label(mask)
    if count > 1:  # keep the largest connected piece
        sizes = ndimage.sum(mask, labels, index=range(1, count + 1))
        mask = labels == (int(np.argmax(sizes)) + 1)
    return mask


def _to_image(array: np.ndarray, spacing: float) -> sitk.Image:
    image = sitk.GetImageFromArray(array.astype(np.float32))
    image.SetSpacing((spacing, spacing, spacing))
    image.SetOrigin((0.0, 0.0, 0.0))
    return image


def make_lesion(
    rng: np.random.Generator, scanner: Scanner, *, s: float, radius_mm: float
) -> tuple[sitk.Image, sitk.Image, sitk.Image]:
    """Return ``(ct, pet, mask)`` for one lesion with image latent ``s`` (≈ N(0, 1)).

    Higher ``s`` ("inflamed") gives a more heterogeneous, finer-grained CT texture and a
    higher, more heterogeneous PET uptake.
    """
    sp = scanner.spacing_mm
    n = int(round(FOV_MM / sp))
    mask = _lesion_mask(rng, n, sp, radius_mm)

    amp = float(np.clip(16.0 + 9.0 * s, 3.0, None))
    grain_mm = float(np.clip(2.6 - 0.7 * s, 0.8, 4.5))
    texture = _correlated_field(rng, (n, n, n), grain_mm / sp)
    ct = np.full((n, n, n), 55.0) + 8.0 * _correlated_field(rng, (n, n, n), 3.0 / sp)
    ct[mask] = 38.0 + 4.0 * s + amp * texture[mask]
    ct = ct + rng.normal(0.0, scanner.ct_noise_hu, size=ct.shape) + scanner.ct_offset_hu
    ct = ndimage.gaussian_filter(ct, sigma=0.6 / sp)

    s_pet = s + 0.4 * rng.standard_normal()
    uptake = float(np.clip(3.0 + 1.4 * s_pet, 0.8, None))
    pet = np.full((n, n, n), 1.2)
    pet_field = _correlated_field(rng, (n, n, n), 2.0 / sp)
    pet[mask] = uptake * (1.0 + float(np.clip(0.15 + 0.08 * s, 0.02, None)) * pet_field[mask])
    pet = ndimage.gaussian_filter(pet, sigma=2.5 / sp)
    pet = pet * (1.0 + rng.normal(0.0, scanner.pet_noise, size=pet.shape))
    pet = np.clip(pet * scanner.pet_calibration, 0.0, None)

    m = sitk.GetImageFromArray(mask.astype(np.uint8))
    m.SetSpacing((sp, sp, sp))
    return _to_image(ct, sp), _to_image(pet, sp), m
