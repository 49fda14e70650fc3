"""IBSI chapter 2 filters defined in the Fourier domain: Simoncelli wavelets and Riesz
transforms (plain, and aligned with the local structure tensor), on (z, y, x) arrays with
IBSI-2's boundary conditions (:data:`radsig.preprocess.ibsi2_filters.MODES`).

Written here for the reason given in :mod:`radsig.preprocess.ibsi2_filters`: no library
implements the IBSI-2 definitions. The spatial filters (mean, LoG, Laws, Gabor, separable
wavelets) and the settings-to-response-map entry point live there.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from radsig.preprocess.ibsi2_filters import AXES, MODES, PAD_MODES, log_filter


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
    axes = tuple(sorted(AXES[dimensions]))
    letters_axes = AXES[dimensions]
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
    axes = tuple(sorted(AXES[dimensions]))
    if align_sigma_mm is not None:
        return riesz_aligned(resp, None, tuple(riesz_order), axes, spacing, align_sigma_mm,
                             boundary, pad)
    order = _order_on_axes(riesz_order, AXES[dimensions], axes)
    return _fourier_filter(resp, lambda shape: riesz_transfer(shape, axes, order), axes,
                           boundary, pad)
