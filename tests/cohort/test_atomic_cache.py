"""Atomic writes, file hashing with its memo, and cache entries."""

from __future__ import annotations

import hashlib
import os
import time

import pandas as pd
import pytest

from radsig.cohort import _atomic
from radsig.cohort.cache import CaseCache, FileHasher, case_key
from radsig.exceptions import ImageReadError


def test_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "t.txt"
    _atomic.write_text(target, "old")

    def half_then_crash(tmp):
        tmp.write_text("partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _atomic.atomic_write(target, half_then_crash)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]


def test_stale_temporaries_are_removed_only_when_old(tmp_path):
    old, new = tmp_path / f".a{_atomic.TMP_SUFFIX}", tmp_path / f".b{_atomic.TMP_SUFFIX}"
    old.write_text("x")
    new.write_text("y")
    past = time.time() - 7200
    os.utime(old, (past, past))
    assert _atomic.remove_stale_temporaries(tmp_path) == 1
    assert not old.exists() and new.exists()


def test_hash_is_blake2b_of_bytes_and_memo_follows_changes(tmp_path):
    f = tmp_path / "img.bin"
    f.write_bytes(b"abc" * 1000)
    hasher = FileHasher(tmp_path / "memo")
    assert hasher.hash_path(f) == hashlib.blake2b(f.read_bytes(), digest_size=32).hexdigest()
    assert len(list((tmp_path / "memo").iterdir())) == 1
    f.write_bytes(b"abd" * 1000)  # same size; new mtime
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 10**9))
    assert hasher.hash_path(f) == hashlib.blake2b(f.read_bytes(), digest_size=32).hexdigest()


def test_folder_hash_depends_on_names_and_contents(tmp_path):
    series = tmp_path / "series"
    series.mkdir()
    (series / "1.dcm").write_bytes(b"one")
    (series / "2.dcm").write_bytes(b"two")
    first = FileHasher().hash_path(series)
    (series / "2.dcm").write_bytes(b"TWO")
    assert FileHasher().hash_path(series) != first
    with pytest.raises(ImageReadError, match="mask file not found"):
        FileHasher().hash_path(tmp_path / "none.nii.gz", case="P1", role="mask")


def test_cache_roundtrip_and_key_sensitivity(tmp_path):
    cache = CaseCache(tmp_path)
    long = pd.DataFrame({"feature": ["a", "b"], "family": ["f", "f"], "ibsi_code": ["X", ""],
                         "aggregation_code": ["", ""], "value": [1.5, float("nan")]})
    base = dict(image_hash="i", mask_hash="m", settings_hash="s", version="1", label=None,
                roi=None, extractor="e")
    key = case_key(**base)
    assert cache.get(key) is None
    cache.put(key, long, {"warnings": '["w"]'})
    table, warnings = cache.get(key)
    pd.testing.assert_frame_equal(table, long)
    assert warnings == ["w"]
    for field in base:
        assert case_key(**{**base, field: "other"}) != key, field
    cache.entry_path(key).write_bytes(b"corrupt")
    assert cache.get(key) is None  # unreadable entry = miss, recomputed
