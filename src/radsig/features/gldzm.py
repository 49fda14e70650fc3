"""IBSI family module 'gldzm' (placeholder until its owner lands it; see docs/DEVELOPING.md)."""

from __future__ import annotations


def compute(roi, **options) -> dict[str, float]:
    """Not implemented yet: the extractor reports this family as missing with a warning."""
    raise NotImplementedError("feature family 'gldzm' is not implemented yet")
