"""IBSI chapter 2 convolutional filters (Depeursinge et al., arXiv:2006.05470; Whybra et al.,
Radiology 2024): mean, Laplacian of Gaussian, Laws kernels, Gabor, separable (undecimated)
wavelets, Simoncelli wavelets and Riesz transforms.

Arrays are (z, y, x) like everywhere in radsig's IBSI mode; a filter's axis letters are read
x, y, z (IBSI-2's i, j, k): Laws ``E5L5S5`` is E5 along x, L5 along y, S5 along z, and the
wavelet map ``LHL`` is low-pass in x, high-pass in y, low-pass in z. "2D" filters work in the
axial planes (constant z). Kernels are applied by convolution (flipped), with one of IBSI-2's
four boundary conditions (:data:`MODES`). σ and λ are in mm and converted with the voxel
spacing; supports (mean filter, Laws energy window) are in voxels, as IBSI-2 defines them.

Separable kernels run as :func:`scipy.ndimage.convolve1d` along each axis; the Gabor kernel
(large, complex, not separable after rotation) runs by FFT on the padded slice; Simoncelli and
Riesz, defined in the Fourier domain, are in :mod:`radsig.preprocess.ibsi2_fourier`. Rotation invariance pools the responses
of the image turned through every right-angle rotation (24 in 3D, 4 in-plane in 2D), each
turned back before pooling. These are written here because no library implements the IBSI-2
definitions (PyRadiomics' filters differ: scale-normalised LoG, decimated-grid conventions).
"""

from __future__ import annotations

import itertools
import math
from typing import Callable, Iterable

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

#: IBSI-2 boundary condition → scipy.ndimage mode (IBSI-2's "mirror" repeats the edge voxel,
#: which is scipy's ``reflect``, NumPy's ``symmetric``)
MODES = {"constant": "constant", "nearest": "nearest", "periodic": "wrap", "mirror": "reflect"}
#: the same for numpy.pad
PAD_MODES = {"constant": "constant", "nearest": "edge", "periodic": "wrap", "mirror": "symmetric"}

#: Laws' 1-D kernels, each divided by its Euclidean norm (IBSI-2)
LAWS = {name: np.asarray(k, dtype=np.float64) / np.linalg.norm(k) for name, k in {
    "L3": [1, 2, 1], "E3": [-1, 0, 1], "S3": [-1, 2, -1],
    "L5": [1, 4, 6, 4, 1], "E5": [-1, -2, 0, 2, 1], "S5": [-1, 0, 2, 0, -1],
    "W5": [-1, 2, 0, -2, 1], "R5": [1, -4, 6, -4, 1],
}.items()}

# axes (of a (z, y, x) array) a filter's letters act on, in letter order x, y, z
AXES = {"2D": (2, 1), "3D": (2, 1, 0)}


def _pool(pooling: str) -> tuple[Callable, Callable]:
    """(combine(acc, new) -> acc, finish(acc, n) -> result) of a pooling rule."""
    if pooling == "max":
        return np.maximum, lambda acc, n: acc
    if pooling == "min":
        return np.minimum, lambda acc, n: acc
    return np.add, lambda acc, n: acc / n


def rotations(dimensions: str) -> list[tuple[Callable, Callable]]:
    """(turn, turn_back) for every right-angle rotation: 24 of the cube (3D) or 4 in the
    axial plane (2D). A rotation is an axis permutation followed by axis reversals whose
    combined sign is +1 (proper rotations only, no mirror images)."""
    out = []
    axes = (0, 1, 2) if dimensions == "3D" else (1, 2)
    for perm in itertools.permutations(axes):
        parity = _parity(perm)
        for n_flip in range(len(axes) + 1):
            for flips in itertools.combinations(axes, n_flip):
                if parity * (-1) ** n_flip != 1:
                    continue
                full = (0,) + perm if dimensions == "2D" else perm
                inverse = tuple(int(i) for i in np.argsort(full))

                def turn(a, full=full, flips=flips):
                    return np.flip(np.transpose(a, full), flips) if flips else np.transpose(a, full)

                def back(a, inverse=inverse, flips=flips):
                    return np.transpose(np.flip(a, flips) if flips else a, inverse)

                out.append((turn, back))
    return out


def _parity(perm: tuple[int, ...]) -> int:
    p = list(np.argsort(perm))
    sign = 1
    for i in range(len(p)):
        while p[i] != i:
            j = p[i]
            p[i], p[j] = p[j], p[i]
            sign = -sign
    return sign


def rotation_pooled(fn: Callable[[np.ndarray], np.ndarray], image: np.ndarray,
                    dimensions: str, pooling: str) -> np.ndarray:
    """Pool *fn* over every right-angle rotation of *image* (each response turned back)."""
    combine, finish = _pool(pooling)
    acc = None
    turns = rotations(dimensions)
    for turn, back in turns:
        resp = back(fn(np.ascontiguousarray(turn(image))))
        acc = np.array(resp, dtype=np.float64) if acc is None else combine(acc, resp, out=acc)
    return finish(acc, len(turns))


def _separable(image: np.ndarray, kernels: Iterable[np.ndarray | None], axes: Iterable[int],
               mode: str) -> np.ndarray:
    out = np.asarray(image, dtype=np.float64)
    for kernel, axis in zip(kernels, axes, strict=True):
        if kernel is not None:
            out = ndimage.convolve1d(out, kernel, axis=axis, mode=mode, cval=0.0)
    return out


def _rotation_specs(dimensions: str) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(perm, flips) of every proper right-angle rotation, as used by :func:`rotations`."""
    axes = (0, 1, 2) if dimensions == "3D" else (1, 2)
    out = []
    for perm in itertools.permutations(axes):
        for n_flip in range(len(axes) + 1):
            for flips in itertools.combinations(axes, n_flip):
                if _parity(perm) * (-1) ** n_flip == 1:
                    out.append((perm, flips))
    return out


def separable_pooled(image: np.ndarray, stages: list[list[np.ndarray]], dimensions: str,
                     mode: str, pooling: str) -> np.ndarray:
    """Pool, over every right-angle rotation, a chain of separable filters (each stage one
    1-D kernel per axis, in x, y[, z] order), without turning the image.

    Turning the image, filtering along its axis b and turning back equals filtering the
    original along the axis b came from, with the kernel reversed when that axis was flipped
    (an even-length kernel then needs origin -1 to keep the same alignment). Rotations that
    give the same operations are computed once (e.g. 8 distinct ones of 24 for HHH), and
    shared leading operations are computed once (depth-first, so at most one array per
    operation depth is alive)."""
    letter_axes = AXES[dimensions]
    counts: dict[tuple, int] = {}
    for perm, flips in _rotation_specs(dimensions):
        ops = []
        for stage in stages:
            # the rotated image's axis b is original axis src[b]; b's kernel is the one of the
            # letter acting on array axis b
            src = dict(zip(sorted(perm), perm, strict=True))
            by_axis = dict(zip(letter_axes, stage, strict=True))
            stage_ops = []
            for b in sorted(by_axis):
                k = by_axis[b]
                if b in flips:
                    k = k[::-1]
                    origin = -1 if len(k) % 2 == 0 else 0
                else:
                    origin = 0
                stage_ops.append((src[b], k.tobytes(), origin))
            ops.extend(sorted(stage_ops))  # axes commute: a canonical order shares prefixes
        key = tuple(ops)
        counts[key] = counts.get(key, 0) + 1
    combine, finish = _pool(pooling)
    acc = None
    total = sum(counts.values())
    img = np.asarray(image, dtype=np.float64)
    keys = sorted(counts)
    stack: list[tuple[tuple, np.ndarray]] = [((), img)]
    for key in keys:
        # reuse the longest computed prefix of this operation sequence
        while stack and stack[-1][0] != key[:len(stack[-1][0])]:
            stack.pop()
        done, arr = stack[-1]
        for i in range(len(done), len(key)):
            axis, kbytes, origin = key[i]
            arr = ndimage.convolve1d(arr, np.frombuffer(kbytes), axis=axis, mode=mode, cval=0.0,
                                     origin=origin)
            stack.append((key[:i + 1], arr))
        resp = arr * counts[key] if pooling == "mean" else arr
        acc = np.array(resp) if acc is None else combine(acc, resp, out=acc)
    return finish(acc, total)


# --- mean, LoG -------------------------------------------------------------------------------

def mean_filter(image: np.ndarray, support: int, boundary: str, dimensions: str) -> np.ndarray:
    """Mean over a cube (3D) or square (2D, in-plane) of *support* voxels per side."""
    size = (support,) * 3 if dimensions == "3D" else (1, support, support)
    return ndimage.uniform_filter(np.asarray(image, dtype=np.float64), size=size,
                                  mode=MODES[boundary], cval=0.0)


def log_filter(image: np.ndarray, spacing, sigma_mm: float, boundary: str, dimensions: str,
               truncate: float = 4.0) -> np.ndarray:
    """Laplacian of Gaussian, σ in mm, kernel truncated at *truncate* σ, no σ² normalisation;
    derivatives per voxel (the IBSI-2 reference maps' convention). 2D: smoothing and second
    derivatives in-plane only."""
    img = np.asarray(image, dtype=np.float64)
    axes = AXES[dimensions]
    sigma = [0.0, 0.0, 0.0]
    for ax in axes:
        sigma[ax] = sigma_mm / float(spacing[ax])
    out = np.zeros_like(img)
    for ax in axes:
        order = [0, 0, 0]
        order[ax] = 2
        out += ndimage.gaussian_filter(img, sigma, order=order, mode=MODES[boundary], cval=0.0,
                                       truncate=truncate)
    return out


# --- Laws ------------------------------------------------------------------------------------

def laws_kernels(name: str) -> list[np.ndarray]:
    """``"E5L5S5"`` → [E5, L5, S5] (x, y, z order)."""
    parts = [name[i:i + 2].upper() for i in range(0, len(name), 2)]
    if len(name) % 2 or any(p not in LAWS for p in parts):
        raise ValueError(f"unknown Laws kernel {name!r}; use 1-D kernels from "
                         f"{', '.join(LAWS)}, e.g. E5L5S5 (3D) or L5S5 (2D)")
    return [LAWS[p] for p in parts]


def laws_filter(image: np.ndarray, kernel: str, boundary: str, dimensions: str,
                rotation_invariance: bool = False, pooling: str = "max",
                energy_delta: int | None = None) -> np.ndarray:
    """Laws response map (optionally pooled over rotations), then the energy map: the mean
    of |response| over a (2δ+1)-voxel window, computed after pooling."""
    kernels = laws_kernels(kernel)
    axes = AXES[dimensions]
    if len(kernels) != len(axes):
        raise ValueError(f"Laws kernel {kernel!r} has {len(kernels)} axes, a {dimensions} "
                         f"filter needs {len(axes)}")
    mode = MODES[boundary]

    if rotation_invariance:
        out = separable_pooled(image, [kernels], dimensions, mode, pooling)
    else:
        out = _separable(image, kernels, axes, mode)
    if energy_delta is not None:
        out = mean_filter(np.abs(out), 2 * int(energy_delta) + 1, boundary, dimensions)
    return out


# --- Gabor -----------------------------------------------------------------------------------

def gabor_kernel(sigma_mm: float, wavelength_mm: float, gamma: float, theta: float,
                 spacing_uv: tuple[float, float], truncate: float = 4.0) -> np.ndarray:
    """Complex 2-D Gabor kernel, indexed [v, u] (u is the plane's first axis, e.g. x):
    exp(-(u'² + γ²v'²) / (2σ²)) · exp(i 2π u' / λ), u' = u cos θ + v sin θ,
    v' = -u sin θ + v cos θ, positions in mm; no normalisation factor (IBSI-2)."""
    reach = truncate * sigma_mm * max(1.0, 1.0 / gamma)
    su, sv = spacing_uv
    ru, rv = int(math.ceil(reach / su)), int(math.ceil(reach / sv))
    v, u = np.meshgrid(np.arange(-rv, rv + 1) * sv, np.arange(-ru, ru + 1) * su, indexing="ij")
    up = u * math.cos(theta) + v * math.sin(theta)
    vp = -u * math.sin(theta) + v * math.cos(theta)
    return np.exp(-(up ** 2 + gamma ** 2 * vp ** 2) / (2.0 * sigma_mm ** 2)) \
        * np.exp(2j * math.pi * up / wavelength_mm)


def _angle_weights(thetas: list[float]) -> dict[float, int]:
    """Angles reduced modulo π with their multiplicity: for a real image the Gabor kernels
    at θ and θ + π are complex conjugates (the Gaussian is even), so their moduli are equal."""
    out: dict[float, int] = {}
    for t in thetas:
        key = round(math.fmod(math.fmod(t, math.pi) + math.pi, math.pi), 12)
        key = 0.0 if abs(key - math.pi) < 1e-9 else key
        out[key] = out.get(key, 0) + 1
    return out


def _gabor_plane(image: np.ndarray, spacing, plane_axes: tuple[int, int], sigma_mm: float,
                 wavelength_mm: float, gamma: float, thetas: list[float], boundary: str,
                 truncate: float, pooling: str = "mean") -> np.ndarray:
    """Mean (or max / min) over *thetas* of |Gabor response| with the 2-D kernel in the
    planes spanned by *plane_axes* = (u axis, v axis). The slice is padded by the kernel radius with the
    boundary condition and transformed once; each angle costs one kernel FFT and one inverse
    FFT (the circular wrap-around only reaches the padding, which is cut off)."""
    u_ax, v_ax = plane_axes
    other = ({0, 1, 2} - {u_ax, v_ax}).pop()
    # bring to (other, v, u) so the kernel [v, u] convolves the last two axes
    arr = np.transpose(np.asarray(image, dtype=np.float64), (other, v_ax, u_ax))
    su, sv = float(spacing[u_ax]), float(spacing[v_ax])
    reach = truncate * sigma_mm * max(1.0, 1.0 / gamma)
    ru, rv = int(math.ceil(reach / su)), int(math.ceil(reach / sv))
    kw = {"constant_values": 0.0} if boundary == "constant" else {}
    padded = np.pad(arr, ((0, 0), (rv, rv), (ru, ru)), mode=PAD_MODES[boundary], **kw)
    shape = (sfft.next_fast_len(padded.shape[1]), sfft.next_fast_len(padded.shape[2]))
    spec = sfft.fft2(padded.astype(np.float32), s=shape, axes=(1, 2), workers=-1)
    acc = np.zeros(arr.shape, dtype=np.float64) if pooling == "mean" else None
    weights = _angle_weights(thetas)
    for theta, weight in weights.items():
        kernel = gabor_kernel(sigma_mm, wavelength_mm, gamma, theta, (su, sv), truncate)
        kspec = sfft.fft2(kernel.astype(np.complex64), s=shape, workers=-1)
        resp = sfft.ifft2(spec * kspec[None], axes=(1, 2), workers=-1)
        valid = resp[:, 2 * rv:2 * rv + arr.shape[1], 2 * ru:2 * ru + arr.shape[2]]
        if pooling == "mean":
            acc += weight * np.abs(valid)
        else:
            acc = np.abs(valid) if acc is None else _pool(pooling)[0](acc, np.abs(valid))
    if pooling == "mean":
        acc /= len(thetas)
    return np.transpose(acc, np.argsort((other, v_ax, u_ax)))


def gabor_filter(image: np.ndarray, spacing, sigma_mm: float, wavelength_mm: float,
                 gamma: float, theta: float | list[float], boundary: str, dimensions: str,
                 truncate: float = 4.0, pooling: str = "mean") -> np.ndarray:
    """Modulus of the Gabor response, pooled (mean, max or min) over the angles *theta*
    (radians). 2D: axial planes; 3D: the 2-D kernel in the axial, coronal and sagittal
    planes, pooled the same way."""
    thetas = [float(t) for t in np.atleast_1d(theta)]
    planes = [(2, 1)] if dimensions == "2D" else [(2, 1), (2, 0), (1, 0)]
    combine, finish = _pool(pooling)
    out = None
    for plane in planes:
        resp = _gabor_plane(image, spacing, plane, sigma_mm, wavelength_mm, gamma, thetas,
                            boundary, truncate, pooling)
        out = resp if out is None else combine(out, resp, out=out)
    return finish(out, len(planes))


# --- separable wavelets ----------------------------------------------------------------------

def wavelet_bank(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(low-pass, high-pass) decomposition filters of a PyWavelets discrete wavelet."""
    import pywt

    try:
        w = pywt.Wavelet(name)
    except ValueError:
        raise ValueError(f"unknown wavelet {name!r}; use a PyWavelets discrete wavelet such as "
                         "haar, db2, db3, coif1, sym4") from None
    return np.asarray(w.dec_lo, dtype=np.float64), np.asarray(w.dec_hi, dtype=np.float64)


def _dilate(kernel: np.ndarray, level: int) -> np.ndarray:
    """Kernel upsampled for *level* (à trous: 2^(level-1) - 1 zeros after each tap, so the
    kernel keeps its origin; the IBSI-2 maps 7a1/7a2 need the trailing zeros)."""
    step = 2 ** (level - 1)
    if step == 1:
        return kernel
    out = np.zeros(len(kernel) * step)
    out[::step] = kernel
    return out


def wavelet_filter(image: np.ndarray, wavelet: str, response: str, level: int, boundary: str,
                   dimensions: str, rotation_invariance: bool = False,
                   pooling: str = "mean") -> np.ndarray:
    """Undecimated separable wavelet map *response* (letters L/H for x, y[, z]) at *level*:
    the all-low-pass map of each earlier level is filtered again with the next level's
    upsampled filters."""
    lo, hi = wavelet_bank(wavelet)
    axes = AXES[dimensions]
    letters = response.upper()
    if len(letters) != len(axes) or set(letters) - set("LH"):
        raise ValueError(f"wavelet response {response!r}: give one L or H per axis "
                         f"({len(axes)} for {dimensions})")
    mode = MODES[boundary]

    stages = [[_dilate(lo, lev)] * len(axes) for lev in range(1, level)]
    stages.append([_dilate(lo if c == "L" else hi, level) for c in letters])
    if rotation_invariance:
        return separable_pooled(image, stages, dimensions, mode, pooling)
    out = np.asarray(image, dtype=np.float64)
    for stage in stages:
        out = _separable(out, stage, axes, mode)
    return out


# --- settings → response map -----------------------------------------------------------------

def filter_image(image, settings, name: str | None = None):
    """(response map as a float32 SimpleITK image on *image*'s grid, filter name): the IBSI-2
    filter *name* of *settings* (the only one when None) on the whole image, no resampling."""
    import numpy as np
    import SimpleITK as sitk

    from radsig.config.settings import IbsiSettings
    from radsig.exceptions import ConfigError

    if not isinstance(settings, IbsiSettings):
        raise ConfigError("radsig filter needs radsig IBSI settings with an IBSI-2 filter in "
                          "filters:, not a PyRadiomics parameter file")
    specs = settings.ibsi2_filters
    if not specs:
        raise ConfigError("the settings name no IBSI-2 filter (an entry of filters: with "
                          "filter: mean, log, laws, gabor, wavelet or simoncelli)")
    if name is None:
        if len(specs) > 1:
            raise ConfigError(f"the settings name {len(specs)} IBSI-2 filters "
                              f"({', '.join(specs)}); choose one with --filter NAME")
        name = next(iter(specs))
    if name not in specs:
        raise ConfigError(f"--filter {name}: no such IBSI-2 filter in the settings; "
                          f"valid: {', '.join(specs)}")
    arr = sitk.GetArrayFromImage(image).astype(np.float64)
    if settings.input.round_intensities:
        arr = np.rint(arr)
    spacing = tuple(float(s) for s in image.GetSpacing()[::-1])
    flat = arr.ndim == 2  # a 2-D image is one axial slice
    if flat:
        arr, spacing = arr[None], (1.0,) + spacing
    response = specs[name].apply(arr, spacing)
    if flat:
        response = response[0]
    out = sitk.GetImageFromArray(np.asarray(response, dtype=np.float32))
    out.CopyInformation(image)
    return out, name
