"""radsig.io: reading images and masks (NIfTI, NRRD, MHA/MHD; DICOM via :mod:`radsig.io.dicom`)."""

from __future__ import annotations

from radsig.io.image import binarise_mask, check_geometry, read_image, read_mask

__all__ = ["read_image", "read_mask", "binarise_mask", "check_geometry"]
