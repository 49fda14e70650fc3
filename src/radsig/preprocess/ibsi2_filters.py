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
(large, complex, not separable after rotation) runs by FFT on the padded slice, and
Simoncelli and Riesz are defined in the Fourier domain. Rotation invariance pools the responses
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
_AXES = {"2D": (2, 1), "3D": (2, 1, 0)}


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
    letter_axes = _AXES[dimensions]
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
    axes = _AXES[dimensions]
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
    axes = _AXES[dimensions]
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
    axes = _AXES[dimensions]
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


# --- Fourier-domain filters: Simoncelli and Riesz --------------------------------------------

def _centred_frequencies(n: int) -> np.ndarray:
    """Normalised frequency of each FFT bin on the centred grid of step 2/(n-1)
    (-1 … 1, Nyquist = 1), in FFT order; this sampling reproduces the IBSI-2 maps."""
    if n == 1:
        return np.zeros(1)
    half = (n - 1) / 2.0
    return sfft.ifftshift((np.arange(n) - half) / half)


def _fft_frequencies(n: int) -> np.ndarray:
    """numpy's FFT grid, normalised so that Nyquist = 1."""
    return 2.0 * sfft.fftfreq(n)


def _frequency_axes(shape: tuple[int, ...], axes: tuple[int, ...], grid: str) -> list:
    make = _centred_frequencies if grid == "centred" else _fft_frequencies
    out = []
    for ax in axes:
        f = make(shape[ax])
        view = [1] * len(shape)
        view[ax] = shape[ax]
        out.append(f.reshape(view))
    return out


def simoncelli_transfer(shape: tuple[int, ...], axes: tuple[int, ...], level: int,
                        grid: str = "centred") -> np.ndarray:
    """Isotropic band-pass ψ(ν) = cos(π/2 · log2(2ν/ν_max)) for ν_max/4 ≤ ν ≤ ν_max,
    ν_max = 2^(1-level), 0 elsewhere."""
    freqs = _frequency_axes(shape, axes, grid)
    nu = np.sqrt(sum(f ** 2 for f in freqs))
    nu_max = 2.0 ** (1 - level)
    with np.errstate(divide="ignore", invalid="ignore"):
        psi = np.cos(np.pi / 2.0 * np.log2(2.0 * nu / nu_max))
    return np.where((nu >= nu_max / 4.0) & (nu <= nu_max), psi, 0.0)


def riesz_transfer(shape: tuple[int, ...], axes: tuple[int, ...], order: tuple[int, ...],
                   grid: str = "centred") -> np.ndarray:
    """Riesz transform of order (l_x, l_y[, l_z]) in the Fourier domain:
    (-i)^L √(L! / Π l_d!) Π (ω_d / ‖ω‖)^(l_d); 0 at ω = 0 unless L = 0."""
    freqs = _frequency_axes(shape, axes, grid)
    norm = np.sqrt(sum(f ** 2 for f in freqs))
    total = int(sum(order))
    scale = math.sqrt(math.factorial(total) / math.prod(math.factorial(k) for k in order))
    out = np.full(np.broadcast_shapes(*[f.shape for f in freqs]), scale * (-1j) ** total,
                  dtype=np.complex128)
    with np.errstate(invalid="ignore", divide="ignore"):
        for f, k in zip(freqs, order, strict=True):
            if k:
                out = out * np.where(norm > 0, f / np.where(norm > 0, norm, 1.0), 0.0) ** k
    return out


def _fourier_bank(image: np.ndarray, transfers: list[Callable[[tuple[int, ...]], np.ndarray]],
                  axes: tuple[int, ...], boundary: str, pad: int | None) -> list[np.ndarray]:
    """Real parts of IFFT(transfer · FFT(image)) over *axes*, one per transfer function (the
    image is transformed once); periodic boundaries need no padding, any other pads each
    filtered axis by *pad* voxels (default: half its size) with that boundary condition."""
    img = np.asarray(image, dtype=np.float64)
    widths = [(0, 0)] * img.ndim
    if boundary != "periodic":
        for ax in axes:
            p = img.shape[ax] // 2 if pad is None else int(pad)
            widths[ax] = (p, p)
        kw = {"constant_values": 0.0} if boundary == "constant" else {}
        img = np.pad(img, widths, mode=PAD_MODES[boundary], **kw)
    spec = sfft.fftn(img, axes=axes, workers=-1)
    crop = tuple(slice(a, img.shape[i] - b) for i, (a, b) in enumerate(widths))
    out = []
    for transfer in transfers:
        h = transfer(img.shape)
        h, phase = h if isinstance(h, tuple) else (h, 1.0)  # (real array, constant factor)
        resp = sfft.ifftn(spec * h, axes=axes, workers=-1)
        resp = resp.real if phase == 1.0 else (resp[crop] * phase).real
        out.append(np.ascontiguousarray(resp[crop] if phase == 1.0 else resp))
    return out


def _fourier_filter(image: np.ndarray, transfer: Callable[[tuple[int, ...]], np.ndarray],
                    axes: tuple[int, ...], boundary: str, pad: int | None) -> np.ndarray:
    """:func:`_fourier_bank` with one transfer function."""
    return _fourier_bank(image, [transfer], axes, boundary, pad)[0]


def _monomial_transfer(shape, axes, alpha, grid="centred") -> tuple[np.ndarray, complex]:
    """(ω^α / ‖ω‖^L, (-i)^L) with L = |α| on the frequency grid (0 at ω = 0): the real
    part and the constant factor of the Riesz monomial's transfer function."""
    freqs = _frequency_axes(shape, axes, grid)
    norm = np.sqrt(sum(f ** 2 for f in freqs))
    inv = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    out = np.ones(norm.shape)
    for f, k in zip(freqs, alpha, strict=True):
        if k:
            out *= (f * inv) ** k
    return out, (-1j) ** int(sum(alpha))


def _structure_frame(first: list[np.ndarray], sigma, mode: str) -> np.ndarray:
    """Per-voxel eigenvectors (columns, by decreasing eigenvalue; each signed so that its
    largest component is positive) of the Gaussian-windowed outer product of *first*."""
    n = len(first)
    tensor = np.empty(first[0].shape + (n, n))
    for i in range(n):
        for j in range(i, n):
            tensor[..., i, j] = tensor[..., j, i] = ndimage.gaussian_filter(
                first[i] * first[j], sigma, mode=mode)
    _, vecs = np.linalg.eigh(tensor)  # ascending eigenvalues
    frame = vecs[..., ::-1]
    idx = np.argmax(np.abs(frame), axis=-2)[..., None, :]
    sign = np.sign(np.take_along_axis(frame, idx, axis=-2))
    return frame * np.where(sign == 0, 1.0, sign)


def _steered_polynomial(frame: np.ndarray, order) -> dict[tuple[int, ...], np.ndarray]:
    """Π_k (e_k · ω)^(l_k) expanded into monomials ω^α, with per-voxel coefficients."""
    n = frame.shape[-1]
    poly: dict = {(0,) * n: 1.0}
    for k, lk in enumerate(order):
        for _ in range(int(lk)):
            nxt: dict = {}
            for alpha, coef in poly.items():
                for d in range(n):
                    beta = tuple(a + (i == d) for i, a in enumerate(alpha))
                    nxt[beta] = nxt.get(beta, 0.0) + coef * frame[..., d, k]
            poly = nxt
    return poly


def riesz_aligned(image: np.ndarray, base: Callable | None, order: tuple[int, ...],
                  axes: tuple[int, ...], spacing, align_sigma_mm: float, boundary: str,
                  pad: int | None = None) -> np.ndarray:
    """Riesz transform of order (l_1, l_2[, l_3]) read in the local frame of the structure
    tensor instead of the image axes (locally steered, so rotating the image rotates the
    response with it).

    The structure tensor is the Gaussian-windowed (σ = *align_sigma_mm*) outer product of the
    first-order Riesz components of the base response (*base*: a transfer function applied
    first, or None when *image* is already the base response); its eigenvectors, by
    decreasing eigenvalue, are the local axes e_1, e_2[, e_3] (each signed so that its largest
    component is positive). The steered response √(L!/Π l_k!) Π_k (e_k·R)^(l_k) is expanded
    into the Riesz monomials R^α (|α| = L), each computed once in the Fourier domain, with
    coefficients that vary from voxel to voxel. Written here because no library offers it.
    """
    n = len(axes)
    cache: dict = {}

    def monomial(alpha):
        def transfer(shape):
            if shape not in cache:  # ω_d / ‖ω‖ and the base filter, once per grid
                freqs = _frequency_axes(shape, axes, "centred")
                norm = np.sqrt(sum(f ** 2 for f in freqs))
                inv = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
                cache.clear()
                cache[shape] = ([f * inv for f in freqs],
                                base(shape) if base is not None else None)
            unit, b = cache[shape]
            h = np.ones(unit[0].shape) if b is None else b.copy()
            for u, k in zip(unit, alpha, strict=True):
                for _ in range(int(k)):
                    h *= u
            return h, (-1j) ** int(sum(alpha))
        return transfer

    units = [tuple(int(i == d) for i in range(n)) for d in range(n)]
    first = _fourier_bank(image, [monomial(a) for a in units], axes, boundary, pad)
    sigma = [0.0] * image.ndim
    for ax in axes:
        sigma[ax] = align_sigma_mm / float(spacing[ax])
    frame = _structure_frame(first, sigma, MODES[boundary])
    poly = _steered_polynomial(frame, order)
    total = int(sum(order))
    scale = math.sqrt(math.factorial(total) / math.prod(math.factorial(int(k)) for k in order))
    alphas = sorted(poly)
    monomials = _fourier_bank(image, [monomial(a) for a in alphas], axes, boundary, pad)
    cache.clear()
    out = np.zeros(image.shape)
    for alpha, resp in zip(alphas, monomials, strict=True):
        out += poly[alpha] * resp
    return scale * out


def simoncelli_filter(image: np.ndarray, level: int, boundary: str, dimensions: str,
                      riesz_order: tuple[int, ...] | None = None,
                      pad: int | None = None, align_sigma_mm: float | None = None,
                      spacing=(1.0, 1.0, 1.0)) -> np.ndarray:
    """Simoncelli band-pass wavelet at *level* (optionally Riesz-transformed, optionally
    steered by the structure tensor: :func:`riesz_aligned`), computed in the Fourier domain
    on the centred frequency grid."""
    axes = tuple(sorted(_AXES[dimensions]))
    letters_axes = _AXES[dimensions]
    if riesz_order is not None and align_sigma_mm is not None:
        return riesz_aligned(image, lambda shape: simoncelli_transfer(shape, axes, level),
                             tuple(riesz_order), axes, spacing, align_sigma_mm, boundary, pad)

    def transfer(shape):
        h = simoncelli_transfer(shape, axes, level)
        if riesz_order is not None:
            order = _order_on_axes(riesz_order, letters_axes, axes)
            h = h * riesz_transfer(shape, axes, order)
        return h

    return _fourier_filter(image, transfer, axes, boundary, pad)


def _order_on_axes(order_xyz, letter_axes, axes) -> tuple[int, ...]:
    """Riesz order given for (x, y[, z]) rearranged to follow *axes* (array axes)."""
    by_axis = dict(zip(letter_axes, order_xyz, strict=True))
    return tuple(int(by_axis[a]) for a in axes)


def riesz_log_filter(image: np.ndarray, spacing, sigma_mm: float, riesz_order,
                     boundary: str, dimensions: str, truncate: float = 4.0,
                     pad: int | None = None, align_sigma_mm: float | None = None) -> np.ndarray:
    """Riesz transform (order (l_x, l_y[, l_z])) of the LoG response: the LoG with the
    boundary condition, then the Riesz multiplier on the centred frequency grid, the response
    padded by half its size with the same boundary condition (none if periodic). With
    *align_sigma_mm* the order is read in the local structure-tensor frame
    (:func:`riesz_aligned`)."""
    resp = log_filter(image, spacing, sigma_mm, boundary, dimensions, truncate)
    axes = tuple(sorted(_AXES[dimensions]))
    if align_sigma_mm is not None:
        return riesz_aligned(resp, None, tuple(riesz_order), axes, spacing, align_sigma_mm,
                             boundary, pad)
    order = _order_on_axes(riesz_order, _AXES[dimensions], axes)
    return _fourier_filter(resp, lambda shape: riesz_transfer(shape, axes, order), axes,
                           boundary, pad)


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
