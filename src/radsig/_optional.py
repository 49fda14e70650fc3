"""Optional dependencies: one place that imports them and says which extra installs a missing one.

radsig's core install (``pip install radsig``) runs everything but the parts that need an extra:

========  =====================  =====================================
extra     packages               used by
========  =====================  =====================================
``deep``  PyTorch (``torch``)    :mod:`radsig.deep`, the ``deep`` feature family of a study
``serve`` FastAPI, uvicorn       ``radsig serve`` (:mod:`radsig.serve`)
========  =====================  =====================================

Every import of an optional package goes through :func:`require` (or :func:`available` to ask
first), so a missing package is always the same one-line error naming the install command, never
a bare ``ModuleNotFoundError`` traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from radsig.exceptions import RadsigError, RadsigWarning

#: extra of radsig → the top-level packages it adds (the source of truth for the messages below)
EXTRAS: dict[str, tuple[str, ...]] = {"deep": ("torch",), "serve": ("fastapi", "uvicorn")}
_NAMES = {"torch": "PyTorch", "fastapi": "FastAPI"}


class MissingExtraError(RadsigError, ImportError):
    """An optional package is not installed; the message names the extra that provides it."""

    def __init__(self, module: str, extra: str, cause: BaseException | None = None) -> None:
        self.module, self.extra = module, extra
        top = module.split(".", 1)[0]
        plain = cause is None or (isinstance(cause, ModuleNotFoundError) and cause.name == top)
        why = "" if plain else f" or does not import ({type(cause).__name__}: {cause})"
        #: what is wrong, without the fix (e.g. "PyTorch is not installed")
        self.reason = f"{_NAMES.get(top, top)} is not installed{why}"
        super().__init__(f"{self.reason}; it is part of radsig's '{extra}' extra: {install_command(extra)}")


class MissingExtraWarning(RadsigWarning):
    """A study part was skipped because an optional package is not installed."""


def install_command(extra: str) -> str:
    """The command that installs *extra*, e.g. ``pip install "radsig[deep]"``."""
    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; radsig's extras: {sorted(EXTRAS)}")
    return f'pip install "radsig[{extra}]"'


def require(module: str, extra: str) -> ModuleType:
    """Import *module* (e.g. ``"torch"`` or ``"torch.nn.functional"``) or raise :class:`MissingExtraError`.

    Any ImportError counts, not only a missing package: a broken install (a missing shared
    library) fails the same way, with the original cause in the message.
    """
    install_command(extra)  # an unknown extra is a bug here, not the user's
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingExtraError(module, extra, err) from err


_MISSING: dict[str, MissingExtraError | None] = {}


def missing(module: str, extra: str) -> MissingExtraError | None:
    """``None`` when *module* imports, else the :class:`MissingExtraError` (remembered per process)."""
    if module not in _MISSING:
        try:
            require(module, extra)
            _MISSING[module] = None
        except MissingExtraError as err:
            _MISSING[module] = err.with_traceback(None)
    return _MISSING[module]
