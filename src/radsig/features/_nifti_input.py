"""IBSI-mode input from NIfTI files without SimpleITK, reading only the planes the ROI needs.

``extract_case`` on a gzipped CT spent most of its reading time in SimpleITK inflating the whole
scan and the whole label map with zlib. For NIfTI-1 files that :mod:`radsig.io.nifti` reads
exactly as SimpleITK does (see there) and that share their grid, this gives the arrays
:func:`radsig.preprocess.pipeline.sitk_to_arrays` would give, except that the image is read only
over the planes the preprocessing can touch: the ROI's z-range widened by the crop margin, one
step of the new grid and the interpolation support. The arrays keep the whole scan's shape (the
resampling grid is aligned with the whole image); planes that are not read stay zero and are
never looked at. Anything else returns None and the SimpleITK reader runs.

The checks of :func:`radsig.io.image.read_file` and :func:`radsig.io.image.binarise_mask` run here
too (:mod:`radsig.io.checks` on the arrays): a file whose size or gzip trailer says it is damaged
goes to the checked reader, which names what is missing; a float image is read whole, so that
NaN/inf voxels anywhere are reported; the label map's warnings (several labels merged, no
background) are the same.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

#: a safety plane on each side beyond the planes the crop window and interpolation need
_SAFETY = 1


def nifti_arrays(image, mask, settings, label, *, case=None, on_mask=None):
    """``(image, mask bool, spacing zyx, origin zyx, direction)`` or None (use SimpleITK);
    *on_mask(mask bool, spacing zyx)*, if given, is called once the mask is read and checked,
    before the image is read."""
    if os.environ.get("RADSIG_NO_FASTPATH"):
        return None
    if not (isinstance(image, (str, Path)) and isinstance(mask, (str, Path))):
        return None
    if not settings.filters_trivial:  # filters widen the margin; keep the general path
        return None
    from radsig.io.checks import mask_roi
    from radsig.io.nifti import looks_complete, read_header, read_label_planes
    try:
        iv, mv = read_header(image), read_header(mask)
        if iv is None or mv is None or mv.dtype.kind not in "iu":
            return None
        if (iv.shape != mv.shape or not np.array_equal(iv.spacing, mv.spacing)
                or not np.array_equal(iv.origin, mv.origin)
                or not np.array_equal(iv.direction, mv.direction)):
            return None  # SimpleITK's path checks (with tolerance) or reports the mismatch
        if not (looks_complete(iv) and looks_complete(mv)):
            return None  # the checked reader says how many bytes are missing
        planes, z0 = read_label_planes(mv)
        if not planes.size:
            return None  # the SimpleITK path reports the empty mask
        binary = planes != 0 if label is None else planes == int(label)
        busy = np.flatnonzero(binary.reshape(binary.shape[0], -1).any(1))
        if not busy.size:
            return None  # ... or the missing label, naming the labels present
        nz = iv.shape[0]
        reach = _reach(float(iv.spacing[2]), settings)
        lo = max(0, int(z0 + busy[0]) - reach)
        hi = min(nz, int(z0 + busy[-1]) + 1 + reach)
    except (OSError, ValueError, MemoryError):
        return None  # the SimpleITK path reads the files again and reports what is wrong
    # the mask checks (binarise_mask's): several labels, no background (an absent label or an
    # empty mask went to the SimpleITK path above, which reports it with the same check)
    binary = mask_roi(planes, label=None if label is None else int(label), case=case,
                      path=str(mask), background_elsewhere=planes.shape[0] < nz)
    msk = np.zeros(iv.shape, dtype=bool)
    msk[z0:z0 + binary.shape[0]] = binary
    spacing = tuple(float(s) for s in iv.spacing[::-1])
    if on_mask is not None:  # before the image read: a prefetched image may still inflate
        on_mask(msk, spacing)
    arr = _read_image(iv, image, lo, hi, case)
    if arr is None:
        return None
    origin = tuple(float(o) for o in iv.origin[::-1])
    direction = tuple(float(d) for d in iv.direction.ravel())
    return arr, msk, spacing, origin, direction


def _reach(sz: float, settings) -> int:
    """Original planes beyond the ROI's that the preprocessing can read (slice spacing *sz*
    mm): the crop margin, one step of the new grid, the interpolation's support, a safety
    plane."""
    from radsig.preprocess.resample import support

    interp = settings.interpolation
    step = max([float(v) for v in (interp.spacing or []) if v] + [sz]) / sz
    reach_interp = support(interp.image_method) if interp.spacing else 0
    return math.ceil(float(settings.crop.margin_mm) / sz) + math.ceil(step) + reach_interp + _SAFETY


def _read_image(iv, image, lo: int, hi: int, case) -> np.ndarray | None:
    """The image as a whole-scan array holding planes lo..hi-1 (a float image whole, so that
    NaN/inf voxels anywhere are reported), or None (the SimpleITK path reads it again)."""
    from radsig.io.checks import check_nonfinite
    from radsig.io.nifti import read_planes, read_region

    try:
        if iv.dtype.kind == "f":
            region = read_region(iv, (0, 0, 0), iv.size)
            check_nonfinite(region, what="image", path=image, case=case)
            return region.astype(np.float64)
        arr = np.zeros(iv.shape, dtype=iv.dtype)  # untouched planes cost no memory
        read_planes(iv, lo, hi, out=arr[lo:hi])  # integers (no NaN): straight into the array
        return arr
    except (OSError, ValueError, MemoryError):
        return None
