"""The gzipped NIfTI reader inflates with each installed backend (ISA-L, zlib-ng, zlib) to the
same bytes as :func:`gzip.decompress`, piece by piece, and stops early when planes suffice."""

from __future__ import annotations

import gzip
import importlib
import zlib

import numpy as np
import pytest
import SimpleITK as sitk

from radsig.io import nifti


def _backends():
    out = [pytest.param(zlib, id="zlib")]
    for name, mod in (("isal", "isal.isal_zlib"), ("zlib_ng", "zlib_ng.zlib_ng")):
        try:
            out.append(pytest.param(importlib.import_module(mod), id=name))
        except ImportError:  # optional accelerators; zlib always runs
            continue
    return out


@pytest.fixture
def volume(tmp_path):
    rng = np.random.default_rng(7)
    arr = rng.normal(0, 300, size=(37, 64, 70)).round().astype(np.int16)  # ~330 KB per 10 planes
    arr[:, :20] = 0  # compressible runs too
    img = sitk.GetImageFromArray(arr)
    img.SetSpacing((0.7, 0.7, 2.0))
    path = tmp_path / "ct.nii.gz"
    sitk.WriteImage(img, str(path), useCompression=True)
    return path, arr


@pytest.mark.parametrize("backend", _backends())
def test_pieces_equal_gzip(volume, backend, monkeypatch):
    path, arr = volume
    monkeypatch.setattr(nifti, "_zlib", lambda ratio=1.0: backend)
    monkeypatch.setattr(nifti, "_CHUNK", 1 << 16)  # many pieces, many input reads
    vol = nifti.read_header(path)
    data = b"".join(piece for _, piece in nifti._pieces(vol))
    assert data == gzip.decompress(path.read_bytes())[vol.offset:]
    positions = [pos for pos, _ in nifti._pieces(vol)]
    assert positions[0] == 0 and positions == sorted(positions)
    region = nifti.read_region(vol, (5, 9, 3), (40, 30, 11))
    assert np.array_equal(region, arr[3:14, 9:39, 5:45])


def test_first_planes_do_not_read_the_whole_file(volume, monkeypatch):
    path, arr = volume
    monkeypatch.setattr(nifti, "_CHUNK", 1 << 14)
    vol = nifti.read_header(path)
    reads = []
    real_open = open

    class Counting:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def read(self, n=-1):
            chunk = self.fh.read(n)
            reads.append(len(chunk))
            return chunk

    # a module global named open shadows the builtin inside radsig.io.nifti only
    monkeypatch.setattr(nifti, "open", lambda p, *a, **k: Counting(real_open(p, *a, **k)),
                        raising=False)
    region = nifti.read_region(vol, (0, 0, 0), (70, 64, 2))
    assert np.array_equal(region, arr[:2])
    assert sum(reads) < path.stat().st_size / 4
