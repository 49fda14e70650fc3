"""Atomic file writes: write a temporary file beside the target, flush it, then rename.

A reader (or a restarted run) therefore sees either the previous file or the complete new
one, never a partial file, even when the writer is killed with SIGKILL mid-write.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas only for the table writers' annotations (no import for plain files)
    import pandas as pd


TMP_SUFFIX = ".radsig-tmp"


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file onto *path*.

    Parameters
    ----------
    path : Path
        Final location.
    write : callable
        Writes the full content to the path it is given.

    Returns
    -------
    Path
        *path*.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
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


def write_parquet(path: Path, table: "pd.DataFrame", metadata: dict[str, str] | None = None) -> Path:
    """Write a DataFrame to Parquet atomically, with optional key/value schema metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = pa.Table.from_pandas(table, preserve_index=False)
    if metadata:
        merged = dict(arrow.schema.metadata or {})
        merged.update({k.encode(): v.encode() for k, v in metadata.items()})
        arrow = arrow.replace_schema_metadata(merged)
    return atomic_write(path, lambda tmp: pq.write_table(arrow, tmp))


def write_csv(path: Path, table: "pd.DataFrame") -> Path:
    """Write a DataFrame to CSV atomically (no index)."""
    return atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))


def remove_stale_temporaries(folder: Path, older_than_s: float = 3600.0) -> int:
    """Delete temporary files left by killed writers (older than *older_than_s*).

    Returns the number of files removed. Recent ones may belong to a run in progress.
    """
    import time

    removed = 0
    if not Path(folder).is_dir():
        return 0
    now = time.time()
    for tmp in Path(folder).rglob(f"*{TMP_SUFFIX}"):
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
                removed += 1
        except OSError:
            continue
    return removed
