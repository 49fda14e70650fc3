"""Provenance of a cohort run: versions, settings and their hash, every input's hash, timing.

Written as a JSON sidecar next to the feature table (``<out stem>.provenance.json``).
"""

from __future__ import annotations

import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

import radsig

DEPENDENCIES = ("numpy", "scipy", "pandas", "pyarrow", "SimpleITK", "pydantic", "PyYAML",
                "pydicom", "PyWavelets", "dask", "distributed", "pyradiomics")


def utc_now() -> str:
    """The current time, ISO 8601 in UTC."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """radsig, Python, platform and installed dependency versions (absent ones omitted)."""
    found = {"radsig": radsig.__version__, "python": platform.python_version(),
             "platform": platform.platform()}
    for name in DEPENDENCIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def settings_to_json(settings: Any) -> Any:
    """A JSON-able view of the settings (settings objects as mappings, mappings copied)."""
    if settings is None or isinstance(settings, (str, int, float, bool)):
        return settings
    if hasattr(settings, "model_dump"):
        return settings.model_dump(mode="json")
    if hasattr(settings, "to_dict"):  # IBSI settings (dataclasses), PyRadiomics settings
        return settings_to_json(settings.to_dict())
    if isinstance(settings, dict):
        return {str(k): settings_to_json(v) for k, v in settings.items()}
    if isinstance(settings, (list, tuple)):
        return [settings_to_json(v) for v in settings]
    return repr(settings)


def build(*, manifest_path: str | None, manifest_hash: str | None, settings: Any,
          settings_hash: str, settings_source: str | None, extractor: str, out: str,
          jobs: int, scheduler: str | None, started: str, finished: str,
          inputs: list[dict], counts: dict[str, int], workers: dict[str, float]) -> dict:
    """Assemble the provenance document (a plain dict, ready for ``json.dumps``)."""
    return {
        "radsig_version": radsig.__version__,
        "versions": versions(),
        "command": sys.argv if sys.argv and sys.argv[0] else None,
        "manifest": {"path": manifest_path, "blake2b": manifest_hash},
        "settings": {"source": settings_source, "hash": settings_hash,
                     "values": settings_to_json(settings)},
        "extractor": extractor,
        "output": out,
        "execution": {"jobs": jobs, "scheduler": scheduler,
                      "peak_rss_mb_per_worker": workers},
        "started": started,
        "finished": finished,
        "counts": counts,
        "inputs": inputs,
    }
