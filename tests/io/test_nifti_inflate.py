"""The gzipped NIfTI reader inflates with each installed backend (ISA-L, zlib-ng, zlib) to the
same bytes as :func:`gzip.decompress`, piece by piece, and stops early when planes suffice."""

from __future__ import annotations

import gzip
import importlib
import zlib

import numpy as np
import pytest
import SimpleITK as sitk

from radsig.io import gzstream, nifti


@pytest.fixture(autouse=True)
def _no_prefetch_left():
    """Each test starts and ends without an inflater handed ahead (one prefetch per process)."""
    gzstream._Inflater._ahead.clear()
    yield
    gzstream._Inflater._ahead.clear()


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
    monkeypatch.setattr(gzstream, "_zlib", lambda ratio=1.0: backend)
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

        def close(self):
            self.fh.close()

        def read(self, n=-1):
            chunk = self.fh.read(n)
            reads.append(len(chunk))
            return chunk

    # a module global named open shadows the builtin inside the gzip reader only
    monkeypatch.setattr(gzstream, "open", lambda p, *a, **k: Counting(real_open(p, *a, **k)),
                        raising=False)
    region = nifti.read_region(vol, (0, 0, 0), (70, 64, 2))
    assert np.array_equal(region, arr[:2])
    assert sum(reads) < path.stat().st_size / 4


def _mask_file(tmp_path, shape, planes):
    lab = np.zeros(shape, dtype=np.uint8)
    lab[planes, 30:40, 30:40] = 1
    img = sitk.GetImageFromArray(lab)
    img.SetSpacing((0.7, 0.7, 2.0))
    path = tmp_path / "roi.nii.gz"
    sitk.WriteImage(img, str(path), useCompression=True)
    return path


def _ahead_of(path):
    """The prefetch's inflater of *path* (the image's; the label map's is kept beside it)."""
    return gzstream._Inflater._ahead[gzstream._file_key(path)]


@pytest.mark.parametrize("planes", [slice(2, 5), slice(30, 37)])
def test_prefetched_image_reads_the_same_voxels(volume, tmp_path, monkeypatch, planes):
    """A prefetch stopping after the ROI's planes (+ 10 mm) hands over its pieces and the reader
    inflates the rest: the same bytes and regions as without it, used once."""
    path, arr = volume
    monkeypatch.setattr(nifti, "_CHUNK", 1 << 15)
    monkeypatch.setattr(gzstream, "_AHEAD_PIECE", 1 << 15)
    monkeypatch.setattr(gzstream, "_AHEAD_READ", 1 << 12)
    monkeypatch.setattr(gzstream, "_AHEAD_BEYOND", 0)  # stop at the ROI's end + 10 mm
    # the label map scanned before the image's first piece (not beside it), so that where the
    # thread stops does not depend on which thread was faster
    monkeypatch.setattr(gzstream._Inflater, "_scan_mask", gzstream._Inflater._limit_by_mask)
    mask = _mask_file(tmp_path, arr.shape, planes)
    gzstream.prefetch(path, mask)
    ahead = _ahead_of(path)
    ahead._thread.join()
    # the label map, inflated to its end to find the ROI's last plane, is kept for its reader
    assert set(gzstream._Inflater._ahead) == {ahead.key, gzstream._file_key(mask)}
    vol = nifti.read_header(path)
    plane = 64 * 70 * 2
    stop_plane = (planes.stop + 5 + 2)  # the ROI's end + 10 mm (2 mm planes) + 2
    assert ahead._end < vol.offset + stop_plane * plane + (1 << 15)  # stopped there...
    assert ahead._end >= min(vol.offset + stop_plane * plane, vol.offset + 37 * plane)
    region = nifti.read_region(vol, (5, 9, 0), (40, 30, 37))
    assert np.array_equal(region, arr[:, 9:39, 5:45])
    assert set(gzstream._Inflater._ahead) == {gzstream._file_key(mask)}  # taken by the reader
    assert np.array_equal(nifti.read_region(vol, (0, 0, 1), (70, 64, 4)), arr[1:5])
    labels, z0 = nifti.read_label_planes(nifti.read_header(mask))
    assert not gzstream._Inflater._ahead  # ... and the label map by its reader
    assert z0 == planes.start and labels.shape == (planes.stop - planes.start, 64, 70)
    assert labels.sum() == labels.shape[0] * 100 and labels[:, 30:40, 30:40].all()


def test_prefetch_of_a_changed_file_is_not_used(volume, tmp_path):
    path, arr = volume
    gzstream.prefetch(path, _mask_file(tmp_path, arr.shape, slice(30, 37)))
    ahead = _ahead_of(path)
    ahead.close()
    changed = arr.copy()
    changed[0, 0, 0] += 1
    img = sitk.GetImageFromArray(changed)
    img.SetSpacing((0.7, 0.7, 2.0))
    sitk.WriteImage(img, str(path), useCompression=True)
    vol = nifti.read_header(path)
    assert nifti.read_region(vol, (0, 0, 0), (1, 1, 1))[0, 0, 0] == changed[0, 0, 0]
    gzstream._Inflater._ahead.clear()


def test_prefetched_corrupt_or_cut_file_is_reported_by_the_reader(volume, tmp_path):
    path, arr = volume
    raw = bytearray(path.read_bytes())
    bad = tmp_path / "bad.nii.gz"
    raw[len(raw) // 2:len(raw) // 2 + 64] = b"\xff" * 64  # corrupt deflate data mid-file
    bad.write_bytes(bytes(raw))
    vol = nifti.read_header(bad)
    mask = _mask_file(tmp_path, arr.shape, slice(30, 37))  # the thread inflates to the end
    gzstream.prefetch(bad, mask)
    with pytest.raises(nifti.NiftiCorruptError, match="bad.nii.gz"):
        nifti.read_region(vol, (0, 0, 0), (70, 64, 37))
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(path.read_bytes()[: len(raw) // 2])
    vol = nifti.read_header(cut)
    gzstream.prefetch(cut, mask)
    with pytest.raises(OSError, match="ends before its voxel data"):
        nifti.read_region(vol, (0, 0, 0), (70, 64, 37))


def test_extract_command_line_prefetches_its_image(monkeypatch):
    from radsig.cli import main as cli_main

    calls = []
    monkeypatch.setattr(gzstream, "prefetch", lambda *a: calls.append(a))
    cli_main._prefetch_extract_image(["extract", "--params", "p.yaml", "CT.NII.GZ", "roi.nii.gz",
                                      "--out", "f.csv"])
    cli_main._prefetch_extract_image(["cohort", "extract", "m.csv"])
    cli_main._prefetch_extract_image(["extract", "ct.nrrd", "roi.nrrd"])
    cli_main._prefetch_extract_image(["extract", "ct.nii.gz", "roi.nrrd"])  # mask not NIfTI
    assert calls == [("CT.NII.GZ", "roi.nii.gz")]


def test_prefetch_thread_error_is_raised_by_the_reader(volume, tmp_path, monkeypatch, capfd):
    """An error in the background thread (here: reading the file fails) is not printed by the
    thread; the reader raises it, as it would have raised it itself."""
    path, _ = volume

    def failing_step(self):
        raise OSError(f"{self.path}: input/output error")

    monkeypatch.setattr(gzstream._Inflater, "_step", failing_step)
    gzstream.prefetch(path, _mask_file(tmp_path, volume[1].shape, slice(2, 5)))
    vol = nifti.read_header(path)
    with pytest.raises(OSError, match="input/output error"):
        nifti.read_region(vol, (0, 0, 0), (70, 64, 2))
    assert "Traceback" not in capfd.readouterr().err


def test_prefetch_with_a_mask_on_another_grid_inflates_nothing(volume, tmp_path, monkeypatch):
    path, arr = volume
    monkeypatch.setattr(gzstream._Inflater, "_scan_mask", gzstream._Inflater._limit_by_mask)
    other = _mask_file(tmp_path, (37, 64, 69), slice(2, 5))
    gzstream.prefetch(path, other)
    ahead = _ahead_of(path)
    ahead._thread.join()
    assert ahead._end == 0
    vol = nifti.read_header(path)
    assert np.array_equal(nifti.read_region(vol, (0, 0, 0), (70, 64, 37)), arr)


def test_checked_streams_checks_the_rest_of_a_partly_read_stream(tmp_path, monkeypatch):
    monkeypatch.setattr(nifti, "_CHUNK", 1 << 14)
    arr = np.random.default_rng(2).normal(0, 300, size=(40, 64, 70)).round().astype(np.int16)
    img = sitk.GetImageFromArray(arr)
    path = tmp_path / "ct.nii.gz"
    sitk.WriteImage(img, str(path), useCompression=True)
    raw = bytearray(path.read_bytes())
    for i in range(int(len(raw) * 0.9), int(len(raw) * 0.9) + 64):
        raw[i] ^= 0xA5
    path.write_bytes(bytes(raw))
    vol = nifti.read_header(path)
    first = nifti.read_region(vol, (0, 0, 0), (70, 64, 2))  # outside a block: not checked
    assert np.array_equal(first, arr[:2])
    with pytest.raises(nifti.NiftiCorruptError, match="ct.nii.gz"):
        with gzstream.checked_streams():
            assert np.array_equal(nifti.read_region(vol, (0, 0, 0), (70, 64, 2)), arr[:2])
    with pytest.raises(nifti.NiftiCorruptError):  # the block failed: the corrupt file is the error
        with gzstream.checked_streams():
            nifti.read_region(vol, (0, 0, 0), (70, 64, 2))
            raise ValueError("a later step failed")
    good = tmp_path / "good.nii.gz"
    sitk.WriteImage(img, str(good), useCompression=True)
    with gzstream.checked_streams():  # an intact file: no error
        nifti.read_region(nifti.read_header(good), (0, 0, 0), (70, 64, 2))


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
def test_read_planes_into_a_whole_scan_array(volume, tmp_path, suffix):
    """Planes written straight into a slice of the caller's array equal the file's planes; the
    other planes are left alone; a wrong target and a short file are errors."""
    _, arr = volume
    path = tmp_path / f"ct{suffix}"
    img = sitk.GetImageFromArray(arr)
    sitk.WriteImage(img, str(path), useCompression=suffix.endswith(".gz"))
    vol = nifti.read_header(path)
    whole = np.full(arr.shape, -7, dtype=arr.dtype)
    nifti.read_planes(vol, 11, 23, out=whole[11:23])
    assert np.array_equal(whole[11:23], arr[11:23])
    assert (whole[:11] == -7).all() and (whole[23:] == -7).all()
    assert np.array_equal(nifti.read_planes(vol, 0, 37), arr)
    with pytest.raises(ValueError, match="C-contiguous"):
        nifti.read_planes(vol, 0, 2, out=whole[:2, :, ::2])
    with pytest.raises(ValueError, match="shape"):
        nifti.read_planes(vol, 0, 2, out=whole[:3])
    short = tmp_path / "short.nii"
    sitk.WriteImage(img, str(short))
    short.write_bytes(short.read_bytes()[:-5000])
    with pytest.raises(OSError, match="ends before its voxel data"):
        nifti.read_planes(nifti.read_header(short), 30, 37)


def test_the_check_of_a_stream_yields_its_core(volume):
    """The thread that checks the rest of a stream runs at the lowest priority (Linux), the main
    thread never does."""
    import os
    import sys
    import threading

    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread priorities: Linux")
    path, _ = volume
    stream = gzstream._Inflater(path, 1.0)
    seen = []

    def check():
        stream._yield_cpu()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    before = os.getpriority(os.PRIO_PROCESS, 0)
    thread = threading.Thread(target=check)
    thread.start()
    thread.join()
    stream._yield_cpu()  # in the main thread: no change
    assert seen == [19] and os.getpriority(os.PRIO_PROCESS, 0) == before
    stream._fh.close()
