"""Gzip streams inflated in pieces, on demand or ahead in a background thread (no NumPy here).

:class:`_Inflater` is the NIfTI reader's (:mod:`radsig.io.nifti`) way through a ``.nii.gz``
file; :func:`prefetch` lets ``radsig extract`` start inflating its image before NumPy, typer and
the feature modules are imported, so it imports nothing heavy itself.
"""

from __future__ import annotations

import bisect
import contextlib
import os
import struct
import sys
import threading

# (no pathlib: ~4 ms to import, and the prefetch thread starts only after this module is loaded)

__all__ = ["NiftiCorruptError", "prefetch", "checked_streams"]

_CHUNK = 1 << 20
#: the one object that stands for every all-zero piece of a label map inflated ahead
ZERO_PIECE = bytes(_CHUNK)
# prefetch: the background thread reads 1 MB of compressed image at a time and inflates all of it
# in one call (~2 MB of CT voxels; at most _AHEAD_PIECE): a call whose output is capped hands its
# unconsumed input back as a copy, and with 8 MB in and 8 MB out that copying made the whole
# inflate 0.15 s instead of 0.12 s (ISA-L, 512 x 512 x 120 CT)
_AHEAD_READ = 1 << 20
_AHEAD_PIECE = 32 << 20
_AHEAD_BEYOND = 16 << 20  # ... and how far it goes on past the ROI before the reader comes


def _zlib(ratio: float = 1.0):
    """The fastest inflate installed for data compressed *ratio* : 1. Measured on CT volumes
    (512 x 512 x 120 int16, 2:1): ISA-L (``isal``) 0.15 s CPU, zlib-ng 0.17 s, zlib 0.25 s; on
    their label maps (~1000:1, long runs of zeros) zlib-ng 2-10 ms, ISA-L ~20 ms, zlib ~170 ms.
    Both accelerators are optional; the standard library is the fallback."""
    order = ("isal", "zlib_ng") if ratio < 16 else ("zlib_ng", "isal")
    for name in order:
        try:
            if name == "isal":
                from isal import isal_zlib as z
            else:
                from zlib_ng import zlib_ng as z
            return z
        except ImportError:
            continue
    import zlib

    return zlib


def _inflate_errors() -> tuple[type[BaseException], ...]:
    """The errors a corrupt gzip stream raises in any inflate :func:`_zlib` may pick (ISA-L's
    ``IsalError`` and zlib-ng's ``error`` are not ``zlib.error``)."""
    import zlib

    errors: list[type[BaseException]] = [zlib.error, EOFError, ValueError]
    for name in ("isal", "zlib_ng"):
        try:
            if name == "isal":
                from isal import isal_zlib as z
            else:
                from zlib_ng import zlib_ng as z
        except ImportError:
            continue
        errors.append(z.error)
    return tuple(errors)


class NiftiCorruptError(OSError):
    """The gzip stream of a ``.nii.gz`` file is corrupt (the message names the file; ``detail``
    is the inflate library's own words)."""

    def __init__(self, path, detail) -> None:
        self.detail = str(detail)
        super().__init__(f"{path}: corrupt gzip stream ({self.detail}); download or copy the "
                         "file again")
        self.path = str(path)


class _Inflater:
    """A gzipped file inflated in pieces, on demand or ahead in a background thread.

    Compressed input is read in blocks (*read*, by default a quarter of *piece*; 256 KB for the
    1 MB pieces of the reader) and inflated into pieces of at most *piece* bytes: only the file's
    start is read and inflated when only the first planes are needed, and the unconsumed input
    handed back each time stays small (re-feeding a whole file's tail copied it per piece).

    :func:`prefetch` starts one in a thread before a command has parsed its arguments and
    imported its modules (≈ 0.1–0.15 s), so inflating the image (≈ 0.1 s for a 512 × 512 × 120
    CT) overlaps that work on a second core; ISA-L and zlib-ng release the GIL while inflating.
    The reader then takes the pieces inflated so far and inflates the rest itself.
    """

    _ahead: dict = {}  # _file_key -> _Inflater started by prefetch
    _lock = threading.Lock()

    def __init__(self, path, ratio: float, limit: int | None = None,
                 piece: int | None = None, read: int | None = None) -> None:
        self.path = os.fspath(path)
        self._piece = piece or _CHUNK
        self._read = read or self._piece >> 2  # compressed bytes read at a time
        self.key = _file_key(self.path)
        self._fh = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        self._d = _zlib(ratio).decompressobj(31)
        self._data = b""
        self._pieces: list[bytes] = []
        self._offsets: list[int] = []
        self._end = 0
        self._error: BaseException | None = None
        self._done = False
        self._limit = limit  # the thread stops once this many bytes are inflated
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = False
        self._mask: str | None = None  # prefetch: the thread limits itself to this ROI
        self._discard = False  # checking the rest of the stream: pieces are not kept
        self._yielding = False  # this stream's thread runs at the lowest CPU priority

    @classmethod
    def take(cls, path) -> _Inflater | None:
        """The prefetched inflater of *path* (if one was started and the file is unchanged)."""
        try:
            key = _file_key(path)
        except OSError:
            return None
        with cls._lock:
            return cls._ahead.pop(key, None)

    def _step(self) -> bool:
        """Inflate one piece (False at the end of the stream or the file)."""
        if self._done:
            return False
        try:
            while True:
                if not self._data:
                    self._data = self._fh.read(self._read)
                    if not self._data:
                        break
                # whole pieces past a limit too: a read that reaches the stream's end checks its
                # CRC, as without a prefetch
                piece = self._d.decompress(self._data, self._piece)
                self._data = self._d.unconsumed_tail
                if piece and self._discard:
                    if not self._yielding:
                        self._yield_cpu()
                    self._end += len(piece)
                elif piece:
                    with self._cond:
                        self._offsets.append(self._end)
                        self._pieces.append(piece)
                        self._end += len(piece)
                        self._cond.notify_all()
                    if not self._d.eof:
                        return True
                if self._d.eof:
                    break
        except _inflate_errors() as err:
            self._error = NiftiCorruptError(self.path, err)
        with self._cond:
            self._done = True
            self._cond.notify_all()
        return False

    def _run(self) -> None:
        # The main thread holds the GIL while it imports (pure Python) and gives it up only every
        # switch interval (5 ms): each inflate call's return, and every step of reading the mask,
        # waited that long (a 42 MB inflate took 0.38 s instead of 0.08 s beside a busy main
        # thread). Few, large calls and a 0.1 ms interval while the thread runs: 0.1 s.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, 1e-4))
        try:
            if self._mask is not None:
                self._scan_mask()
            while not self._stop:
                with self._cond:
                    limit = self._limit
                if limit is not None and self._end >= limit:
                    break
                if not self._step():
                    break
            with self._cond:
                discard = self._discard
            if discard:  # switched by close(): this thread is the stream's check
                self._check_end()
        except Exception as err:  # noqa: BLE001 - e.g. the file vanished: the reader raises it
            with self._cond:
                self._error, self._done = err, True
                self._cond.notify_all()
        finally:
            sys.setswitchinterval(interval)

    def _scan_mask(self) -> None:
        """Find the ROI's last plane in the label map in another thread: the image inflates
        meanwhile (the scan, ~10 ms alone, took 20-40 ms beside an importing main thread, and
        the image's inflate is what the reader waits for: ~20 ms sooner in IBSI mode)."""
        threading.Thread(target=self._limit_by_mask, name=f"scan {os.path.basename(self._mask)}",
                         daemon=True).start()

    def _limit_by_mask(self) -> None:
        limit = _roi_limit(self.path, self._mask)  # 0: the mask cannot tell: stop
        if limit:
            # then on (kept for the reader) while the main thread is busy: what the reader
            # does not need is inflated anyway to check the CRC (see close)
            limit += _AHEAD_BEYOND
        with self._cond:
            if self._limit is None:
                self._limit = limit
            self._cond.notify_all()

    def _yield_cpu(self) -> None:
        """Checking the rest of a stream (no one waits for it yet): the thread gives its core to
        the feature work whenever that wants it (Linux: nice 19 for this thread only) and uses
        the gaps, e.g. while the feature threads wait for each other's GIL; the main thread
        awaits it at the end of :func:`checked_streams`. Medium CT, IBSI ``default_ct.yaml``,
        medians of 40 alternating runs: 0.305 -> 0.298 s; S2 (two feature threads) unchanged."""
        self._yielding = True
        if threading.current_thread() is threading.main_thread():
            return  # (a reader inflating by itself; never the main thread's priority)
        if not sys.platform.startswith("linux"):
            return  # elsewhere a thread id is no process id: setpriority would name another
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):  # not Linux: the thread keeps its priority
            pass

    def _check_end(self) -> None:
        if self._error is None and not self._d.eof:
            self._error = NiftiCorruptError(self.path, "the gzip stream ends before its end "
                                            "marker: the file is cut short")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"inflate {os.path.basename(self.path)}",
                                        daemon=True)
        self._thread.start()

    def piece_at(self, start: int) -> bytes | None:
        """The inflated piece that begins at byte *start* (None after the last one)."""
        while True:
            with self._cond:
                k = bisect.bisect_left(self._offsets, start)
                if k < len(self._offsets) and self._offsets[k] == start:
                    piece = self._pieces[k]
                    self._pieces[k] = b""  # handed over: the reader keeps what it needs
                    return piece
                if self._thread is not None and self._thread.is_alive():
                    self._cond.wait(0.05)
                    continue
            if self._error is not None:
                raise self._error
            if self._done:
                if start >= self._end:
                    return None
                raise RuntimeError(f"{self.path}: no inflated piece starts at byte {start}")
            self._step()

    def close(self) -> None:
        """Stop; a stream read only in part is then inflated to its end in a background thread,
        the output thrown away, so that its CRC and length are checked (a corrupt deflate
        stream often decodes without an error, and only the CRC at its end tells): see
        :func:`checked_streams` (outside one, nothing is checked). A prefetch thread still
        inflating goes on as that check."""
        scope = getattr(_scope, "streams", None)
        if scope is None:
            self._stop = True
            if self._thread is not None:
                self._thread.join()
            self._fh.close()
            return
        with self._cond:
            running = self._thread is not None and self._thread.is_alive()
            self._discard = True
            self._pieces, self._offsets = [], []  # the reader has what it needs
            self._limit = None  # a running thread goes on to the stream's end
            self._piece, self._read = _CHUNK, _CHUNK >> 2  # cache-sized pieces, thrown away
        if running:
            scope.append(self)
            return
        if self._done:  # the reader saw the stream's end (and a short file: it says so itself)
            self._fh.close()
            if self._error is not None:
                scope.append(self)
            return
        self._stop = False
        self._thread = threading.Thread(target=self._run_rest, name=f"check {os.path.basename(self.path)}",
                                        daemon=True)
        self._thread.start()
        scope.append(self)

    def _run_rest(self) -> None:
        try:
            while self._step():
                pass
            self._check_end()
        except Exception as err:  # noqa: BLE001 - raised by check_streams
            self._error = err
        finally:
            self._fh.close()


_scope = threading.local()  # .streams: the streams of this thread's checked_streams block


def _wait(streams: list[_Inflater]) -> BaseException | None:
    first = None
    for stream in streams:
        if stream._thread is not None:
            stream._thread.join()
        if not stream._done and stream._error is None:
            # a prefetch thread that stopped at its limit just before close() switched it
            stream._discard = True
            stream._run_rest()
        stream._fh.close()
        if stream._error is not None and first is None:
            first = stream._error
    return first


@contextlib.contextmanager
def checked_streams():
    """A block whose gzip streams read in part are checked to their end (CRC, length) in the
    background while it goes on; at its end the checks are awaited and the first error is
    raised: :class:`NiftiCorruptError` naming the file. A case's extraction runs in one, so a
    corrupt file gives an error, never its numbers (also when the block itself failed: the
    corrupt file is then the error reported)."""
    outer = getattr(_scope, "streams", None)
    streams = _scope.streams = []
    try:
        yield
    except BaseException:
        error = _wait(streams)
        if error is not None:
            raise error  # noqa: B904 - the corrupt file is the cause; the original is its context
        raise
    else:
        error = _wait(streams)
        if error is not None:
            raise error
    finally:
        _scope.streams = outer


def _file_key(path) -> tuple:
    """Which file, in which state: a prefetch is used only for the same, unchanged file."""
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def prefetch(image, mask) -> None:
    """Start inflating the gzipped NIfTI-1 *image* in a background thread at once (this module
    imports no NumPy), while a second thread finds the last plane holding a label in *mask* (a
    NIfTI label map on the same grid, as the readers that take the pieces need; ~10 ms): the
    image's thread stops at that plane plus 10 mm and 16 MB (at once when the mask cannot tell)
    until the reader comes. It inflates 1 MB of input per call (see ``_AHEAD_READ``), under a
    0.1 ms switch interval so that the importing main thread hands it the GIL between calls at
    once. The label map, inflated to its end by the scan, is kept for its reader. Best effort:
    any problem starts nothing, and the reader works as without it. One prefetch per process."""
    path = os.fspath(image)
    if not path.lower().endswith(".gz") or _Inflater._ahead:
        return
    try:
        # image data inflates ~2-4:1 (ISA-L); each call reads as much as it may write
        ahead = _Inflater(path, 1.0, piece=_AHEAD_PIECE, read=_AHEAD_READ)
    except Exception:  # noqa: BLE001 - only a speed-up: the reader reports any problem itself
        return
    ahead._mask = os.fspath(mask)
    ahead._limit = None  # until the label map's scan says
    ahead.start()  # before anyone can take it: only the thread inflates until it has ended
    with _Inflater._lock:
        _Inflater._ahead[ahead.key] = ahead


def _head(path, gz: bool) -> bytes:
    """The first 352 bytes of a NIfTI-1 file (its header), inflated for a ``.gz`` one; b"" when
    the gzip stream cannot be inflated."""
    if not gz:
        with open(path, "rb") as fh:
            return fh.read(352)
    z = _zlib()
    with open(path, "rb") as fh:
        raw = fh.read(65536)
    try:
        return z.decompressobj(31).decompress(raw, 352)
    except z.error:
        return b""


def _layout(path) -> tuple[int, int, tuple[int, int, int], float] | None:
    """``(vox_offset, plane bytes, (x, y, z) size, slice spacing)`` of a 3-D NIfTI-1 file, by
    ``struct`` (the prefetch thread's NumPy-free subset of :func:`radsig.io.nifti.read_header`)."""
    h = _head(path, os.fspath(path).lower().endswith(".gz"))
    if len(h) < 352 or struct.unpack_from("<i", h, 0)[0] != 348 or h[344:348] != b"n+1\x00":
        return None
    dim = struct.unpack_from("<8h", h, 40)
    bitpix = struct.unpack_from("<h", h, 72)[0]
    dz = struct.unpack_from("<f", h, 88)[0]
    vox_offset = int(struct.unpack_from("<f", h, 108)[0])
    if dim[0] != 3 or min(dim[1:4]) < 1 or bitpix % 8:
        return None
    return vox_offset, dim[1] * dim[2] * bitpix // 8, tuple(dim[1:4]), float(dz)


def _roi_limit(image, mask) -> int:
    """Bytes of *image*'s stream up to the last plane holding a non-zero voxel in *mask* plus
    10 mm (the crop margin and interpolation support of the usual settings; the reader inflates
    any further planes it needs itself); 0 when that cannot be told."""
    try:
        iv, mv = _layout(image), _layout(mask)
        if iv is None or mv is None or iv[2] != mv[2]:
            return 0
        offset, plane, _, dz = mv
        last = -1  # last non-zero byte of the mask's voxel data
        stream = _Inflater(mask, 1000.0, piece=_CHUNK)  # label maps: zlib-ng; 1 MB: cache-sized
        seen, more = 0, True
        while more:
            more = stream._step()
            for k in range(seen, len(stream._pieces)):
                start, piece = stream._offsets[k], stream._pieces[k]
                # memcmp against zeros (~10 GB/s) first: most of a label map is background
                if piece == ZERO_PIECE[:len(piece)]:
                    stream._pieces[k] = ZERO_PIECE[:len(piece)]  # one shared object for them all
                    continue
                end = start + len(piece.rstrip(b"\0"))  # one past the piece's last label byte
                if end > offset:
                    last = end - 1 - offset
            seen = len(stream._pieces)
        if stream._error is not None or not stream._d.eof:
            stream.close()
            return 0
        # inflated to its end (CRC checked) and small (background pieces share one object):
        # the label map's reader takes it instead of inflating the file again (~10 ms)
        with _Inflater._lock:
            _Inflater._ahead.setdefault(stream.key, stream)
        if last < 0:
            return 0
        extra = int(-(-10.0 // max(dz, 1e-3))) + 2
        return iv[0] + min(iv[2][2], last // plane + 1 + extra) * iv[1]
    except Exception:  # noqa: BLE001 - only a speed-up: the reader reports any problem itself
        return 0
