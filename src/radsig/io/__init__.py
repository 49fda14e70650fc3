"""radsig.io: reading images and masks (NIfTI, NRRD, MHA/MHD; DICOM via :mod:`radsig.io.dicom`).

The readers are imported on first use (PEP 562), so that :mod:`radsig.io.nifti` can be used
without importing SimpleITK.
"""

from __future__ import annotations

__all__ = ["read_image", "read_mask", "binarise_mask", "check_geometry"]


def __getattr__(name: str):
    if name in __all__:
        from radsig.io import image

        return getattr(image, name)
    raise AttributeError(f"module 'radsig.io' has no attribute {name!r}")
