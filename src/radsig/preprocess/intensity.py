"""Re-segmentation and discretisation of ROI intensities (IBSI 2.x), vectorised.

Only the intensity mask is re-segmented; the morphological mask keeps the (interpolated) ROI.
"""

from __future__ import annotations

import numpy as np

from radsig.exceptions import ConfigError


def resegment(image: np.ndarray, morph_mask: np.ndarray, value_range=None,
              outlier_sigma: float | None = None) -> np.ndarray:
    """Intensity mask: *morph_mask* restricted to *value_range* and to mean ± k·SD.

    Parameters
    ----------
    image : ndarray
        Intensities.
    morph_mask : ndarray of bool
        Morphological ROI mask.
    value_range : sequence of two (float or None), optional
        Closed interval kept (IBSI range re-segmentation); None ends are open.
    outlier_sigma : float, optional
        Keep voxels within mean ± ``outlier_sigma`` · SD of the ROI intensities (IBSI: 3).
        With a range as well, the intersection of both intervals is kept.

    Returns
    -------
    ndarray of bool
    """
    lo, hi = -np.inf, np.inf
    if value_range is not None:
        lo = value_range[0] if value_range[0] is not None else -np.inf
        hi = value_range[1] if value_range[1] is not None else np.inf
    if outlier_sigma is not None:
        values = image[morph_mask]
        mu, sd = float(values.mean()), float(values.std())
        lo, hi = max(lo, mu - outlier_sigma * sd), min(hi, mu + outlier_sigma * sd)
    return morph_mask & (image >= lo) & (image <= hi)


def fixed_bin_size(values: np.ndarray, width: float, low: float) -> np.ndarray:
    """FBS (Q3RU): ``floor((x - low) / width) + 1``; *low* is the re-segmentation lower bound
    (or the ROI minimum when there is none)."""
    return (np.floor((values - low) / width + 1e-9) + 1).astype(np.int32)


def fixed_bin_number(values: np.ndarray, n_bins: int, low: float | None = None,
                     high: float | None = None) -> np.ndarray:
    """FBN (K15C): ``floor(N (x - min) / (max - min)) + 1``, with the maximum put in bin N."""
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    if high <= low:
        return np.ones(values.shape, dtype=np.int32)
    levels = np.floor(n_bins * (values - low) / (high - low)).astype(np.int64) + 1
    return np.clip(levels, 1, n_bins).astype(np.int32)


#: Most grey levels a discretisation may give: texture matrices grow with its square, and more
#: levels than this come from a bin width typed in the wrong unit, not from a design.
MAX_GREY_LEVELS = 65536


def discretise(values: np.ndarray, method: str, *, bin_width: float | None = None,
               bin_number: int | None = None, low: float | None = None) -> tuple[np.ndarray, int]:
    """Grey levels ``1..N_g`` of ROI *values* and ``N_g``.

    ``method`` is ``fbs`` (needs *bin_width*; *low* = re-segmentation lower bound or None for
    the ROI minimum), ``fbn`` (needs *bin_number*) or ``none`` (integer intensities ≥ 1 are
    used as grey levels, as for the IBSI digital phantom).
    """
    if values.size == 0:
        return values.astype(np.int32), 0
    if method == "fbs":
        low = float(values.min()) if low is None else low
        n_levels = np.floor((float(values.max()) - low) / bin_width + 1e-9) + 1
        if not n_levels <= MAX_GREY_LEVELS:
            raise ConfigError(
                f"discretisation bin_width {bin_width:g} gives {n_levels:.3g} grey levels over the "
                f"ROI's intensities {low:g} to {float(values.max()):g} (at most "
                f"{MAX_GREY_LEVELS}); use a larger bin width")
        levels = fixed_bin_size(values, bin_width, low)
        return levels, int(levels.max())
    if method == "fbn":
        return fixed_bin_number(values, bin_number), int(bin_number)
    rounded = np.rint(values)
    if not np.allclose(rounded, values) or rounded.min() < 1:
        raise ConfigError(
            "discretisation method 'none' needs integer intensities ≥ 1 in the ROI "
            f"(found {values.min():g}..{values.max():g}); use 'fbs' or 'fbn'")
    levels = rounded.astype(np.int32)
    return levels, int(levels.max())


def ivh_values(values: np.ndarray, method: str, *, value_range=None,
               bin_width: float | None = None, bin_number: int | None = None) -> dict:
    """Intensities, range ``G`` and step ``w_d`` of the intensity-volume histogram.

    The three IBSI cases: ``none`` (calibrated, discrete: the intensities themselves, w = 1,
    G = the re-segmentation range or the ROI min/max), ``fbs`` (calibrated, continuous: FBS bins
    from the range's lower bound, represented by their centres, w = bin width) and ``fbn``
    (arbitrary units: FBN bin numbers, G = [1, N], w = 1).
    """
    rng = list(value_range) if value_range is not None else [None, None]
    vmin, vmax = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    low = rng[0] if rng[0] is not None else vmin
    high = rng[1] if rng[1] is not None else vmax
    if method == "none":
        return {"values": values, "low": low, "high": high, "width": 1.0}
    if method == "fbs":
        bins = fixed_bin_size(values, bin_width, low)
        centres = low + (bins - 0.5) * bin_width
        return {"values": centres, "low": low + 0.5 * bin_width,
                "high": high - 0.5 * bin_width, "width": float(bin_width)}
    bins = fixed_bin_number(values, bin_number)
    return {"values": bins.astype(np.float64), "low": 1.0, "high": float(bin_number),
            "width": 1.0}
