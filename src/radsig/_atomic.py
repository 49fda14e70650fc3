"""Atomic file writes: write a temporary file beside the target, flush it, then rename.

A reader (or a restarted run) therefore sees either the previous file or the complete new
one, never a partial file, even when the writer is killed with SIGKILL mid-write. No pandas
here: a one-case ``radsig extract`` writes through it without importing pandas.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

TMP_SUFFIX = ".radsig-tmp"


def atomic_write(path: Path, write: Callable[[Path], None], *, suffix: str = "") -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto *path*.

    Parameters
    ----------
    path : Path
        Final location.
    write : callable
        Writes the full content to the path it is given.
    suffix : str
        Ending of the temporary file's name after :data:`TMP_SUFFIX`, for writers that choose
        the format by the name (SimpleITK: ``".nii.gz"``).

    Returns
    -------
    Path
        *path*.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX + suffix,
                                    dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; an output is as readable as any file
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path, text: str) -> Path:
    """Write *text* (UTF-8) to *path* atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
