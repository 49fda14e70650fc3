"""radsig's own IBSI extraction settings: one pydantic model per processing stage.

Every model forbids unknown keys, so a typo in a parameter file is an error that names the key
and the valid ones (see :func:`radsig.config.load_settings`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AggregationDim = Literal["2D", "2.5D", "3D"]
#: Interpolation spacing bounds (mm): below 0.01 mm the resampled grid of any real ROI does not
#: fit in memory; above 100 mm there is no texture left.
MIN_SPACING_MM, MAX_SPACING_MM = 0.01, 100.0


class _Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSettings(_Stage):
    """How the image is taken in before any processing."""

    round_intensities: bool = Field(
        False, description="Cast to float and round intensities to the nearest integer on load "
                           "(IBSI: needed for the NIfTI phantoms).")


class CropSettings(_Stage):
    """Cropping around the ROI, always done before resampling."""

    margin_mm: float = Field(10.0, ge=10.0, description="Margin kept around the ROI bounding box "
                                                        "(mm, at least 10 for local intensity).")
    whole_image: bool = Field(False, description="Keep the whole image (no crop): filters then "
                                                 "see the image's own edges (IBSI-2 phase 2).")


class InterpolationSettings(_Stage):
    """Resampling onto a new grid whose centre is aligned with the original grid's centre."""

    spacing: list[float] | None = Field(
        None, description="New spacing in mm: [x, y, z] (3D) or [x, y] (in-plane only); "
                          "null = no interpolation.")
    image_method: Literal["nearest", "linear", "bspline"] = "linear"
    mask_method: Literal["nearest", "linear"] = "linear"
    mask_threshold: float = Field(0.5, gt=0.0, le=1.0, description="Partial-volume threshold.")
    round_intensities: bool = Field(True, description="Round interpolated intensities.")

    @field_validator("spacing")
    @classmethod
    def _check_spacing(cls, value: list[float] | None) -> list[float] | None:
        if value is not None:
            if len(value) not in (2, 3):
                raise ValueError(f"spacing needs 2 (in-plane) or 3 values, got {len(value)}")
            if any(v <= 0 for v in value):
                raise ValueError(f"spacing values must be positive, got {value}")
            if any(v < MIN_SPACING_MM or v > MAX_SPACING_MM for v in value):
                raise ValueError(f"spacing values must lie between {MIN_SPACING_MM} and "
                                 f"{MAX_SPACING_MM} mm, got {value}")
        return value


class ResegmentationSettings(_Stage):
    """Re-segmentation of the intensity mask (the morphological mask is never changed)."""

    range: list[float | None] | None = Field(
        None, description="Closed intensity interval [a, b] kept in the intensity mask; "
                          "null for an open end.")
    outlier_sigma: float | None = Field(None, gt=0, description="Remove voxels outside mean ± "
                                                                 "k·SD (IBSI: 3).")

    @field_validator("range")
    @classmethod
    def _check_range(cls, value):
        if value is not None:
            if len(value) != 2:
                raise ValueError(f"range needs two values [low, high], got {len(value)}")
            lo, hi = value
            if lo is not None and hi is not None and lo >= hi:
                raise ValueError(f"range low ({lo}) must be below high ({hi})")
        return value


class _Binning(_Stage):
    bin_width: float | None = Field(None, gt=0)
    bin_number: int | None = Field(None, ge=1, le=65536)

    @model_validator(mode="after")
    def _check_params(self):
        method = self.method
        if method == "fbs" and self.bin_width is None:
            raise ValueError("method 'fbs' needs bin_width")
        if method == "fbn" and self.bin_number is None:
            raise ValueError("method 'fbn' needs bin_number")
        return self


class DiscretisationSettings(_Binning):
    """Grey-level discretisation for the intensity histogram and texture families."""

    method: Literal["fbs", "fbn", "none"] = "fbn"
    bin_number: int | None = Field(32, ge=1, le=65536)


class IvhSettings(_Binning):
    """Discretisation of the intensity-volume histogram (IBSI cases).

    ``none``: calibrated discrete intensities (w = 1, range = re-segmentation range or ROI
    min/max); ``fbs``: continuous calibrated intensities binned with ``bin_width`` from the
    re-segmentation lower bound and represented by bin centres; ``fbn``: arbitrary units,
    ``bin_number`` bins over the ROI range.
    """

    method: Literal["none", "fbs", "fbn"] = "none"


class TextureSettings(_Stage):
    """Options of the texture families."""

    aggregations: list[AggregationDim] = Field(default_factory=lambda: ["3D"])
    distance: int = Field(1, ge=1)
    ngldm_alpha: int = Field(0, ge=0)


FAMILIES = (
    "morphology", "local_intensity", "intensity_statistics", "intensity_histogram",
    "intensity_volume_histogram", "glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm",
)


#: image types of PyRadiomics' ``imageType`` section that ``filters`` accepts
IMAGE_TYPES = ("Original", "LoG", "Wavelet", "Square", "SquareRoot", "Logarithm", "Exponential",
               "Gradient", "LBP2D", "LBP3D")


class IbsiSettings(_Stage):
    """All settings of an IBSI-mode extraction."""

    input: InputSettings = Field(default_factory=InputSettings)
    crop: CropSettings = Field(default_factory=CropSettings)
    interpolation: InterpolationSettings = Field(default_factory=InterpolationSettings)
    resegmentation: ResegmentationSettings = Field(default_factory=ResegmentationSettings)
    discretisation: DiscretisationSettings = Field(default_factory=DiscretisationSettings)
    ivh: IvhSettings = Field(default_factory=IvhSettings)
    texture: TextureSettings = Field(default_factory=TextureSettings)
    families: list[Literal[FAMILIES]] = Field(default_factory=lambda: list(FAMILIES))  # type: ignore[valid-type]
    filters: dict[str, dict | None] = Field(
        default_factory=lambda: {"Original": {}},
        description="Image types in PyRadiomics' imageType shape, e.g. "
                    "{Original: {}, LoG: {sigma: [1, 2]}, Wavelet: {}}, and IBSI-2 filters: "
                    "any other name with 'filter:' (radsig.config.ibsi2), e.g. "
                    "{log_s1: {filter: log, sigma_mm: 1.0}}.")

    @field_validator("filters")
    @classmethod
    def _check_filters(cls, value: dict[str, dict]) -> dict[str, dict]:
        unknown = sorted(k for k, v in value.items()
                         if k not in IMAGE_TYPES and not (isinstance(v, dict) and "filter" in v))
        if unknown:
            raise ValueError(f"unknown image type(s) {', '.join(unknown)}; valid: "
                             f"{', '.join(IMAGE_TYPES)}, or an IBSI-2 filter (an entry with "
                             "'filter:' mean, log, laws, gabor, wavelet or simoncelli)")
        from radsig.config.pyradiomics import _validate_settings
        from radsig.exceptions import ConfigError

        out = {}
        for name, options in value.items():
            if name not in IMAGE_TYPES:  # IBSI-2 filter: validated (unknown keys are errors), normalised
                from radsig.config.ibsi2 import parse_filter

                out[name] = parse_filter(name, options).model_dump()
                continue
            try:  # every option of every filter is checked (a typo such as 'sigmaa' is an error)
                out[name] = _validate_settings(options or {}, f"filters.{name}")
            except ConfigError as err:
                raise ValueError(str(err)) from None
            if name == "LoG" and not out[name].get("sigma"):
                raise ValueError("filters.LoG needs 'sigma' (a list of widths in mm, e.g. [1, 2]);"
                                 " without it no LoG image is computed")
        return out

    @property
    def pyradiomics_filters(self) -> dict[str, dict]:
        """The entries of ``filters`` that are PyRadiomics image types."""
        return {k: v for k, v in self.filters.items() if k in IMAGE_TYPES}

    @property
    def ibsi2_filters(self) -> dict:
        """Name → IBSI-2 filter model, for the entries of ``filters`` that are IBSI-2 filters."""
        from radsig.config.ibsi2 import parse_filter

        return {k: parse_filter(k, v) for k, v in self.filters.items() if k not in IMAGE_TYPES}

    @property
    def filters_trivial(self) -> bool:
        """True when only the original image is used."""
        return set(self.filters) <= {"Original"}
