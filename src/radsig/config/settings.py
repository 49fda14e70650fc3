"""radsig's own IBSI extraction settings: one frozen dataclass per processing stage.

:func:`radsig.config.load_settings` builds them from a YAML file or a mapping with
:meth:`IbsiSettings.from_dict`, which checks every key and value: an unknown key is an error that
names it and the valid ones, a value of the wrong type or out of range names the setting
(:class:`SettingsError`, turned into a one-line :class:`~radsig.exceptions.ConfigError`).

Written as dataclasses with a small checker instead of pydantic models: importing pydantic and
building the stage models cost ~0.085 s per process, a fifth of a one-case ``radsig extract`` in
IBSI mode, for some twenty typed fields (PyRadiomics parameter files are checked by a table in
:mod:`radsig.config.pyradiomics` for the same reason). Study files, which are read once per
study, keep pydantic (:mod:`radsig.config.study`).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

AggregationDim = Literal["2D", "2.5D", "3D"]
#: Interpolation spacing bounds (mm): below 0.01 mm the resampled grid of any real ROI does not
#: fit in memory; above 100 mm there is no texture left.
MIN_SPACING_MM, MAX_SPACING_MM = 0.01, 100.0


class SettingsError(ValueError):
    """A settings value or key that is not valid: *loc* is the path of keys to it."""

    def __init__(self, loc: tuple[str, ...], message: str, *, value: Any = None,
                 valid: tuple[str, ...] | None = None) -> None:
        super().__init__(message)
        self.loc, self.message, self.value, self.valid = tuple(loc), message, value, valid


def setting(default: Any = dataclasses.MISSING, *, factory: Any = dataclasses.MISSING,
            ge: float | None = None, gt: float | None = None, le: float | None = None,
            check: Any = None, doc: str = "") -> Any:
    """A settings field: its default (or *factory*), bounds on its value, a *check* of the value
    (raises ValueError) and its description."""
    meta = {"ge": ge, "gt": gt, "le": le, "check": check, "doc": doc}
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The fields' types (the annotations are strings: evaluated once per class)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    origin = typing.get_origin(tp)
    if origin is list:
        return "a list"
    if origin is dict or (dataclasses.is_dataclass(tp)):
        return "a mapping"
    return {bool: "true or false", int: "an integer", float: "a number"}.get(tp, str(tp))


def _union(value: Any, tp: Any, loc: tuple[str, ...]) -> Any:
    options = typing.get_args(tp)
    if value is None and type(None) in options:
        return None
    errors = []
    for option in options:
        if option is not type(None):
            try:
                return _check(value, option, loc)
            except SettingsError as err:
                errors.append(err)
    if len(errors) == 1:
        raise errors[0]
    raise SettingsError(loc, "should be " + " or ".join(_name(o) for o in options), value=value)


def _literal(value: Any, tp: Any, loc: tuple[str, ...]) -> Any:
    if value in typing.get_args(tp) and not isinstance(value, bool):
        return value
    raise SettingsError(loc, f"should be {_name(tp)}", value=value)


def _list(value: Any, tp: Any, loc: tuple[str, ...]) -> list:
    if not isinstance(value, (list, tuple)):
        raise SettingsError(loc, "should be a list", value=value)
    (item,) = typing.get_args(tp)
    return [_check(v, item, (*loc, str(i))) for i, v in enumerate(value)]


def _dict(value: Any, tp: Any, loc: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise SettingsError(loc, "should be a mapping", value=value)
    key_tp, value_tp = typing.get_args(tp)
    return {_check(k, key_tp, loc): _check(v, value_tp, (*loc, str(k))) for k, v in value.items()}


_GENERIC = {typing.Union: _union, types.UnionType: _union, Literal: _literal, list: _list,
            dict: _dict}


def _integer(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():  # 2.0 for 2, as pydantic accepts
        return int(value)
    return value if isinstance(value, int) else None


#: plain types: value -> the value as that type, or None when it is not one (bool is never a
#: number, though Python says it is an int)
_SCALARS = {
    bool: lambda v: v if isinstance(v, bool) else None,
    int: lambda v: None if isinstance(v, bool) else _integer(v),
    float: lambda v: float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None,
    str: lambda v: v if isinstance(v, str) else None,
    dict: lambda v: v if isinstance(v, dict) else None,
}


def _check(value: Any, tp: Any, loc: tuple[str, ...]) -> Any:
    """*value* as type *tp* (ints become floats where a float is asked, as pydantic's lax mode
    does; a float with an integer value is accepted as an integer), or SettingsError."""
    generic = _GENERIC.get(typing.get_origin(tp))
    if generic is not None:
        return generic(value, tp, loc)
    if dataclasses.is_dataclass(tp):
        return value if isinstance(value, tp) else tp.from_dict(value, loc)
    out = _SCALARS[tp](value) if value is not None else None
    if out is None:
        raise SettingsError(loc, f"should be {_name(tp)}", value=value)
    return out


def _bounds(value: Any, meta: Any, loc: tuple[str, ...], given: Any) -> None:
    if value is None:
        return
    for key, ok, words in (("ge", lambda v, b: v >= b, "greater than or equal to"),
                           ("gt", lambda v, b: v > b, "greater than"),
                           ("le", lambda v, b: v <= b, "less than or equal to")):
        bound = meta.get(key)
        if bound is not None and not ok(value, bound):
            raise SettingsError(loc, f"should be {words} {bound:g}", value=given)


class _Stage:
    """What every settings stage shares: construction from a mapping with every check, and the
    mapping back (:meth:`to_dict`, JSON-ready)."""

    @classmethod
    def from_dict(cls, data: Any, loc: tuple[str, ...] = ()):
        """The stage from a mapping: unknown keys, wrong types and values out of range raise
        :class:`SettingsError` naming the key."""
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise SettingsError(loc, "should be a mapping", value=data)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = [k for k in data if k not in fields]
        if unknown:
            raise SettingsError((*loc, str(unknown[0])), "unknown key", valid=tuple(fields))
        hints, values = _hints(cls), {}
        for name, value in data.items():
            where = (*loc, name)
            values[name] = _check(value, hints[name], where)
            _bounds(values[name], fields[name].metadata, where, value)
            if fields[name].metadata.get("check") and values[name] is not None:
                try:
                    values[name] = fields[name].metadata["check"](values[name])
                except ValueError as err:  # (its message shows the value)
                    raise SettingsError(where, str(err)) from None
        try:
            return cls(**values)
        except ValueError as err:  # a check of several fields (__post_init__)
            raise SettingsError(loc, str(err)) from None

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values (nested mappings, lists, numbers, strings)."""
        return dataclasses.asdict(self)

    def replace(self, **changes):
        """A copy with *changes* applied, checked as :meth:`from_dict` checks."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data.update(changes)
        return type(self).from_dict(data)


@dataclass(frozen=True)
class InputSettings(_Stage):
    """How the image is taken in before any processing."""

    round_intensities: bool = setting(
        False, doc="Cast to float and round intensities to the nearest integer on load "
                   "(IBSI: needed for the NIfTI phantoms).")


@dataclass(frozen=True)
class CropSettings(_Stage):
    """Cropping around the ROI, always done before resampling."""

    margin_mm: float = setting(10.0, ge=10.0, doc="Margin kept around the ROI bounding box "
                                                  "(mm, at least 10 for local intensity).")
    whole_image: bool = setting(False, doc="Keep the whole image (no crop): filters then "
                                           "see the image's own edges (IBSI-2 phase 2).")


def _check_spacing(value: list[float]) -> list[float]:
    if len(value) not in (2, 3):
        raise ValueError(f"spacing needs 2 (in-plane) or 3 values, got {len(value)}")
    if any(v <= 0 for v in value):
        raise ValueError(f"spacing values must be positive, got {value}")
    if any(v < MIN_SPACING_MM or v > MAX_SPACING_MM for v in value):
        raise ValueError(f"spacing values must lie between {MIN_SPACING_MM} and "
                         f"{MAX_SPACING_MM} mm, got {value}")
    return value


@dataclass(frozen=True)
class InterpolationSettings(_Stage):
    """Resampling onto a new grid whose centre is aligned with the original grid's centre."""

    spacing: list[float] | None = setting(
        None, check=_check_spacing, doc="New spacing in mm: [x, y, z] (3D) or [x, y] (in-plane "
                                        "only); null = no interpolation.")
    image_method: Literal["nearest", "linear", "bspline"] = "linear"
    mask_method: Literal["nearest", "linear"] = "linear"
    mask_threshold: float = setting(0.5, gt=0.0, le=1.0, doc="Partial-volume threshold.")
    round_intensities: bool = setting(True, doc="Round interpolated intensities.")


def _check_range(value: list[float | None]) -> list[float | None]:
    if len(value) != 2:
        raise ValueError(f"range needs two values [low, high], got {len(value)}")
    lo, hi = value
    if lo is not None and hi is not None and lo >= hi:
        raise ValueError(f"range low ({lo}) must be below high ({hi})")
    return value


@dataclass(frozen=True)
class ResegmentationSettings(_Stage):
    """Re-segmentation of the intensity mask (the morphological mask is never changed)."""

    range: list[float | None] | None = setting(
        None, check=_check_range, doc="Closed intensity interval [a, b] kept in the intensity "
                                      "mask; null for an open end.")
    outlier_sigma: float | None = setting(None, gt=0, doc="Remove voxels outside mean ± "
                                                          "k·SD (IBSI: 3).")


class _Binning(_Stage):
    def __post_init__(self) -> None:
        if self.method == "fbs" and self.bin_width is None:
            raise ValueError("method 'fbs' needs bin_width")
        if self.method == "fbn" and self.bin_number is None:
            raise ValueError("method 'fbn' needs bin_number")


@dataclass(frozen=True)
class DiscretisationSettings(_Binning):
    """Grey-level discretisation for the intensity histogram and texture families."""

    method: Literal["fbs", "fbn", "none"] = "fbn"
    bin_width: float | None = setting(None, gt=0)
    bin_number: int | None = setting(32, ge=1, le=65536)


@dataclass(frozen=True)
class IvhSettings(_Binning):
    """Discretisation of the intensity-volume histogram (IBSI cases).

    ``none``: calibrated discrete intensities (w = 1, range = re-segmentation range or ROI
    min/max); ``fbs``: continuous calibrated intensities binned with ``bin_width`` from the
    re-segmentation lower bound and represented by bin centres; ``fbn``: arbitrary units,
    ``bin_number`` bins over the ROI range.
    """

    method: Literal["none", "fbs", "fbn"] = "none"
    bin_width: float | None = setting(None, gt=0)
    bin_number: int | None = setting(None, ge=1, le=65536)


@dataclass(frozen=True)
class TextureSettings(_Stage):
    """Options of the texture families."""

    aggregations: list[AggregationDim] = setting(factory=lambda: ["3D"])
    distance: int = setting(1, ge=1)
    ngldm_alpha: int = setting(0, ge=0)


FAMILIES = (
    "morphology", "local_intensity", "intensity_statistics", "intensity_histogram",
    "intensity_volume_histogram", "glcm", "glrlm", "glszm", "gldzm", "ngtdm", "ngldm",
)
Family = Literal[FAMILIES]  # type: ignore[valid-type]

#: image types of PyRadiomics' ``imageType`` section that ``filters`` accepts
IMAGE_TYPES = ("Original", "LoG", "Wavelet", "Square", "SquareRoot", "Logarithm", "Exponential",
               "Gradient", "LBP2D", "LBP3D")


def _check_filters(value: dict[str, dict | None]) -> dict[str, dict]:
    unknown = sorted(k for k, v in value.items()
                     if k not in IMAGE_TYPES and not (isinstance(v, dict) and "filter" in v))
    if unknown:
        raise ValueError(f"unknown image type(s) {', '.join(unknown)}; valid: "
                         f"{', '.join(IMAGE_TYPES)}, or an IBSI-2 filter (an entry with "
                         "'filter:' mean, log, laws, gabor, wavelet or simoncelli)")
    from radsig.config.pyradiomics import _validate_settings

    out = {}
    for name, options in value.items():
        if name not in IMAGE_TYPES:  # IBSI-2 filter: validated (unknown keys are errors), normalised
            from radsig.config.ibsi2 import parse_filter

            out[name] = parse_filter(name, options).model_dump()
            continue
        # every option of every filter is checked (a typo such as 'sigmaa' is an error; the
        # ConfigError it raises is a ValueError)
        out[name] = _validate_settings(options or {}, f"filters.{name}")
        if name == "LoG" and not out[name].get("sigma"):
            raise ValueError("filters.LoG needs 'sigma' (a list of widths in mm, e.g. [1, 2]);"
                             " without it no LoG image is computed")
    return out


@dataclass(frozen=True)
class IbsiSettings(_Stage):
    """All settings of an IBSI-mode extraction."""

    input: InputSettings = setting(factory=InputSettings)
    crop: CropSettings = setting(factory=CropSettings)
    interpolation: InterpolationSettings = setting(factory=InterpolationSettings)
    resegmentation: ResegmentationSettings = setting(factory=ResegmentationSettings)
    discretisation: DiscretisationSettings = setting(factory=DiscretisationSettings)
    ivh: IvhSettings = setting(factory=IvhSettings)
    texture: TextureSettings = setting(factory=TextureSettings)
    families: list[Family] = setting(factory=lambda: list(FAMILIES))
    filters: dict[str, dict | None] = setting(
        factory=lambda: {"Original": {}}, check=_check_filters,
        doc="Image types in PyRadiomics' imageType shape, e.g. "
            "{Original: {}, LoG: {sigma: [1, 2]}, Wavelet: {}}, and IBSI-2 filters: "
            "any other name with 'filter:' (radsig.config.ibsi2), e.g. "
            "{log_s1: {filter: log, sigma_mm: 1.0}}.")

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
