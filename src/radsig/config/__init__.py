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
    # Lazy (PEP 562): PyRadiomics mode (radsig.config.pyradiomics) never imports the IBSI
    # settings module.
    if name == "IbsiSettings":
        from radsig.config.settings import IbsiSettings

        return IbsiSettings
    raise AttributeError(f"module 'radsig.config' has no attribute {name!r}")


def _read_yaml(path: Path) -> Any:
    from radsig.config.yamlfile import load_yaml

    return load_yaml(path, "settings file")


def _format_settings_error(err, source: str) -> str:
    """One line naming the file, the setting and what is wrong with it."""
    loc = err.loc
    if err.valid is not None:  # an unknown key
        section = ".".join(loc[:-1]) or "top level"
        return (f"{source}: unknown settings key '{loc[-1]}' in {section}; "
                f"valid keys: {', '.join(err.valid)}")
    where = ".".join(loc) or "(top level)"
    got = err.value
    got_text = f"; got {got!r}" if got is not None and not isinstance(got, dict) else ""
    return f"{source}: invalid value for '{where}': {err.message}{got_text}"


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
    from radsig.config.settings import IbsiSettings, SettingsError

    try:
        return IbsiSettings.from_dict(data)
    except SettingsError as err:
        raise ConfigError(_format_settings_error(err, source)) from None


def settings_hash(settings) -> str:
    """Stable SHA-256 hex digest of the settings' content (key order does not matter)."""
    if hasattr(settings, "model_dump"):
        payload = settings.model_dump(mode="json")
    elif hasattr(settings, "to_dict"):
        payload = settings.to_dict()
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
