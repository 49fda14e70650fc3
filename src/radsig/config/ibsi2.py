"""Settings of the IBSI-2 filters: one pydantic model per filter type, chosen by ``filter:``.

In an IBSI settings file, an entry of ``filters:`` whose name is not a PyRadiomics image type
is an IBSI-2 filter; the entry's name prefixes the features computed on its response map::

    filters:
      Original: {}
      log_s1.5: {filter: log, sigma_mm: 1.5, boundary: mirror, dimensions: 3D}
      wav_db3_LLH: {filter: wavelet, wavelet: db3, response: LLH, level: 1,
                    rotation_invariance: true, pooling: mean}

Axis letters (Laws kernels, wavelet responses, Riesz orders) are read x, y[, z]. ``2D`` filters
work in the axial planes (for Gabor ``3D`` means: the 2-D kernel in the axial, coronal and
sagittal planes, averaged). Boundary conditions: ``constant`` (zero padding), ``nearest``,
``periodic``, ``mirror`` (edge voxel repeated). Unknown keys are errors.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

Boundary = Literal["constant", "nearest", "periodic", "mirror"]
Dimensions = Literal["2D", "3D"]
_N_AXES = {"2D": 2, "3D": 3}


class _Filter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    boundary: Boundary = Field("mirror", description="Boundary condition: constant (zero), "
                                                     "nearest, periodic or mirror.")
    dimensions: Dimensions = Field("3D", description="2D: axial planes; 3D: the volume.")

    def apply(self, image: np.ndarray, spacing) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def margin_mm(self, spacing) -> float:
        """Context (mm) the filter reads around a voxel: the crop margin it needs (inf: the
        whole image, for filters defined in the Fourier domain)."""
        return 0.0


class MeanFilter(_Filter):
    """Mean over a cube (3D) or square (2D) of ``support`` voxels per side."""

    filter: Literal["mean"]
    support: int = Field(..., ge=1, description="Side of the window in voxels (odd).")

    @model_validator(mode="after")
    def _odd(self):
        if self.support % 2 == 0:
            raise ValueError(f"mean filter support must be odd, got {self.support}")
        return self

    def apply(self, image, spacing):
        from radsig.preprocess import ibsi2_filters as f

        return f.mean_filter(image, self.support, self.boundary, self.dimensions)

    def margin_mm(self, spacing):
        return self.support // 2 * max(spacing)


def _check_order(order, dimensions, what):
    if order is None:
        return
    if len(order) != _N_AXES[dimensions] or any(k < 0 for k in order) or sum(order) == 0:
        raise ValueError(f"{what} riesz_order needs {_N_AXES[dimensions]} non-negative "
                         f"integers (x, y[, z]) with a positive sum, got {order}")


def _check_align(spec):
    if spec.riesz_align_sigma_mm is not None and spec.riesz_order is None:
        raise ValueError("riesz_align_sigma_mm needs riesz_order")


class LogFilter(_Filter):
    """Laplacian of Gaussian (σ in mm, truncated at ``truncate`` σ), optionally followed by a
    Riesz transform of order ``riesz_order``."""

    filter: Literal["log"]
    sigma_mm: float = Field(..., gt=0)
    truncate: float = Field(4.0, gt=0, description="Kernel radius in units of σ.")
    riesz_order: list[int] | None = Field(None, description="Riesz order (l_x, l_y[, l_z]).")
    riesz_align_sigma_mm: float | None = Field(
        None, gt=0, description="Steer the Riesz transform by the local structure tensor "
                                "(Gaussian window σ in mm); the order is then read in the local "
                                "frame (e_1, e_2[, e_3] by decreasing eigenvalue).")

    @model_validator(mode="after")
    def _order(self):
        _check_order(self.riesz_order, self.dimensions, "log")
        _check_align(self)
        return self

    def apply(self, image, spacing):
        from radsig.preprocess import ibsi2_filters as f

        if self.riesz_order is not None:
            from radsig.preprocess import ibsi2_fourier as fourier

            return fourier.riesz_log_filter(image, spacing, self.sigma_mm,
                                            tuple(self.riesz_order), self.boundary,
                                            self.dimensions, self.truncate,
                                            align_sigma_mm=self.riesz_align_sigma_mm)
        return f.log_filter(image, spacing, self.sigma_mm, self.boundary, self.dimensions,
                            self.truncate)

    def margin_mm(self, spacing):
        if self.riesz_order is not None:  # the Riesz transform is global
            return math.inf
        return self.truncate * self.sigma_mm + max(spacing)


class LawsFilter(_Filter):
    """Laws kernel (e.g. ``E5L5S5`` in 3D, ``L5S5`` in 2D; letters x, y, z), optionally pooled
    over right-angle rotations, and its energy map over a (2δ+1)-voxel window."""

    filter: Literal["laws"]
    kernel: str
    rotation_invariance: bool = False
    pooling: Literal["max", "mean", "min"] = "max"
    energy_delta: int | None = Field(None, ge=0, description="δ of the energy map window "
                                                             "(voxels); null = response map.")

    @model_validator(mode="after")
    def _kernel(self):
        from radsig.preprocess.ibsi2_filters import laws_kernels

        kernels = laws_kernels(self.kernel)
        if len(kernels) != _N_AXES[self.dimensions]:
            raise ValueError(f"Laws kernel {self.kernel!r} names {len(kernels)} axes; a "
                             f"{self.dimensions} filter needs {_N_AXES[self.dimensions]}")
        return self

    def apply(self, image, spacing):
        from radsig.preprocess import ibsi2_filters as f

        return f.laws_filter(image, self.kernel, self.boundary, self.dimensions,
                             self.rotation_invariance, self.pooling, self.energy_delta)

    def margin_mm(self, spacing):
        radius = max(int(self.kernel[i + 1]) for i in range(0, len(self.kernel), 2)) // 2
        return (radius + (self.energy_delta or 0)) * max(spacing)


class GaborFilter(_Filter):
    """Modulus of a complex Gabor filter (σ, λ in mm, aspect γ, angle θ in degrees from +x
    towards +y); rotation invariance averages θ, θ + step, … over the full turn. 3D applies the
    2-D kernel in the three orthogonal planes and averages them."""

    filter: Literal["gabor"]
    sigma_mm: float = Field(..., gt=0)
    wavelength_mm: float = Field(..., gt=0)
    gamma: float = Field(1.0, gt=0, description="Spatial aspect ratio.")
    theta_deg: float = 0.0
    rotation_invariance: bool = False
    theta_step_deg: float | None = Field(None, gt=0, le=180)
    pooling: Literal["mean", "max", "min"] = Field("mean", description="Pooling over the "
                                                   "angles (and the planes in 3D).")
    truncate: float = Field(4.0, gt=0, description="Kernel radius in units of σ (of σ/γ "
                                                   "when γ < 1).")

    @model_validator(mode="after")
    def _step(self):
        if self.rotation_invariance and self.theta_step_deg is None:
            raise ValueError("gabor rotation_invariance needs theta_step_deg")
        return self

    def thetas(self) -> list[float]:
        """Angles (radians) averaged."""
        if not self.rotation_invariance:
            return [math.radians(self.theta_deg)]
        n = int(round(360.0 / self.theta_step_deg))
        return [math.radians(self.theta_deg + k * self.theta_step_deg) for k in range(n)]

    def apply(self, image, spacing):
        from radsig.preprocess import ibsi2_filters as f

        return f.gabor_filter(image, spacing, self.sigma_mm, self.wavelength_mm, self.gamma,
                              self.thetas(), self.boundary, self.dimensions, self.truncate,
                              self.pooling)

    def margin_mm(self, spacing):
        return self.truncate * self.sigma_mm * max(1.0, 1.0 / self.gamma)


class WaveletFilter(_Filter):
    """Undecimated separable wavelet (PyWavelets name: haar, db2, db3, coif1, …): sub-band
    ``response`` (L/H per axis x, y[, z]) at ``level``, optionally pooled over rotations."""

    filter: Literal["wavelet"]
    wavelet: str = "haar"
    response: str
    level: int = Field(1, ge=1, le=6)
    rotation_invariance: bool = False
    pooling: Literal["mean", "max", "min"] = "mean"

    @model_validator(mode="after")
    def _check(self):
        from radsig.preprocess.ibsi2_filters import wavelet_bank

        wavelet_bank(self.wavelet)
        letters = self.response.upper()
        if len(letters) != _N_AXES[self.dimensions] or set(letters) - set("LH"):
            raise ValueError(f"wavelet response {self.response!r}: one L or H per axis "
                             f"({_N_AXES[self.dimensions]} for {self.dimensions})")
        return self

    def apply(self, image, spacing):
        from radsig.preprocess import ibsi2_filters as f

        return f.wavelet_filter(image, self.wavelet, self.response, self.level, self.boundary,
                                self.dimensions, self.rotation_invariance, self.pooling)

    def margin_mm(self, spacing):
        from radsig.preprocess.ibsi2_filters import wavelet_bank

        n = len(wavelet_bank(self.wavelet)[0])
        return sum(n * 2 ** (lev - 1) for lev in range(1, self.level + 1)) * max(spacing)


class SimoncelliFilter(_Filter):
    """Simoncelli (isotropic, non-separable) band-pass wavelet at ``level``, computed in the
    Fourier domain, optionally followed by a Riesz transform of order ``riesz_order``.
    ``periodic`` needs no padding; other boundaries pad each axis by half its size."""

    filter: Literal["simoncelli"]
    level: int = Field(1, ge=1, le=6)
    boundary: Boundary = "periodic"
    riesz_order: list[int] | None = None
    riesz_align_sigma_mm: float | None = Field(
        None, gt=0, description="Steer the Riesz transform by the local structure tensor "
                                "(Gaussian window σ in mm).")

    @model_validator(mode="after")
    def _order(self):
        _check_order(self.riesz_order, self.dimensions, "simoncelli")
        _check_align(self)
        return self

    def apply(self, image, spacing):
        from radsig.preprocess import ibsi2_fourier as fourier

        order = tuple(self.riesz_order) if self.riesz_order is not None else None
        return fourier.simoncelli_filter(image, self.level, self.boundary, self.dimensions, order,
                                         align_sigma_mm=self.riesz_align_sigma_mm,
                                         spacing=spacing)

    def margin_mm(self, spacing):
        return math.inf  # defined on the whole field of view (Fourier domain)


Ibsi2Filter = Annotated[Union[MeanFilter, LogFilter, LawsFilter, GaborFilter, WaveletFilter,
                              SimoncelliFilter], Field(discriminator="filter")]
FILTER_TYPES = ("mean", "log", "laws", "gabor", "wavelet", "simoncelli")
_ADAPTER = TypeAdapter(Ibsi2Filter)
_MODELS = {"mean": MeanFilter, "log": LogFilter, "laws": LawsFilter, "gabor": GaborFilter,
           "wavelet": WaveletFilter, "simoncelli": SimoncelliFilter}


def parse_filter(name: str, spec) -> _Filter:
    """Validate one ``filters:`` entry; a ValueError names the entry and the problem."""
    from pydantic import ValidationError

    if not isinstance(spec, dict) or "filter" not in spec:
        raise ValueError(f"filters.{name}: not a PyRadiomics image type, so it must be an "
                         f"IBSI-2 filter with 'filter:' one of {', '.join(FILTER_TYPES)}")
    kind = spec["filter"]
    if kind not in _MODELS:
        raise ValueError(f"filters.{name}: unknown filter {kind!r}; valid: "
                         f"{', '.join(FILTER_TYPES)}")
    try:
        return _ADAPTER.validate_python(spec)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"][1:]) or "(entry)"
        if first["type"] == "extra_forbidden":
            valid = ", ".join(_MODELS[kind].model_fields)
            raise ValueError(f"filters.{name}: unknown key '{loc}' for a {kind} filter; "
                             f"valid keys: {valid}") from None
        msg = first["msg"].removeprefix("Value error, ")
        raise ValueError(f"filters.{name}.{loc}: {msg}" if loc != "(entry)"
                         else f"filters.{name}: {msg}") from None
