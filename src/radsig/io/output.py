"""Output paths checked at the start of a command, and tables written atomically.

Every command checks where it will write *before* it reads or computes anything, so a missing or
read-only folder, a folder where a file is expected (or the reverse) and an unknown file type
are an ``error:`` in the first second, not an ``OSError`` after an hour of extraction. Files are
then written through :mod:`radsig.cohort._atomic` (temporary file beside the target, then a
rename): an existing output is replaced whole or left untouched.
"""

from __future__ import annotations

import os
from pathlib import Path

from radsig.exceptions import ConfigError

__all__ = ["TABLE_SUFFIXES", "check_output_file", "check_output_folder", "write_table"]

#: File endings of the tables radsig writes, and the format each one means.
TABLE_SUFFIXES = {".csv": "csv", ".csv.gz": "csv", ".tsv": "tsv", ".parquet": "parquet",
                  ".pq": "parquet"}


def _suffix(path: Path, suffixes) -> str | None:
    name = path.name.lower()
    return next((s for s in sorted(suffixes, key=len, reverse=True) if name.endswith(s)), None)


def _writable_folder(folder: Path, option: str, target: Path) -> None:
    if not folder.exists():
        raise ConfigError(f"{option} {target}: the folder {folder} does not exist; create it first")
    if not folder.is_dir():
        raise ConfigError(f"{option} {target}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {target}: the folder {folder} is not writable")


def check_output_file(path, *, option: str = "--out", suffixes=TABLE_SUFFIXES) -> Path:
    """Check that *path* can be written as one of *suffixes*; return it.

    Raises
    ------
    ConfigError
        Unknown file ending, *path* is a folder, its folder is missing, a file or read-only.
    """
    path = Path(path).expanduser()
    if suffixes is not None and _suffix(path, suffixes) is None:
        raise ConfigError(f"{option} {path}: unknown output format; use a file name ending in "
                          f"{', '.join(suffixes)}")
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a folder; give a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{option} {path}: the file exists and is read-only")
    _writable_folder(path.parent if str(path.parent) else Path("."), option, path)
    return path


def check_output_folder(path, *, option: str = "--out", create: bool = True) -> Path:
    """Check (and by default create) an output folder; its parent must exist."""
    path = Path(path).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"{option} {path}: is a file, not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise ConfigError(f"{option} {path}: the folder is not writable")
        return path
    _writable_folder(path.parent if str(path.parent) else Path("."), option, path)
    if create:
        try:
            path.mkdir()
        except OSError as err:
            raise ConfigError(f"{option} {path}: cannot create the folder: {err.strerror}") from None
    return path


def write_table(table, path, *, index: bool = False) -> Path:
    """Write a DataFrame atomically in the format its file ending names (CSV, TSV, Parquet)."""
    from radsig import _atomic

    path = Path(path)
    kind = TABLE_SUFFIXES.get(_suffix(path, TABLE_SUFFIXES) or "")
    if kind is None:
        raise ConfigError(f"{path}: unknown output format; use a file name ending in "
                          f"{', '.join(TABLE_SUFFIXES)}")
    if kind == "parquet":
        return _atomic.atomic_write(path, lambda tmp: table.to_parquet(tmp, index=index))
    compression = "gzip" if path.name.lower().endswith(".gz") else None
    sep = "\t" if kind == "tsv" else ","
    return _atomic.atomic_write(path, lambda tmp: table.to_csv(tmp, index=index, sep=sep,
                                                               compression=compression))
