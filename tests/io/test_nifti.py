"""radsig.io.nifti reads NIfTI-1 files as SimpleITK does (geometry, voxels), or declines."""

from __future__ import annotations

import gzip
import itertools
import struct

import numpy as np
import pytest
import SimpleITK as sitk

from radsig.io import nifti as N


def _write(path, arr, spacing, origin, direction):
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing([float(v) for v in spacing])
    img.SetOrigin([float(v) for v in origin])
    img.SetDirection([float(v) for v in np.asarray(direction, float).ravel()])
    sitk.WriteImage(img, str(path))
    return path


@pytest.mark.parametrize("signs", list(itertools.product([1, -1], repeat=3)))
@pytest.mark.parametrize("ext, dtype", [(".nii", np.int16), (".nii.gz", np.uint8),
                                        (".nii", np.float32), (".nii.gz", np.int32),
                                        (".nii.gz", np.float64), (".nii", np.uint16)])
def test_geometry_and_voxels_equal_simpleitk(tmp_path, signs, ext, dtype):
    rng = np.random.default_rng(abs(hash((signs, ext, str(dtype)))) % 2 ** 32)
    arr = (rng.random((7, 9, 11)) * 200 - (0 if np.dtype(dtype).kind == "u" else 100)).astype(dtype)
    path = _write(tmp_path / f"a{ext}", arr, rng.choice([0.5, 0.8, 0.9765625, 2.5, 3.0], 3),
                  rng.normal(0, 100, 3), np.diag(signs))
    vol = N.read_header(path)
    ref = sitk.ReadImage(str(path))
    assert vol is not None
    assert vol.size == ref.GetSize()
    np.testing.assert_array_equal(vol.origin, ref.GetOrigin())
    np.testing.assert_array_equal(vol.spacing, ref.GetSpacing())
    np.testing.assert_array_equal(vol.direction.ravel(), ref.GetDirection())
    data = N.read_region(vol, (0, 0, 0), vol.size)
    want = sitk.GetArrayViewFromImage(ref)
    assert data.dtype == want.dtype
    np.testing.assert_array_equal(data, want)
    np.testing.assert_array_equal(N.read_region(vol, (2, 3, 1), (4, 5, 3)), want[1:4, 3:8, 2:6])
    # ITK's index <-> point arithmetic
    idx = rng.uniform(-3, 12, (20, 3))
    pts = np.array([ref.TransformContinuousIndexToPhysicalPoint(list(map(float, i))) for i in idx])
    np.testing.assert_array_equal(N.index_to_point(vol.origin, vol.matrix, idx), pts)
    back = np.array([ref.TransformPhysicalPointToContinuousIndex(list(map(float, p))) for p in pts])
    np.testing.assert_array_equal(N.point_to_index(vol.origin, vol.matrix, pts), back)


@pytest.mark.parametrize("direction", [[[0, 1, 0], [1, 0, 0], [0, 0, -1]],
                                       [[np.cos(0.3), -np.sin(0.3), 0],
                                        [np.sin(0.3), np.cos(0.3), 0], [0, 0, 1]]])
def test_permuted_or_oblique_axes_are_left_to_simpleitk(tmp_path, direction):
    path = _write(tmp_path / "p.nii.gz", np.zeros((4, 5, 6), np.uint8), (1, 1, 2), (0, 0, 0),
                  direction)
    assert N.read_header(path) is None


def _patched(tmp_path, src, offset, fmt, *values):
    raw = bytearray(gzip.decompress(src.read_bytes()))
    struct.pack_into(fmt, raw, offset, *values)
    out = tmp_path / "patched.nii.gz"
    out.write_bytes(gzip.compress(bytes(raw)))
    return out


def test_scaled_4d_or_inconsistent_headers_are_declined(tmp_path):
    src = _write(tmp_path / "m.nii.gz", np.ones((4, 5, 6), np.int16), (1, 1, 2), (3, 4, 5),
                 np.eye(3))
    assert N.read_header(src) is not None
    assert N.read_header(_patched(tmp_path, src, 112, "<f", 2.0)) is None  # scl_slope
    assert N.read_header(_patched(tmp_path, src, 40, "<h", 4)) is None  # 4-D
    assert N.read_header(_patched(tmp_path, src, 280 + 12, "<f", 9.0)) is None  # sform offset
    assert N.read_header(tmp_path / "missing.nii") is None
    (tmp_path / "x.nrrd").write_bytes(b"NRRD0004\n")
    assert N.read_header(tmp_path / "x.nrrd") is None


def test_label_planes_hold_every_label_and_nothing_else(tmp_path):
    arr = np.zeros((40, 64, 64), np.uint8)
    arr[17, 5, 7] = 2
    arr[23:26, 30:40, 10:20] = 1
    path = _write(tmp_path / "lab.nii.gz", arr, (0.8, 0.8, 2.5), (0, 0, 0), np.eye(3))
    planes, z0 = N.read_label_planes(N.read_header(path))
    assert z0 == 17 and planes.shape == (9, 64, 64)
    np.testing.assert_array_equal(planes, arr[17:26])
    empty = _write(tmp_path / "empty.nii.gz", np.zeros((5, 6, 7), np.uint8), (1, 1, 1), (0, 0, 0),
                   np.eye(3))
    planes, z0 = N.read_label_planes(N.read_header(empty))
    assert planes.shape[0] == 0
    plain = _write(tmp_path / "lab.nii", arr, (0.8, 0.8, 2.5), (0, 0, 0), np.eye(3))
    planes, z0 = N.read_label_planes(N.read_header(plain))
    np.testing.assert_array_equal(planes, arr[z0:z0 + planes.shape[0]])
    assert z0 == 17 and planes.shape[0] == 9


def test_truncated_file_raises_oserror(tmp_path):
    path = _write(tmp_path / "t.nii", np.ones((6, 7, 8), np.int16), (1, 1, 1), (0, 0, 0),
                  np.eye(3))
    path.write_bytes(path.read_bytes()[:-100])
    vol = N.read_header(path)
    with pytest.raises(OSError, match="ends before"):
        N.read_region(vol, (0, 0, 0), vol.size)
