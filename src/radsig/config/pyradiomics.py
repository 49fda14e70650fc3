"""PyRadiomics parameter files, read unchanged and validated.

A PyRadiomics parameter file is a YAML/JSON mapping whose top-level keys are among
``setting``, ``imageType``, ``featureClass`` and ``voxelSetting``. :func:`load_pyradiomics_settings`
turns one (a path or an already-parsed dict) into a :class:`PyRadiomicsSettings`: the settings merged
over PyRadiomics' defaults, the enabled image types with their own setting overrides, and the
enabled feature classes. Every key is checked against what PyRadiomics 3.x accepts; a key radsig
cannot honour raises :class:`~radsig.exceptions.ConfigError` or warns
:class:`~radsig.exceptions.FeatureWarning` — nothing is silently ignored.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml  # with the module, as PyRadiomics imports its YAML library with its extractor

from radsig.exceptions import ConfigError, FeatureWarning

# libyaml's parser where PyYAML was built with it (same loader semantics, faster parsing)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

__all__ = [
    "PyRadiomicsSettings", "load_pyradiomics_settings", "is_pyradiomics_params",
    "DEFAULT_SETTINGS", "FEATURE_NAMES", "IMAGE_TYPES",
]

TOP_LEVEL_KEYS = ("setting", "imageType", "featureClass", "voxelSetting")

# PyRadiomics' extractor defaults (featureextractor._getDefaultSettings) plus the class defaults
# that the feature classes read themselves (binWidth 25, voxelArrayShift 0, symmetricalGLCM …).
DEFAULT_SETTINGS: dict[str, Any] = {
    "minimumROIDimensions": 2, "minimumROISize": None, "normalize": False, "normalizeScale": 1,
    "removeOutliers": None, "resampledPixelSpacing": None, "interpolator": "sitkBSpline",
    "preCrop": False, "padDistance": 5, "distances": [1], "force2D": False, "force2Ddimension": 0,
    "resegmentRange": None, "label": 1, "additionalInfo": True,
}

INTERPOLATORS = (
    "sitkNearestNeighbor", "sitkLinear", "sitkBSpline", "sitkGaussian", "sitkLabelGaussian",
    "sitkHammingWindowedSinc", "sitkCosineWindowedSinc", "sitkWelchWindowedSinc",
    "sitkLanczosWindowedSinc", "sitkBlackmanWindowedSinc",
)
# Numeric values of SimpleITK's InterpolatorEnum, which PyRadiomics also accepts.
INTERPOLATOR_CODES = {1: "sitkNearestNeighbor", 2: "sitkLinear", 3: "sitkBSpline", 4: "sitkGaussian",
                      5: "sitkLabelGaussian", 6: "sitkHammingWindowedSinc",
                      7: "sitkCosineWindowedSinc", 8: "sitkWelchWindowedSinc",
                      9: "sitkLanczosWindowedSinc", 10: "sitkBlackmanWindowedSinc"}

# (kind, lower bound, lower bound exclusive) per setting — PyRadiomics' parameter schema.
_SCHEMA: dict[str, tuple] = {
    "minimumROIDimensions": ("int", 1, False, 3), "minimumROISize": ("int", 0, True, None),
    "geometryTolerance": ("float", 0, True, None), "correctMask": ("bool",),
    "additionalInfo": ("bool",), "label": ("int", 0, True, None),
    "label_channel": ("int", 0, False, None), "binWidth": ("float", 0, True, None),
    "binCount": ("int", 0, True, 65536), "normalize": ("bool",),
    "normalizeScale": ("float", 0, True, None), "removeOutliers": ("float", 0, True, None),
    "resampledPixelSpacing": ("floatseq", 0, False, None), "interpolator": ("interpolator",),
    "padDistance": ("int", 0, False, None), "distances": ("intseq", 0, True, None),
    "force2D": ("bool",), "force2Ddimension": ("int", 0, False, 2),
    "resegmentRange": ("floatseq", None, False, None), "resegmentMode": ("enum", "absolute",
                                                                          "relative", "sigma"),
    "resegmentShape": ("bool",), "preCrop": ("bool",), "sigma": ("floatseq", 0, True, None),
    "start_level": ("int", 0, False, None), "level": ("int", 0, True, None),
    "wavelet": ("wavelet",), "gradientUseSpacing": ("bool",),
    "lbp2DRadius": ("float", 0, True, None), "lbp2DSamples": ("int", 1, False, None),
    "lbp2DMethod": ("enum", "default", "ror", "uniform", "var"),
    "lbp3DLevels": ("int", 1, False, None), "lbp3DIcosphereRadius": ("float", 0, True, None),
    "lbp3DIcosphereSubdivision": ("int", 0, False, None), "voxelArrayShift": ("int", None, False,
                                                                             None),
    "symmetricalGLCM": ("bool",), "weightingNorm": ("enum", "manhattan", "euclidean",
                                                     "infinity", "no_weighting"),
    "gldm_a": ("int", 0, False, None),
}
_VOXEL_SCHEMA = {"kernelRadius": ("int", 0, True, None), "maskedKernel": ("bool",),
                 "initValue": ("float", None, False, None), "voxelBatch": ("int", 0, True, None)}

IMAGE_TYPES = ("Original", "LoG", "Wavelet", "Square", "SquareRoot", "Logarithm", "Exponential",
               "Gradient", "LBP2D", "LBP3D")

# Feature names per class; the value says whether the feature is deprecated (then only computed
# when named explicitly, as PyRadiomics does; None = deprecated and never computed).
FEATURE_NAMES: dict[str, dict[str, bool | None]] = {
    "firstorder": {n: False for n in (
        "Energy", "TotalEnergy", "Entropy", "Minimum", "10Percentile", "90Percentile", "Maximum",
        "Mean", "Median", "InterquartileRange", "Range", "MeanAbsoluteDeviation",
        "RobustMeanAbsoluteDeviation", "RootMeanSquared", "Skewness", "Kurtosis", "Variance",
        "Uniformity")} | {"StandardDeviation": True},
    "shape": {n: False for n in (
        "MeshVolume", "VoxelVolume", "SurfaceArea", "SurfaceVolumeRatio", "Sphericity",
        "Maximum3DDiameter", "Maximum2DDiameterSlice", "Maximum2DDiameterColumn",
        "Maximum2DDiameterRow", "MajorAxisLength", "MinorAxisLength", "LeastAxisLength",
        "Elongation", "Flatness")} | {"Compactness1": True, "Compactness2": True,
                                      "SphericalDisproportion": True},
    "shape2D": {n: False for n in (
        "MeshSurface", "PixelSurface", "Perimeter", "PerimeterSurfaceRatio", "Sphericity",
        "MaximumDiameter", "MajorAxisLength", "MinorAxisLength", "Elongation")}
    | {"SphericalDisproportion": True},
    "glcm": {n: False for n in (
        "Autocorrelation", "JointAverage", "ClusterProminence", "ClusterShade", "ClusterTendency",
        "Contrast", "Correlation", "DifferenceAverage", "DifferenceEntropy", "DifferenceVariance",
        "JointEnergy", "JointEntropy", "Imc1", "Imc2", "Idm", "MCC", "Idmn", "Id", "Idn",
        "InverseVariance", "MaximumProbability", "SumAverage", "SumEntropy", "SumSquares")}
    | {"Dissimilarity": None, "Homogeneity1": None, "Homogeneity2": None, "SumVariance": None},
    "glrlm": {n: False for n in (
        "ShortRunEmphasis", "LongRunEmphasis", "GrayLevelNonUniformity",
        "GrayLevelNonUniformityNormalized", "RunLengthNonUniformity",
        "RunLengthNonUniformityNormalized", "RunPercentage", "GrayLevelVariance", "RunVariance",
        "RunEntropy", "LowGrayLevelRunEmphasis", "HighGrayLevelRunEmphasis",
        "ShortRunLowGrayLevelEmphasis", "ShortRunHighGrayLevelEmphasis",
        "LongRunLowGrayLevelEmphasis", "LongRunHighGrayLevelEmphasis")},
    "glszm": {n: False for n in (
        "SmallAreaEmphasis", "LargeAreaEmphasis", "GrayLevelNonUniformity",
        "GrayLevelNonUniformityNormalized", "SizeZoneNonUniformity",
        "SizeZoneNonUniformityNormalized", "ZonePercentage", "GrayLevelVariance", "ZoneVariance",
        "ZoneEntropy", "LowGrayLevelZoneEmphasis", "HighGrayLevelZoneEmphasis",
        "SmallAreaLowGrayLevelEmphasis", "SmallAreaHighGrayLevelEmphasis",
        "LargeAreaLowGrayLevelEmphasis", "LargeAreaHighGrayLevelEmphasis")},
    "gldm": {n: False for n in (
        "SmallDependenceEmphasis", "LargeDependenceEmphasis", "GrayLevelNonUniformity",
        "DependenceNonUniformity", "DependenceNonUniformityNormalized", "GrayLevelVariance",
        "DependenceVariance", "DependenceEntropy", "LowGrayLevelEmphasis",
        "HighGrayLevelEmphasis", "SmallDependenceLowGrayLevelEmphasis",
        "SmallDependenceHighGrayLevelEmphasis", "LargeDependenceLowGrayLevelEmphasis",
        "LargeDependenceHighGrayLevelEmphasis")}
    | {"GrayLevelNonUniformityNormalized": None, "DependencePercentage": None},
    "ngtdm": {n: False for n in ("Coarseness", "Contrast", "Busyness", "Complexity", "Strength")},
}


@dataclass
class PyRadiomicsSettings:
    """A validated PyRadiomics parameter set.

    Attributes
    ----------
    setting : dict
        Settings merged over PyRadiomics' defaults (``binWidth``, ``resampledPixelSpacing`` …).
    image_types : dict
        Enabled image types (``"Original"``, ``"LoG"``, ``"Wavelet"`` …) → their own overrides.
    feature_classes : dict
        Enabled feature classes → list of the feature names to compute (resolved: deprecated
        features only when named).
    voxel_setting : dict
        The ``voxelSetting`` section as given (voxel-based extraction is not run by radsig).
    source : str or None
        Where the parameters came from (file path), for messages.
    diagnostics : bool
        ``diagnostics_*`` rows requested (``additionalInfo: true`` written in the file).
    """

    setting: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_SETTINGS))
    image_types: dict[str, dict[str, Any]] = field(default_factory=lambda: {"Original": {}})
    feature_classes: dict[str, list[str]] = field(default_factory=dict)
    voxel_setting: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    diagnostics: bool = False
    #: the ROI label was chosen (--label, a manifest column, or 'label' other than 1); if not,
    #: a mask with several labels is warned about (PyRadiomics mode then uses label 1 only)
    label_chosen: bool = True

    def settings_for(self, image_type: str) -> dict[str, Any]:
        """The settings in force for one image type (global settings + its overrides)."""
        merged = dict(self.setting)
        merged.update(self.image_types.get(image_type) or {})
        return merged

    def to_dict(self) -> dict[str, Any]:
        """A plain, JSON-able dict in PyRadiomics' own layout."""
        return {"setting": self.setting, "imageType": self.image_types,
                "featureClass": self.feature_classes, "voxelSetting": self.voxel_setting}

    def hash(self) -> str:
        """Stable hex digest of the parameters (independent of key order)."""
        import hashlib  # here, not at import (start-up time of a one-case process)
        import json

        text = json.dumps(self.to_dict(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def is_pyradiomics_params(params: Any) -> bool:
    """True when *params* is a mapping whose top-level keys are all PyRadiomics sections."""
    return isinstance(params, dict) and bool(params) and set(params) <= set(TOP_LEVEL_KEYS)


def _read(path: Path) -> dict:
    from radsig.config.yamlfile import parse_yaml, read_text

    text = read_text(path, "PyRadiomics parameter file")
    if path.suffix.lower() == ".json":
        import json

        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    else:
        data = parse_yaml(text, str(path))
    if data is None or data == {}:
        raise ConfigError(f"{path}: PyRadiomics parameter file is empty (no settings in it)")
    return data


def load_pyradiomics_settings(params: str | Path | dict | PyRadiomicsSettings, *,
                              overrides: dict | None = None) -> PyRadiomicsSettings:
    """Read and validate a PyRadiomics parameter file (or dict) unchanged.

    Parameters
    ----------
    params : path, dict or PyRadiomicsSettings
        A YAML/JSON file with sections ``setting``, ``imageType``, ``featureClass`` and
        ``voxelSetting``, or the same content as a dict.
    overrides : dict, optional
        Extra settings applied over the file's ``setting`` section (like keyword arguments to
        PyRadiomics' extractor).

    Raises
    ------
    ConfigError
        Unknown section, setting, image type, feature class or feature; a value of the wrong type
        or out of range.
    """
    if isinstance(params, PyRadiomicsSettings):
        return params
    source = None
    if isinstance(params, (str, Path)):
        source = str(params)
        params = _read(Path(params))
    where = source or "PyRadiomics parameters"
    if not isinstance(params, dict):
        raise ConfigError(f"{where}: expected a mapping with sections {TOP_LEVEL_KEYS}, "
                          f"got {type(params).__name__}")
    unknown = set(params) - set(TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key(s) {sorted(unknown)}; allowed: "
                          f"{list(TOP_LEVEL_KEYS)}")
    setting = dict(DEFAULT_SETTINGS)
    user = _section(params, "setting", where)
    user.update(overrides or {})
    setting.update(_validate_settings(user, f"{where}: setting"))
    image_types = _validate_image_types(_section(params, "imageType", where), where)
    feature_classes = _validate_feature_classes(params.get("featureClass"), where)
    voxel = _validate_settings(_section(params, "voxelSetting", where), f"{where}: voxelSetting",
                               _VOXEL_SCHEMA)
    if voxel:
        warnings.warn(f"{where}: voxelSetting {sorted(voxel)} is only used by voxel-based "
                      "extraction, which radsig does not run; segment-based features are computed "
                      "and these settings have no effect", FeatureWarning, stacklevel=2)
    _cross_check(setting, image_types, feature_classes, where)
    return PyRadiomicsSettings(setting=setting, image_types=image_types,
                               feature_classes=feature_classes, voxel_setting=voxel, source=source,
                               diagnostics=user.get("additionalInfo") is True)


def _section(params: dict, key: str, where: str) -> dict:
    value = params.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: section '{key}' must be a mapping, got {value!r}")
    return dict(value)


def _check_number(name, value, kind, low, low_excl, high, where):
    if kind == "float" and isinstance(value, str):  # YAML 'nan' / 'inf' stay strings
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: '{name}' must be a number, got {value!r}")
    if kind == "int" and float(value) != int(value):
        raise ConfigError(f"{where}: '{name}' must be an integer, got {value!r}")
    if low is not None and (value <= low if low_excl else value < low):
        raise ConfigError(f"{where}: '{name}' must be {'>' if low_excl else '>='} {low}, "
                          f"got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"{where}: '{name}' must be <= {high}, got {value!r}")
    return int(value) if kind == "int" else value


def _validate_value(name: str, value: Any, spec: tuple, where: str) -> Any:
    kind = spec[0]
    if value is None:
        return None
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: '{name}' must be true or false, got {value!r}")
        return value
    if kind in ("int", "float"):
        return _check_number(name, value, kind, *spec[1:], where)
    if kind in ("floatseq", "intseq"):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: '{name}' must be a list of numbers, got {value!r}")
        sub = "int" if kind == "intseq" else "float"
        return [_check_number(name, v, sub, *spec[1:], where) for v in value]
    if kind == "enum":
        if value not in spec[1:]:
            raise ConfigError(f"{where}: '{name}' must be one of {list(spec[1:])}, got {value!r}")
        return value
    return _validate_named(kind, value, where)


def _validate_named(kind: str, value: Any, where: str) -> Any:
    """Interpolator and wavelet names (checked against SimpleITK's / PyWavelets' lists)."""
    if kind == "interpolator":
        if isinstance(value, int) and value in INTERPOLATOR_CODES:
            return INTERPOLATOR_CODES[value]
        if value not in INTERPOLATORS:
            raise ConfigError(f"{where}: 'interpolator' must be one of {list(INTERPOLATORS)}, "
                              f"got {value!r}")
        return value
    if value in ("coif1", "haar"):  # the common ones: no PyWavelets import to check them
        return value
    import pywt

    if value not in pywt.wavelist(kind="discrete"):
        raise ConfigError(f"{where}: 'wavelet' must be a discrete PyWavelets wavelet "
                          f"(e.g. coif1, db2, haar), got {value!r}")
    return value


def _validate_settings(values: dict, where: str, schema: dict | None = None) -> dict:
    schema = _SCHEMA if schema is None else schema
    out = {}
    for name, value in values.items():
        if name not in schema:
            raise ConfigError(f"{where}: unknown setting '{name}'; PyRadiomics accepts "
                              f"{sorted(schema)}")
        out[name] = _validate_value(name, value, schema[name], where)
    sp = out.get("resampledPixelSpacing")
    if sp and any(v != 0 and not 0.01 <= v <= 100 for v in sp):
        raise ConfigError(f"{where}: 'resampledPixelSpacing' values must be 0 (keep) or lie "
                          f"between 0.01 and 100 mm, got {sp!r}")
    rr = out.get("resegmentRange")
    if rr is not None and not 1 <= len(rr) <= 2:
        raise ConfigError(f"{where}: 'resegmentRange' needs 1 or 2 values, got {rr!r}")
    return out


def _validate_image_types(values: dict, where: str) -> dict:
    if not values:
        return {"Original": {}}
    out = {}
    for name, custom in values.items():
        if name not in IMAGE_TYPES:
            raise ConfigError(f"{where}: unknown imageType '{name}'; allowed: {list(IMAGE_TYPES)}")
        if custom is None:
            custom = {}
        if not isinstance(custom, dict):
            raise ConfigError(f"{where}: imageType '{name}' must map to a dict of settings "
                              f"(use {{}} for none), got {custom!r}")
        out[name] = _validate_settings(custom, f"{where}: imageType {name}")
    return out


def _validate_feature_classes(values: Any, where: str) -> dict[str, list[str]]:
    if values is None or values == {}:
        values = {name: None for name in FEATURE_NAMES if name != "shape2D"}
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: section 'featureClass' must be a mapping, got {values!r}")
    out: dict[str, list[str]] = {}
    for cls, names in values.items():
        if cls not in FEATURE_NAMES:
            raise ConfigError(f"{where}: unknown featureClass '{cls}'; allowed: "
                              f"{sorted(FEATURE_NAMES)}")
        known = FEATURE_NAMES[cls]
        if not names:
            out[cls] = [n for n, dep in known.items() if dep is False]
            continue
        if isinstance(names, str):
            names = [names]
        chosen = []
        for name in names:
            if name not in known:
                raise ConfigError(f"{where}: featureClass {cls}: unknown feature '{name}'; "
                                  f"allowed: {sorted(known)}")
            if known[name] is None:
                warnings.warn(f"{where}: {cls} feature '{name}' is deprecated in PyRadiomics "
                              "(mathematically equal to another feature) and is not computed",
                              FeatureWarning, stacklevel=3)
                continue
            chosen.append(name)
        out[cls] = chosen
    return out


def _cross_check(setting: dict, image_types: dict, feature_classes: dict, where: str) -> None:
    if setting.get("binCount") is not None:
        warnings.warn(f"{where}: binCount (fixed bin number) is used instead of binWidth, as "
                      "PyRadiomics does", FeatureWarning, stacklevel=3)
    if "shape2D" in feature_classes and not setting.get("force2D"):
        warnings.warn(f"{where}: shape2D is enabled but force2D is false; PyRadiomics computes "
                      "shape2D only with force2D, so no shape2D features will be produced",
                      FeatureWarning, stacklevel=3)
    if "LoG" in image_types and not image_types["LoG"].get("sigma", setting.get("sigma")):
        warnings.warn(f"{where}: imageType LoG has no 'sigma' list; no LoG images are computed",
                      FeatureWarning, stacklevel=3)
