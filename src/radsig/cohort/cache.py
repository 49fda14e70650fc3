"""Per-case feature cache and fast input hashing.

A case's entry is keyed by (image hash, mask hash, settings hash, radsig version, label/ROI,
extractor); it is one Parquet file holding the long feature table, written atomically, so a run
that dies at any instant leaves only complete entries. Never pickle.

File hashes are BLAKE2b of the bytes, read in 1 MiB chunks. Because hashing a large scan costs
more than a stat, each file's digest is memoised in the cache folder under (path, size, mtime),
so a resumed run re-hashes nothing that did not change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from radsig.cohort import _atomic
from radsig.exceptions import ImageReadError

_CHUNK = 1 << 20
LONG_COLUMNS = ["feature", "family", "ibsi_code", "aggregation_code", "value"]


def _digest_text(text: str, size: int = 32) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=size).hexdigest()


def _hash_bytes(path: Path) -> str:
    h = hashlib.blake2b(digest_size=32)
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class FileHasher:
    """Hash files and folders (DICOM series) by content, memoised by (path, size, mtime).

    Parameters
    ----------
    memo_dir : Path or None
        Folder of the memo entries (one small JSON per file); ``None`` disables the memo.
    """

    memo_dir: Path | None = None

    def hash_path(self, path: Path, *, case: str | None = None, role: str = "input") -> str:
        """Hex digest of a file, or of every file (relative name + content) under a folder.

        Raises
        ------
        ImageReadError
            When *path* does not exist or cannot be read.
        """
        path = Path(path)
        try:
            if path.is_dir():
                h = hashlib.blake2b(digest_size=32)
                for member in sorted(p for p in path.rglob("*") if p.is_file()):
                    h.update(member.relative_to(path).as_posix().encode())
                    h.update(self._hash_file(member).encode())
                return h.hexdigest()
            return self._hash_file(path)
        except FileNotFoundError as err:
            raise ImageReadError(
                f"{role} file not found; check the manifest path (relative paths resolve from the "
                "manifest's folder)", case=case, path=str(path), stage="input") from err
        except OSError as err:
            raise ImageReadError(f"cannot read {role} file ({err.strerror or err})", case=case,
                                 path=str(path), stage="input") from err

    def _hash_file(self, path: Path) -> str:
        stat = path.stat()
        if self.memo_dir is None:
            return _hash_bytes(path)
        resolved = str(path.resolve())
        memo = Path(self.memo_dir) / f"{_digest_text(resolved, 16)}.json"
        try:
            entry = json.loads(memo.read_text(encoding="utf-8"))
            if (entry["path"], entry["size"], entry["mtime_ns"]) == (
                    resolved, stat.st_size, stat.st_mtime_ns):
                return entry["blake2b"]
        except (OSError, ValueError, KeyError):
            pass
        digest = _hash_bytes(path)
        entry = {"path": resolved, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                 "blake2b": digest}
        _atomic.write_text(memo, json.dumps(entry))
        return digest


def case_key(*, image_hash: str, mask_hash: str, settings_hash: str, version: str,
             label: int | None, roi: str | None, extractor: str) -> str:
    """The cache key of one case: a digest of everything that determines its features."""
    parts = {"image": image_hash, "mask": mask_hash, "settings": settings_hash,
             "radsig": version, "label": label, "roi": roi, "extractor": extractor}
    return _digest_text(json.dumps(parts, sort_keys=True))


@dataclass(frozen=True)
class CaseCache:
    """A folder of per-case Parquet entries (``cases/<k[:2]>/<k>.parquet``) plus file-hash memos.

    Parameters
    ----------
    root : Path
        Cache folder; created on first write. Safe to share between runs and settings,
        because the key includes the settings hash and the radsig version.
    """

    root: Path

    @property
    def hasher(self) -> FileHasher:
        """A :class:`FileHasher` memoising into ``<root>/hashes``."""
        return FileHasher(Path(self.root) / "hashes")

    def entry_path(self, key: str) -> Path:
        """Where the entry of *key* lives."""
        return Path(self.root) / "cases" / key[:2] / f"{key}.parquet"

    def get(self, key: str) -> tuple[pd.DataFrame, list[str]] | None:
        """The cached long feature table of *key* and its warnings, or ``None`` (a miss)."""
        import pyarrow.parquet as pq

        path = self.entry_path(key)
        if not path.is_file():
            return None
        try:
            arrow = pq.read_table(path)
            meta = arrow.schema.metadata or {}
            messages = json.loads(meta.get(b"radsig.warnings", b"[]"))
            table = arrow.to_pandas()
        except (OSError, ValueError):
            # An unreadable entry (disk trouble) is a cache miss: the case is recomputed.
            return None
        if list(table.columns) != LONG_COLUMNS:
            return None
        return table, messages

    def put(self, key: str, long_table: pd.DataFrame, meta: dict[str, str]) -> Path:
        """Store the long feature table of *key* atomically, with *meta* in the schema."""
        table = long_table.reindex(columns=LONG_COLUMNS).reset_index(drop=True)
        table["value"] = pd.to_numeric(table["value"], errors="coerce").astype("float64")
        return _atomic.write_parquet(self.entry_path(key), table,
                                     {f"radsig.{k}": str(v) for k, v in meta.items()})

    def n_entries(self) -> int:
        """How many case entries the cache holds."""
        return sum(1 for _ in (Path(self.root) / "cases").glob("*/*.parquet"))


def default_cache_dir(out: Path) -> Path:
    """The cache folder used when none is given: ``.radsig-cache`` beside the output."""
    return Path(out).resolve().parent / ".radsig-cache"

