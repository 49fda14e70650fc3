"""SimpleITK, imported on first use.

``from radsig._simpleitk import sitk`` gives an object that imports SimpleITK the first time one of
its attributes is read and forwards to it. PyRadiomics mode's fast path (NIfTI files read by
:mod:`radsig.io.nifti`) never reads one, so a process that only extracts features from such files
does not pay SimpleITK's import and unload (~0.15–0.2 s).
"""

from __future__ import annotations

import importlib

__all__ = ["sitk"]


class _LazySimpleITK:
    __slots__ = ()

    def __getattr__(self, name: str):
        return getattr(importlib.import_module("SimpleITK"), name)

    def __repr__(self) -> str:
        return "<SimpleITK, imported on first use>"


sitk = _LazySimpleITK()
