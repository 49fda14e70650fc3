"""NIfTI-1 volumes read without SimpleITK, with SimpleITK's geometry (PyRadiomics mode's fast path).

Importing SimpleITK and unloading it at exit costs ~0.15–0.2 s per process, as much as extracting
a CT case's 107 features. For the common case this module reads NIfTI-1 files (``.nii`` and
``.nii.gz``) itself, giving the voxel data and the geometry (origin, spacing, direction in ITK's
LPS convention) that ``SimpleITK.ReadImage`` gives, so that a whole PyRadiomics-mode extraction can
run without SimpleITK.

Only files whose geometry is unambiguous are read: a 3-D scalar image, little-endian, unscaled
voxels (``scl_slope`` 0 or 1, ``scl_inter`` 0), a qform that is an axis-aligned sign flip (no axis
permutation or oblique rotation) and an sform that is absent or says exactly the same. ITK then
gives these values whichever of qform and sform it prefers; for anything else :func:`read_header`
returns None and the caller uses SimpleITK. The tests compare header, geometry and voxels with
SimpleITK on files it wrote.

Gzipped files are inflated in 1 MB pieces (ISA-L or zlib-ng where installed, see :func:`_zlib`)
and only the planes that hold a label are kept (:func:`read_label_planes`); an image is read only
over the planes a region needs (:func:`read_region`; a gzipped one up to its last such plane).
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from radsig.io.gzstream import (  # noqa: F401 - NiftiCorruptError is raised to callers from here
    ZERO_PIECE,
    NiftiCorruptError,
    _head,
    _inflate_errors,
    _Inflater,
    _zlib,
)

__all__ = ["NiftiVolume", "read_header", "read_region", "read_planes", "read_label_planes",
           "index_to_point", "point_to_index"]

_TYPES = {2: "u1", 4: "<i2", 8: "<i4", 16: "<f4", 64: "<f8", 256: "i1", 512: "<u2", 768: "<u4",
          1024: "<i8", 1280: "<u8"}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class NiftiVolume:
    """A NIfTI-1 file's layout and its geometry as SimpleITK reports it (x, y, z order)."""

    path: Path
    shape: tuple[int, int, int]  # z, y, x
    dtype: np.dtype
    offset: int  # byte offset of the voxel data (after inflating, for .nii.gz)
    gzipped: bool
    origin: np.ndarray
    spacing: np.ndarray
    direction: np.ndarray  # 3 × 3

    @property
    def size(self) -> tuple[int, int, int]:
        """Size in x, y, z (SimpleITK's ``GetSize``)."""
        return self.shape[::-1]

    @property
    def matrix(self) -> np.ndarray:
        """Index-to-point matrix (direction × diag(spacing)), as ITK forms it."""
        return self.direction * self.spacing[None, :]


def read_header(path) -> NiftiVolume | None:
    """The file's layout and geometry, or None if it is not a NIfTI-1 file this module reads
    exactly as SimpleITK does (see the module docstring)."""
    path = Path(path)
    name = path.name.lower()
    gz = name.endswith(".nii.gz")
    if not (gz or name.endswith(".nii")) or sys.byteorder != "little" or not path.is_file():
        return None
    h = _head(path, gz)
    if len(h) < 352 or struct.unpack_from("<i", h, 0)[0] != 348 or h[344:348] != b"n+1\x00":
        return None
    dim = struct.unpack_from("<8h", h, 40)
    datatype, bitpix = struct.unpack_from("<2h", h, 70)
    pixdim = struct.unpack_from("<8f", h, 76)
    vox_offset, slope, inter = struct.unpack_from("<3f", h, 108)
    qform, sform = struct.unpack_from("<2h", h, 252)
    qb, qc, qd, qx, qy, qz = struct.unpack_from("<6f", h, 256)
    srow = np.array(struct.unpack_from("<12f", h, 280), dtype=np.float32).reshape(3, 4)
    if dim[0] != 3 or min(dim[1:4]) < 1 or datatype not in _TYPES:
        return None
    dtype = np.dtype(_TYPES[datatype])
    if bitpix != 8 * dtype.itemsize or slope not in (0.0, 1.0) or inter != 0.0:
        return None
    if vox_offset < 352 or vox_offset != int(vox_offset) or qform <= 0:
        return None
    spacing = np.array(pixdim[1:4], dtype=np.float64)
    if not np.all(spacing > 0):
        return None
    # qform rotation: only the four sign flips of a right-handed frame (quaternion components 0/1)
    if any(v not in (0.0, 1.0, -1.0) for v in (qb, qc, qd)) or abs(qb) + abs(qc) + abs(qd) > 1:
        return None
    a = 1.0 - (qb * qb + qc * qc + qd * qd)
    a = np.sqrt(a) if a > 0 else 0.0
    rot = np.array([
        [a * a + qb * qb - qc * qc - qd * qd, 2 * (qb * qc - a * qd), 2 * (qb * qd + a * qc)],
        [2 * (qb * qc + a * qd), a * a + qc * qc - qb * qb - qd * qd, 2 * (qc * qd - a * qb)],
        [2 * (qb * qd - a * qc), 2 * (qc * qd + a * qb), a * a + qd * qd - qc * qc - qb * qb]])
    if pixdim[0] < 0:  # qfac
        rot[:, 2] *= -1
    if not np.all(np.isin(rot, (-1.0, 0.0, 1.0))) or not np.allclose(np.abs(rot), np.eye(3)):
        return None
    if sform > 0:  # must say exactly what the qform says
        want = (rot * np.array(pixdim[1:4], dtype=np.float32)[None, :]).astype(np.float32)
        if not (np.array_equal(srow[:, :3], want)
                and np.array_equal(srow[:, 3], np.array([qx, qy, qz], dtype=np.float32))):
            return None
    flip = np.array([-1.0, -1.0, 1.0])  # RAS (NIfTI) to LPS (ITK)
    direction = rot * flip[:, None] + 0.0  # + 0.0: no negative zeros
    origin = np.array([qx, qy, qz], dtype=np.float64) * flip + 0.0
    return NiftiVolume(path, (dim[3], dim[2], dim[1]), dtype, int(vox_offset), gz, origin,
                       spacing, direction)


def index_to_point(vol_origin, matrix, index) -> np.ndarray:
    """ITK's ``TransformContinuousIndexToPhysicalPoint`` (same operations in the same order):
    point[i] = origin[i] + sum_j matrix[i, j] * index[j], for index arrays of shape (..., 3)."""
    index = np.asarray(index, dtype=np.float64)
    out = np.empty(index.shape)
    for i in range(3):
        acc = np.full(index.shape[:-1], float(vol_origin[i]))
        for j in range(3):
            acc = acc + matrix[i, j] * index[..., j]
        out[..., i] = acc
    return out


def point_to_index(vol_origin, matrix, point) -> np.ndarray:
    """ITK's ``TransformPhysicalPointToContinuousIndex``: inverse(matrix) @ (point - origin),
    summed in ITK's order."""
    inv = np.linalg.inv(matrix)
    point = np.asarray(point, dtype=np.float64)
    out = np.empty(point.shape)
    for i in range(3):
        acc = np.zeros(point.shape[:-1])
        for j in range(3):
            acc = acc + inv[i, j] * (point[..., j] - vol_origin[j])
        out[..., i] = acc
    return out


def _pieces(vol: NiftiVolume):
    """The voxel data as ``(position, bytes)`` pieces of about 1 MB, in order (a gzipped file is
    inflated piece by piece); position 0 is the first voxel byte. Stops at the end of the file."""
    if not vol.gzipped:
        with open(vol.path, "rb") as fh:
            fh.seek(vol.offset)
            pos = 0
            while piece := fh.read(_CHUNK):
                yield pos, piece
                pos += len(piece)
        return
    ratio = (vol.offset + int(np.prod(vol.shape)) * vol.dtype.itemsize) / max(
        vol.path.stat().st_size, 1)
    stream = _Inflater.take(vol.path) or _Inflater(vol.path, ratio, piece=_CHUNK)
    start = 0
    try:
        while True:
            piece = stream.piece_at(start)
            if piece is None:
                return
            end = start + len(piece)
            if end > vol.offset:
                skip = max(vol.offset - start, 0)
                yield start + skip - vol.offset, piece[skip:]
            start = end
    finally:
        stream.close()


def read_planes(vol: NiftiVolume, z0: int, z1: int, out: np.ndarray | None = None) -> np.ndarray:
    """Planes z0..z1-1 as a (z, y, x) array, written into *out* when given (C-contiguous, of the
    file's dtype and that shape; e.g. ``whole[z0:z1]``, so a reader fills its own array with one
    copy of each inflated piece)."""
    shape = (z1 - z0,) + tuple(vol.shape[1:])
    if out is None:
        out = np.empty(shape, dtype=vol.dtype)
    if out.shape != shape or out.dtype != vol.dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous {vol.dtype} array of shape {shape}")
    view = memoryview(out.reshape(-1).view(np.uint8))
    plane = vol.shape[1] * vol.shape[2] * vol.dtype.itemsize
    lo, hi = z0 * plane, z1 * plane
    if not vol.gzipped:
        with open(vol.path, "rb", buffering=0) as fh:
            fh.seek(vol.offset + lo)
            end = lo
            while end < hi and (n := fh.readinto(view[end - lo:])):
                end += n
    else:
        end = lo
        for pos, piece in _pieces(vol):
            if pos + len(piece) > lo:
                part = memoryview(piece)[max(lo - pos, 0):hi - pos]
                view[end - lo:end - lo + len(part)] = part
                end += len(part)
            if pos + len(piece) >= hi:
                break
    view.release()
    if end != hi:
        raise OSError(f"{vol.path}: the file ends before its voxel data does")
    return out


def read_region(vol: NiftiVolume, index, size) -> np.ndarray:
    """Voxels of the region at *index* (x, y, z) of *size* (x, y, z), as a (z, y, x) array.

    From an uncompressed file only the region's rows are read (one read per plane)."""
    (x0, y0, z0), (sx, sy, sz) = [int(v) for v in index], [int(v) for v in size]
    dt = vol.dtype.newbyteorder("=")
    if not vol.gzipped:
        row = vol.shape[2] * vol.dtype.itemsize
        plane = vol.shape[1] * row
        out = np.empty((sz, sy, vol.shape[2]), dtype=vol.dtype)
        view = out.reshape(sz, -1).view(np.uint8)
        with open(vol.path, "rb", buffering=0) as fh:
            for k in range(sz):
                fh.seek(vol.offset + (z0 + k) * plane + y0 * row)
                if fh.readinto(view[k]) != sy * row:
                    raise OSError(f"{vol.path}: the file ends before its voxel data does")
        return np.ascontiguousarray(out[:, :, x0:x0 + sx]).astype(dt, copy=False)
    arr = read_planes(vol, z0, z0 + sz)
    return np.ascontiguousarray(arr[:, y0:y0 + sy, x0:x0 + sx]).astype(vol.dtype.newbyteorder("="),
                                                                        copy=False)


def read_label_planes(vol: NiftiVolume) -> tuple[np.ndarray, int]:
    """``(planes, z0)``: the planes z0.. of the label map from the first to the last one holding a
    non-zero voxel (all others are zero), as a (z, y, x) array; (empty array, 0) if none."""
    plane = vol.shape[1] * vol.shape[2] * vol.dtype.itemsize
    total = vol.shape[0] * plane
    busy = []  # (position in the voxel data, non-zero piece)
    end = 0
    for pos, piece in _pieces(vol):
        if pos >= total:  # bytes after the voxel data are not voxels
            break
        arr = np.frombuffer(piece, np.uint8)[:total - pos]
        if piece is not ZERO_PIECE and arr.any():  # (background inflated ahead: known zero)
            busy.append((pos, arr))
        end = pos + arr.size
    if end < total:
        raise OSError(f"{vol.path}: the file ends before its voxel data does")
    dt = vol.dtype.newbyteorder("=")
    if not busy:
        return np.zeros((0,) + vol.shape[1:], dtype=dt), 0
    z0 = busy[0][0] // plane
    z1 = (busy[-1][0] + busy[-1][1].size - 1) // plane + 1
    out = np.zeros((z1 - z0) * plane, dtype=np.uint8)
    for pos, arr in busy:
        out[pos - z0 * plane:pos - z0 * plane + arr.size] = arr
    out = out.view(dt).reshape(z1 - z0, vol.shape[1], vol.shape[2])
    busy_planes = np.flatnonzero(out.reshape(out.shape[0], -1).any(1))
    if not busy_planes.size:
        return np.zeros((0,) + vol.shape[1:], dtype=dt), 0
    return out[busy_planes[0]:busy_planes[-1] + 1], int(z0 + busy_planes[0])


# --- integrity checks for every NIfTI read (not only the fast path) ---------------------------
# SimpleITK's NIfTI reader (nifti_clib) fills a short file or a short gzip stream with zeros and
# replaces NaN/inf voxels by 0, without a word. radsig therefore reads the voxel bytes itself (the
# header layout is simple) and takes only the geometry from SimpleITK; see radsig.io.image.


class NiftiTruncatedError(OSError):
    """The file ends before its voxel data does (``missing`` bytes short of ``expected``)."""

    def __init__(self, path, expected: int, found: int, detail: str = "") -> None:
        self.expected, self.found, self.missing = expected, found, expected - found
        super().__init__(f"{path}: file is truncated: {self.missing} of {expected} bytes of voxel "
                         f"data are missing{detail}; download or copy the file again")


@dataclass(frozen=True)
class NiftiLayout:
    """Where a NIfTI-1 file's voxels are and how they are stored (any orientation)."""

    path: Path
    dims: tuple[int, ...]  # x, y, z, t, ... as in the header
    dtype: np.dtype  # with the file's byte order
    offset: int
    gzipped: bool
    slope: float
    inter: float
    pixdim: tuple[float, ...] | None = None  # voxel sizes of the first three axes

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.dims, dtype=np.int64)) * self.dtype.itemsize


def nifti_layout(path) -> NiftiLayout | None:
    """The voxel layout of a single-file NIfTI-1 image (either byte order), or None for anything
    else (NIfTI-2, .hdr/.img pairs, complex or RGB data: SimpleITK reads those unchecked)."""
    path = Path(path)
    name = path.name.lower()
    gz = name.endswith(".nii.gz")
    if not (gz or name.endswith(".nii")) or not path.is_file():
        return None
    h = _head(path, gz)
    if len(h) < 352 or h[344:348] != b"n+1\x00":
        return None
    for order in "<>":
        if struct.unpack_from(order + "i", h, 0)[0] == 348:
            break
    else:
        return None
    dim = struct.unpack_from(order + "8h", h, 40)
    datatype, bitpix = struct.unpack_from(order + "2h", h, 70)
    vox_offset, slope, inter = struct.unpack_from(order + "3f", h, 108)
    if not 1 <= dim[0] <= 7 or datatype not in _TYPES or vox_offset < 352:
        return None
    dtype = np.dtype(_TYPES[datatype]).newbyteorder(order)
    dims = tuple(max(int(d), 1) for d in dim[1:1 + dim[0]])
    pixdim = struct.unpack_from(order + "8f", h, 76)[1:1 + min(dim[0], 3)]
    return NiftiLayout(path, dims, dtype, int(vox_offset), gz, float(slope), float(inter),
                       tuple(float(v) for v in pixdim))


def read_voxels(lay: NiftiLayout) -> np.ndarray:
    """All voxels of *lay* as a flat native-order array (file order: x fastest).

    Raises :class:`NiftiTruncatedError` when the file or its gzip stream ends early, and OSError
    for a corrupt gzip stream."""
    total = lay.nbytes
    if not lay.gzipped:
        with open(lay.path, "rb") as fh:
            fh.seek(lay.offset)
            data = np.fromfile(fh, dtype=np.uint8, count=total)
        if data.size < total:
            raise NiftiTruncatedError(lay.path, total, int(data.size))
        return data.view(lay.dtype).astype(lay.dtype.newbyteorder("="), copy=False)
    d = tuple(lay.dims) + (1, 1)
    shape = (int(np.prod(d[2:], dtype=np.int64)), d[1], d[0])  # all voxels, as (z, y, x)
    vol = NiftiVolume(lay.path, shape, lay.dtype, lay.offset, True, np.zeros(3), np.ones(3),
                      np.eye(3))
    out = np.empty(total, dtype=np.uint8)
    got = 0
    try:
        for pos, piece in _pieces(vol):
            if pos >= total:
                break
            n = min(len(piece), total - pos)
            out[pos:pos + n] = np.frombuffer(piece, np.uint8, count=n)
            got = pos + n
            if got >= total:
                break
    except (NiftiCorruptError, *_inflate_errors()) as err:
        detail = err.detail if isinstance(err, NiftiCorruptError) else err
        raise OSError(f"{lay.path}: corrupt gzip stream after {max(got, 0)} bytes of voxel data "
                      f"({detail}); download or copy the file again") from None
    if got < total:
        raise NiftiTruncatedError(lay.path, total, max(got, 0), " (the gzip stream ends early)")
    if not looks_complete(lay):  # rare: the trailer's length differs; check the stream's end
        _check_stream_end(lay.path)
    return out.view(lay.dtype).astype(lay.dtype.newbyteorder("="), copy=False)


def _check_stream_end(path: Path) -> None:
    """OSError unless the gzip stream of *path* runs to its end marker with a valid checksum
    (a file cut inside the trailer holds all voxels but is still damaged)."""
    z = _zlib()
    d = z.decompressobj(31)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            try:
                d.decompress(chunk, 1)  # output discarded: only the end marker and CRC matter
                while d.unconsumed_tail and not d.eof:
                    d.decompress(d.unconsumed_tail, 1 << 20)
            except _inflate_errors() as err:
                raise NiftiCorruptError(path, err) from None
            if d.eof:
                return
    raise OSError(f"{path}: the gzip stream is cut short (its end marker is missing); download or "
                  "copy the file again")


def looks_complete(vol) -> bool:
    """Cheap test that a file holds all its voxel bytes: the file size for ``.nii``, the gzip
    trailer's length field for ``.nii.gz`` (a cut stream ends in arbitrary bytes instead). False
    means "check by reading", not necessarily truncated."""
    nbytes = (vol.nbytes if isinstance(vol, NiftiLayout)
              else int(np.prod(vol.shape, dtype=np.int64)) * vol.dtype.itemsize)
    size = vol.path.stat().st_size
    if not vol.gzipped:
        return size >= vol.offset + nbytes
    if size < 18:
        return False
    with open(vol.path, "rb") as fh:
        fh.seek(-4, 2)
        isize = struct.unpack("<I", fh.read(4))[0]
    return isize == (vol.offset + nbytes) % (1 << 32)
