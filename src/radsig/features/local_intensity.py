"""IBSI local intensity features (family 9ST6): local and global intensity peak, in 3D (DHQ4).

The local mean is the mean image intensity over every voxel whose centre lies within
``r = (3 / (4 pi))^(1/3) cm ~ 6.2 mm`` (world distance, a 1 cm^3 sphere) of a centre voxel,
voxels outside the ROI included. It is one convolution with a ball kernel for the whole
ROI (by FFT: O(N log N) whatever the kernel size, where a direct ``scipy.ndimage`` filter
costs N times the ~500 kernel voxels of a 1 mm grid). Voxels beyond the image edge are left
out of the mean (a second convolution counts the voxels present).

- Local intensity peak (VJGA): the local mean at the voxel of maximum intensity in the
  intensity mask; when several voxels share the maximum, the highest of their local means
  (as the IBSI manual states).
- Global intensity peak (0F91): the highest local mean over all intensity-mask voxels.
"""

from __future__ import annotations

import warnings

import numpy as np

from radsig.exceptions import FeatureWarning
from radsig.features._fft import irfftn, next_fast_len, rfftn
from radsig.preprocess.roi import PreparedRoi

FEATURES = ("loc_peak_loc", "loc_peak_glob")
PEAK_RADIUS_MM = 10.0 * (3.0 / (4.0 * np.pi)) ** (1.0 / 3.0)


def ball_kernel(spacing: tuple[float, float, float], radius: float = PEAK_RADIUS_MM) -> np.ndarray:
    """Boolean ball of voxels whose centres lie within ``radius`` mm of the central voxel."""
    half = [int(np.floor(radius / float(s))) for s in spacing]
    axes = [np.arange(-h, h + 1) * float(s) for h, s in zip(half, spacing, strict=True)]
    dz, dy, dx = np.meshgrid(*axes, indexing="ij", sparse=True)
    return (dz**2 + dy**2 + dx**2) <= radius**2 * (1.0 + 1e-12)


def local_means(image: np.ndarray, mask: np.ndarray, spacing: tuple[float, float, float],
                radius: float = PEAK_RADIUS_MM) -> np.ndarray:
    """Mean intensity in the sphere around each voxel of ``mask``, in the order of ``np.nonzero``."""
    kernel = ball_kernel(spacing, radius)
    half = [k // 2 for k in kernel.shape]
    idx = np.nonzero(mask)
    box = tuple(slice(max(int(i.min()) - h, 0), int(i.max()) + h + 1)
                for i, h in zip(idx, half, strict=True))
    sub = np.asarray(image, dtype=np.float64)[box]
    sums, counts = _convolve_same((sub, np.ones_like(sub)), kernel.astype(np.float64))
    local = tuple(i - s.start for i, s in zip(idx, box, strict=True))
    return sums[local] / np.rint(counts[local])


def _convolve_same(images: tuple[np.ndarray, ...], kernel: np.ndarray) -> list[np.ndarray]:
    """Each image convolved with the odd-sized *kernel*, cropped to the image ('same').

    What ``scipy.signal.fftconvolve(image, kernel, mode="same")`` computes, written with
    NumPy's FFT because importing ``scipy.signal`` costs ~0.6 s in every worker process (it
    pulls in ``scipy.stats``; ``scipy.fft`` alone ≈ 0.1 s), and so the kernel's spectrum is
    computed once for both images.
    """
    full = [a + k - 1 for a, k in zip(images[0].shape, kernel.shape, strict=True)]
    sizes = [next_fast_len(n) for n in full]
    k_hat = rfftn(kernel, sizes)
    crop = tuple(slice((k - 1) // 2, (k - 1) // 2 + a)
                 for a, k in zip(images[0].shape, kernel.shape, strict=True))
    return [irfftn(rfftn(img, sizes) * k_hat, sizes)[crop] for img in images]


def compute(roi: PreparedRoi, **options) -> dict[str, float]:
    """Local and global intensity peaks of a prepared ROI.

    Parameters
    ----------
    roi : PreparedRoi
        ``image`` with its margin (neighbours outside the ROI count), ``int_mask`` and
        ``spacing`` in mm (``(z, y, x)``).
    **options
        ``radius`` (mm) overrides the 1 cm^3 sphere radius; other options are ignored.

    Returns
    -------
    dict of str to float
        ``loc_peak_loc`` and ``loc_peak_glob``; NaN with a ``FeatureWarning`` when the
        intensity mask is empty.
    """
    mask = np.asarray(roi.int_mask, dtype=bool)
    if not mask.any():
        warnings.warn("local intensity features not computed: the intensity mask is empty; "
                      "reported as missing (NaN)", FeatureWarning, stacklevel=2)
        return dict.fromkeys(FEATURES, float("nan"))
    radius = float(options.get("radius", PEAK_RADIUS_MM))
    means = local_means(roi.image, mask, tuple(roi.spacing), radius)
    values = np.asarray(roi.image, dtype=np.float64)[mask]
    at_max = values == values.max()
    return {"loc_peak_loc": float(means[at_max].max()), "loc_peak_glob": float(means.max())}
