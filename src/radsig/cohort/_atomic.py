"""Atomic file writes: write a temporary file beside the target, flush it, then rename.

A reader (or a restarted run) therefore sees either the previous file or the complete new
one, never a partial file, even when the writer is killed with SIGKILL mid-write. The
generic writer lives in :mod:`radsig._atomic` (no pandas); the table writers are here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from radsig._atomic import TMP_SUFFIX, atomic_write, write_text

if TYPE_CHECKING:  # pandas only for the table writers' annotations
    import pandas as pd

__all__ = ["TMP_SUFFIX", "atomic_write", "write_csv", "write_parquet", "write_text"]


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
    for tmp in Path(folder).rglob(f"*{TMP_SUFFIX}*"):  # also .radsig-tmp.nii.gz
        try:
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
                removed += 1
        except OSError:
            continue
    return removed
