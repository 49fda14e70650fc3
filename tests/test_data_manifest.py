"""The test data folder is complete: every file ``tests/data/MANIFEST.sha256`` lists is there, unchanged.

Deleting or altering a reference file fails here, naming the file, besides failing the tests
that read it (never a skip).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


def _listed() -> list[tuple[str, str]]:
    manifest = DATA / "MANIFEST.sha256"
    if not manifest.is_file():
        return [("MANIFEST.sha256", "")]
    out = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        digest, name = line.split(maxsplit=1)
        out.append((name, digest))
    return out


@pytest.mark.parametrize("name,digest", _listed(), ids=[n for n, _ in _listed()])
def test_every_listed_data_file_is_present(name, digest):
    path = DATA / name
    assert path.is_file(), f"test data file missing: {path} (see tests/data/SOURCES.md)"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"test data file altered: {path}"


def test_every_data_file_is_listed_and_documented():
    listed = {n for n, _ in _listed()}
    present = {str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file()}
    assert present - listed - {"MANIFEST.sha256"} == set(), "add new test data to MANIFEST.sha256"
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    for top in sorted({n.split("/")[0] if n.count("/") < 2 else "/".join(n.split("/")[:2])
                       for n in listed if "/" in n}):
        assert top.split("/")[-1] in sources, f"{top} is not described in tests/data/SOURCES.md"


def test_data_stays_within_budget():
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total <= 80 * 1024 * 1024, f"tests/data holds {total / 2**20:.1f} MiB (budget 80 MB)"
