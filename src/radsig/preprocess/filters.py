"""Image filters shared by IBSI and PyRadiomics mode, named like PyRadiomics' image types.

:func:`apply_filters` takes a (z, y, x) array — normally the ROI's bounding box plus a margin, so
filters never run over the whole scan — its spacing in mm, and PyRadiomics-style image types
(``{"Original": {}, "LoG": {"sigma": [1, 2]}, "Wavelet": {}}``), and returns one array per derived
image keyed by PyRadiomics' prefix (``original``, ``log-sigma-2-0-mm-3D``, ``wavelet-LLH``,
``wavelet2-HHH``, ``square``, ``squareroot``, ``logarithm``, ``exponential``, ``gradient``,
``lbp-2D``, ``lbp-3D-m1``, ``lbp-3D-k``).

- LoG: SimpleITK's recursive-Gaussian Laplacian with scale normalisation, sigma in mm (computed
  by the optional C extension ``_cfilters`` where it was built: the same numbers, bit
  for bit, several times faster and without holding the GIL).
- Wavelet: PyWavelets' stationary transform (``swtn``), one level at a time on the previous
  approximation, odd axes padded by one wrapped voxel; names read the axes x, y, z, so
  ``wavelet-LLH`` is low-pass in x and y, high-pass in z.
- Square / SquareRoot / Logarithm / Exponential: rescaled to the input's maximum absolute value.
- Gradient: SimpleITK gradient magnitude (spacing-aware unless ``gradientUseSpacing: false``).
- LBP 2D: scikit-image, slice by slice in the plane normal to ``force2Ddimension``.
- LBP 3D: spherical-harmonics LBP on an icosphere (levels ``lbp3DLevels``) plus a kurtosis image;
  it needs the ROI mask (``mask=``).
"""

from __future__ import annotations

import itertools
import os
import threading
import warnings
from functools import partial
from typing import Callable, Iterator

import numpy as np

from radsig.exceptions import ConfigError, FeatureWarning

_CF = None
if not os.environ.get("RADSIG_NO_CKERNELS"):
    try:  # optional C build of the LoG and SWT (setup.py); SimpleITK / PyWavelets otherwise
        from radsig.preprocess import _cfilters as _CF
    except ImportError:
        _CF = None

__all__ = ["apply_filters", "iter_filters", "filter_tasks", "log_name", "filter_margin"]


def _sitk_image(arr: np.ndarray, spacing_zyx):
    import SimpleITK as sitk

    img = sitk.GetImageFromArray(arr)
    img.SetSpacing(tuple(float(s) for s in spacing_zyx[::-1]))
    return img


def log_name(sigma: float) -> str:
    """``log-sigma-<sigma>-mm-3D`` with the dot written as a dash (PyRadiomics' name)."""
    return "log-sigma-%s-mm-3D" % str(sigma).replace(".", "-")


def _log(image, spacing, kw, threads: int | None = None
         ) -> Iterator[tuple[str, Callable[[], np.ndarray]]]:
    """``(name, compute)`` per sigma; *threads*: SimpleITK threads per filter (None: its default).
    """
    size = np.array(image.shape[::-1])
    if size.min() < 4:
        warnings.warn(f"LoG skipped: the image region {tuple(image.shape)} is smaller than 4 "
                      "voxels in some direction", FeatureWarning, stacklevel=4)
        return
    sigmas = kw.get("sigma") or []
    sp = np.array(spacing[::-1], dtype=float)
    if _CF is not None and image.ndim == 3:
        # the same filter in C (bit for bit; releases the GIL, lines filtered in blocks)
        data = np.ascontiguousarray(image, dtype=np.float64)

        def run(sigma):
            out = np.empty(data.shape, dtype=np.float32)
            _CF.laplacian(data, *data.shape, *(float(v) for v in sp), float(sigma), out)
            return out
    else:
        run = partial(_log_itk, _sitk_image(image, spacing), threads)

    for sigma in sigmas:
        if sigma <= 0:
            raise ConfigError(f"LoG sigma must be > 0, got {sigma}")
        if not np.all(size >= np.ceil(sigma / sp) + 1):
            warnings.warn(f"LoG sigma {sigma} mm skipped: the image region {tuple(image.shape)} "
                          "is too small for it", FeatureWarning, stacklevel=4)
            continue
        yield log_name(sigma), partial(run, sigma)


def _log_itk(img, threads, sigma) -> np.ndarray:
    """SimpleITK's scale-normalised recursive-Gaussian LoG (the reference for ``_CF``)."""
    import SimpleITK as sitk

    f = sitk.LaplacianRecursiveGaussianImageFilter()
    f.SetNormalizeAcrossScale(True)
    f.SetSigma(float(sigma))
    if threads:
        f.SetNumberOfThreads(int(threads))
    return sitk.GetArrayFromImage(f.Execute(img))


# Decomposition filters (low, high) of the wavelets the C transform knows, as PyWavelets holds
# them (exact doubles); other wavelets, and float32 images (which PyWavelets transforms in single
# precision), go through PyWavelets itself.
_SWT_FILTERS = {
    "coif1": (["-0x1.0080e215a69a7p-6", "-0x1.29e9ade28a163p-4", "0x1.8a1a02aaa8902p-2",
               "0x1.b48451e096425p-1", "0x1.5a01d84699533p-2", "-0x1.29e9ade28a163p-4"],
              ["0x1.29e9ade28a163p-4", "0x1.5a01d84699533p-2", "-0x1.b48451e096425p-1",
               "0x1.8a1a02aaa8902p-2", "0x1.29e9ade28a163p-4", "-0x1.0080e215a69a7p-6"]),
    "haar": (["0x1.6a09e667f3bcdp-1", "0x1.6a09e667f3bcdp-1"],
             ["-0x1.6a09e667f3bcdp-1", "0x1.6a09e667f3bcdp-1"]),
}


def _swtn_c(data: np.ndarray, filters, axes) -> dict[str, np.ndarray]:
    """``pywt.swtn(data, wavelet, level=1, axes=axes)[0]`` computed by the C kernel: the same
    sub-bands under the same keys, bit for bit (tested)."""
    lo, hi = (np.array([float.fromhex(v) for v in f]) for f in filters)
    coeffs = [("", np.ascontiguousarray(data, dtype=np.float64))]
    for axis in axes:
        shape = coeffs[0][1].shape
        na, n, nb = int(np.prod(shape[:axis])), shape[axis], int(np.prod(shape[axis + 1:]))
        new = []
        for key, x in coeffs:
            a, d = np.empty_like(x), np.empty_like(x)
            _CF.swt(x, na, n, nb, lo, hi, a, d)
            new += [(key + "a", a), (key + "d", d)]
        coeffs = new
    return dict(coeffs)


def _wavelet_all(image, kw) -> list[tuple[str, np.ndarray]]:
    axes = [2, 1, 0]  # x, y, z: decomposition names read in this order
    if kw.get("force2D", False):
        axes.remove(kw.get("force2Ddimension", 0))
    wname = kw.get("wavelet", "coif1")
    if _CF is not None and wname in _SWT_FILTERS and image.dtype != np.float32:
        def swtn(x, filters=_SWT_FILTERS[wname]):
            return _swtn_c(x, filters, axes)
    else:
        import pywt

        wavelet = pywt.Wavelet(wname)

        def swtn(x):
            return pywt.swtn(x, wavelet, level=1, start_level=0, axes=axes)[0]
    level, start = int(kw.get("level", 1)), int(kw.get("start_level", 0))
    odd = [d % 2 for d in image.shape]
    data = np.pad(image, [(0, o) for o in odd], mode="wrap")
    back = tuple(slice(None, -1 if o else None) for o in odd)
    approx_key = "a" * len(axes)
    for _ in range(start):
        data = swtn(data)[approx_key]
    out = []
    n_done = 0
    for idx in range(1, level + 1):
        dec = swtn(data)
        data = dec.pop(approx_key)
        prefix = "wavelet" if idx == 1 else f"wavelet{idx}"
        for key in list(dec):  # popped as copied: one decomposition at a time held twice
            name = key.replace("a", "L").replace("d", "H")
            out.append((f"{prefix}-{name}", np.ascontiguousarray(dec.pop(key)[back])))
        n_done = idx
    prefix = "wavelet" if n_done <= 1 else f"wavelet{n_done}"
    out.append((f"{prefix}-{'L' * len(axes)}", np.ascontiguousarray(data[back])))
    return out


def _wavelet_names(kw) -> list[str]:
    """The names :func:`_wavelet_all` gives, in its order (without computing anything)."""
    nd = 2 if kw.get("force2D", False) else 3
    level = int(kw.get("level", 1))
    keys = ["".join(k) for k in itertools.product("ad", repeat=nd)][1:]  # pywt's order
    names = []
    for idx in range(1, level + 1):
        prefix = "wavelet" if idx == 1 else f"wavelet{idx}"
        names += [f"{prefix}-{k.replace('a', 'L').replace('d', 'H')}" for k in keys]
    prefix = "wavelet" if level <= 1 else f"wavelet{level}"
    return names + [f"{prefix}-{'L' * nd}"]


class _Once:
    """Computes ``fn()`` once, whichever thread asks first; the others wait for it. Each result
    is handed out once and then dropped, so memory is freed as the images are used."""

    def __init__(self, fn) -> None:
        self._fn, self._lock, self._out = fn, threading.Lock(), None

    def take(self, name: str) -> np.ndarray:
        with self._lock:
            if self._out is None:
                self._out = dict(self._fn())
            return self._out.pop(name)


def _wavelet(image, spacing, kw) -> Iterator[tuple[str, Callable[[], np.ndarray]]]:
    """``(name, compute)`` per decomposition; one transform serves all of them."""
    names = _wavelet_names(kw)
    once = _Once(lambda: _wavelet_all(image, kw))
    for name in names:
        yield name, partial(once.take, name)


def _peak(im, peak):
    return float(np.abs(im).max()) if peak is None else float(peak)


def _square(image, peak=None):
    im = image.astype(np.float64)
    return (im / np.sqrt(_peak(im, peak))) ** 2


def _squareroot(image, peak=None):
    im = image.astype(np.float64)
    return np.sign(im) * np.sqrt(np.abs(im) * _peak(im, peak))


def _logarithm(image, peak=None):
    im = image.astype(np.float64)
    top = np.log1p(_peak(im, peak))  # the largest |log| over the reference image
    out = np.sign(im) * np.log1p(np.abs(im))
    return out * (_peak(im, peak) / top) if top != 0 else out


def _exponential(image, peak=None):
    im = image.astype(np.float64)
    p = _peak(im, peak)
    return np.exp(np.log(p) / p * im)


def _gradient(image, spacing, kw):
    import SimpleITK as sitk

    f = sitk.GradientMagnitudeImageFilter()
    f.SetUseImageSpacing(bool(kw.get("gradientUseSpacing", True)))
    return sitk.GetArrayFromImage(f.Execute(_sitk_image(image, spacing)))


def _lbp2d(image, kw):
    from skimage.feature import local_binary_pattern

    axis = kw.get("force2Ddimension", 0)
    arr = np.moveaxis(image.copy(), axis, 0)
    for k in range(arr.shape[0]):
        arr[k] = local_binary_pattern(arr[k], P=kw.get("lbp2DSamples", 8),
                                      R=kw.get("lbp2DRadius", 1),
                                      method=kw.get("lbp2DMethod", "uniform"))
    return np.moveaxis(arr, 0, axis)


def _simple(image, spacing, name, kw, peak=None):
    if name == "Square":
        return "square", _square(image, peak)
    if name == "SquareRoot":
        return "squareroot", _squareroot(image, peak)
    if name == "Logarithm":
        return "logarithm", _logarithm(image, peak)
    if name == "Exponential":
        return "exponential", _exponential(image, peak)
    if name == "Gradient":
        return "gradient", _gradient(image, spacing, kw)
    if name == "LBP2D":
        return "lbp-2D", _lbp2d(image, kw)
    raise ConfigError(f"unknown image type '{name}'")


def filter_tasks(image: np.ndarray, spacing, image_types: dict, *,
                 mask: np.ndarray | None = None, settings: dict | None = None,
                 peak: float | None = None, threads: int | None = None
                 ) -> Iterator[tuple[str, Callable[[], np.ndarray], dict]]:
    """Yield ``(name, compute, settings)`` per derived image; ``compute()`` makes the array.

    The computations are deferred so that a caller may run them in worker threads (the C
    kernels and NumPy release the GIL); each ``compute`` is to be called once. *threads* caps the
    SimpleITK threads of each LoG filter (on small regions one thread per filter, with the images
    in parallel, is faster than ITK's own threading). See :func:`iter_filters` for the rest.
    """
    for type_name, custom in image_types.items():
        kw = dict(settings or {})
        kw.update(custom or {})
        if type_name == "Original":
            yield "original", partial(_same, image), kw
        elif type_name == "LoG":
            for name, fn in _log(image, spacing, kw, threads):
                yield name, fn, kw
        elif type_name == "Wavelet":
            for name, fn in _wavelet(image, spacing, kw):
                yield name, fn, kw
        elif type_name == "LBP3D":
            from radsig.preprocess._lbp3d import lbp3d

            if mask is None:
                raise ConfigError("LBP3D needs the ROI mask (pass mask=...)")
            for name, arr in lbp3d(image, mask, kw):
                yield name, partial(_same, arr), kw
        else:
            name = _SIMPLE_NAMES.get(type_name)
            if name is None:
                raise ConfigError(f"unknown image type '{type_name}'")
            yield name, partial(_simple_array, image, spacing, type_name, kw, peak), kw


def _same(arr):
    return arr


_SIMPLE_NAMES = {"Square": "square", "SquareRoot": "squareroot", "Logarithm": "logarithm",
                 "Exponential": "exponential", "Gradient": "gradient", "LBP2D": "lbp-2D"}


def _simple_array(image, spacing, name, kw, peak):
    return _simple(image, spacing, name, kw, peak)[1]


def iter_filters(image: np.ndarray, spacing, image_types: dict, *, mask: np.ndarray | None = None,
                 settings: dict | None = None, peak: float | None = None
                 ) -> Iterator[tuple[str, np.ndarray, dict]]:
    """Yield ``(name, array, settings)`` one derived image at a time (low peak memory).

    *settings* are global settings that each image type's own dict overrides (PyRadiomics'
    layout); the yielded dict is the merged one. *peak* is the maximum |intensity| that square,
    square root, logarithm and exponential rescale by (PyRadiomics takes it over the whole image
    it filters); by default that of *image*.
    """
    for name, fn, kw in filter_tasks(image, spacing, image_types, mask=mask, settings=settings,
                                     peak=peak):
        yield name, fn(), kw


def apply_filters(image: np.ndarray, spacing, image_types: dict, *,
                  mask: np.ndarray | None = None, peak: float | None = None
                  ) -> dict[str, np.ndarray]:
    """All derived images of *image* (z, y, x; *spacing* (z, y, x) mm), keyed by PyRadiomics prefix.

    Examples
    --------
    >>> out = apply_filters(img, (2.0, 1.0, 1.0), {"Original": {}, "LoG": {"sigma": [1.0]}})
    >>> sorted(out)
    ['log-sigma-1-0-mm-3D', 'original']
    """
    return {name: arr for name, arr, _ in iter_filters(image, spacing, image_types, mask=mask,
                                                       peak=peak)}


def filter_margin(image_types: dict, spacing_zyx, settings: dict | None = None) -> np.ndarray:
    """Voxels (z, y, x) of context a filter needs around the ROI to equal its whole-image result."""
    sp = np.asarray(spacing_zyx, dtype=float)
    margin = np.zeros(3)
    for name, custom in image_types.items():
        kw = dict(settings or {})
        kw.update(custom or {})
        if name == "LoG" and kw.get("sigma"):
            margin = np.maximum(margin, np.ceil(10 * max(kw["sigma"]) / sp))  # IIR tail < 1e-6
        elif name == "Wavelet":
            wname = kw.get("wavelet", "coif1")
            if wname in _SWT_FILTERS:  # known filters: no PyWavelets import just for a length
                taps = len(_SWT_FILTERS[wname][0])
            else:
                import pywt

                taps = pywt.Wavelet(wname).dec_len
            levels = int(kw.get("level", 1)) + int(kw.get("start_level", 0))
            margin = np.maximum(margin, taps * levels + 2)
        elif name in ("Gradient", "LBP2D", "LBP3D"):
            margin = np.maximum(margin, 3)
    return margin.astype(int)
