"""radsig.config: loading and validating settings files.

:func:`load_settings` reads a YAML file (or takes a dict) and returns radsig's own
:class:`~radsig.config.settings.IbsiSettings`, or PyRadiomics settings when the file is a
PyRadiomics parameter file. Every problem becomes a one-line :class:`ConfigError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from radsig.exceptions import ConfigError

if TYPE_CHECKING:
    from radsig.config.settings import IbsiSettings

PYRADIOMICS_KEYS = frozenset({"setting", "imageType", "featureClass", "voxelSetting"})

__all__ = ["load_settings", "settings_hash", "IbsiSettings", "PYRADIOMICS_KEYS"]


def __getattr__(name: str):
    # Lazy (PEP 562): the pydantic model is imported on first use, so PyRadiomics mode
    # (radsig.config.pyradiomics) starts without pydantic.
    if name == "IbsiSettings":
        from radsig.config.settings import IbsiSettings

        return IbsiSettings
    raise AttributeError(f"module 'radsig.config' has no attribute {name!r}")


def _read_yaml(path: Path) -> Any:
    from radsig.config.yamlfile import load_yaml

    return load_yaml(path, "settings file")


def _model_for(loc: tuple) -> type | None:
    """The pydantic model class that owns the field path *loc* (None when unknown)."""
    from radsig.config.settings import IbsiSettings

    model: Any = IbsiSettings
    for part in loc:
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return None
        ann = field.annotation
        if isinstance(ann, type) and hasattr(ann, "model_fields"):
            model = ann
        else:
            return None
    return model


def _format_validation_error(err, source: str) -> str:
    first = err.errors()[0]
    loc = tuple(str(p) for p in first["loc"])
    where = ".".join(loc) or "(top level)"
    if first["type"] == "extra_forbidden":
        owner = _model_for(loc[:-1])
        valid = ", ".join(owner.model_fields) if owner is not None else "?"
        section = ".".join(loc[:-1]) or "top level"
        return (f"{source}: unknown settings key '{loc[-1]}' in {section}; "
                f"valid keys: {valid}")
    more = f" (and {len(err.errors()) - 1} more problem(s))" if len(err.errors()) > 1 else ""
    got = first.get("input")
    got_text = f"; got {got!r}" if got is not None and not isinstance(got, dict) else ""
    msg = first["msg"].removeprefix("Value error, ")
    return f"{source}: invalid value for '{where}': {msg}{got_text}{more}"


def _load_pyradiomics(data: dict, path: Path | None):
    """Hand a PyRadiomics parameter file (the path, so messages name it) or dict over."""
    from radsig.config.pyradiomics import load_pyradiomics_settings  # PyRadiomics-mode issue

    return load_pyradiomics_settings(path if path is not None else data)


def load_settings(path_or_dict: str | Path | dict | IbsiSettings | None = None):
    """Load and validate extraction settings.

    Parameters
    ----------
    path_or_dict : str, Path, dict, IbsiSettings or None
        A YAML file, an already-parsed mapping, a settings object (returned as is) or None
        (the defaults).

    Returns
    -------
    IbsiSettings or PyRadiomicsSettings
        PyRadiomics settings when the top-level keys are among ``setting, imageType,
        featureClass, voxelSetting``.

    Raises
    ------
    ConfigError
        Missing file, malformed YAML, unknown key (named, with the valid ones) or bad value.
    """
    if path_or_dict is None:
        from radsig.config.settings import IbsiSettings

        return IbsiSettings()
    if not isinstance(path_or_dict, (str, Path, dict)):
        return path_or_dict  # already a settings object (IBSI or PyRadiomics)
    path = None
    if isinstance(path_or_dict, dict):
        data, source = path_or_dict, "settings"
    else:
        path = Path(path_or_dict)
        data, source = _read_yaml(path), str(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: settings must be a mapping of keys to values, "
                          f"got {type(data).__name__}")
    if data and set(data) <= PYRADIOMICS_KEYS:
        return _load_pyradiomics(data, path)
    from pydantic import ValidationError  # (after the PyRadiomics check: that mode needs neither)

    from radsig.config.settings import IbsiSettings

    try:
        return IbsiSettings.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_validation_error(err, source)) from None


def settings_hash(settings) -> str:
    """Stable SHA-256 hex digest of the settings' content (key order does not matter)."""
    if hasattr(settings, "model_dump"):
        payload = settings.model_dump(mode="json")
    elif isinstance(settings, dict):
        payload = settings
    else:
        from dataclasses import asdict, is_dataclass

        payload = asdict(settings) if is_dataclass(settings) else vars(settings)
    import hashlib  # here, not at import: PyRadiomics mode's start-up does not need them
    import json

    text = json.dumps({"type": type(settings).__name__, "settings": payload},
                      sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
