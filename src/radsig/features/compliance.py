"""The IBSI compliance rule: round to the reference's significant digits, then compare.

A computed value passes against a reference ``value ± tolerance`` when, rounded to the number
of significant digits printed in the reference (at least 3), it lies within the tolerance
(plus a tiny epsilon for floating-point error).
"""

from __future__ import annotations

import math


def significant_digits(reference: str) -> int:
    """Significant digits of a reference value as printed (``"3.58e5"`` → 3, ``"125256"`` → 6)."""
    text = str(reference).strip().lower().lstrip("+-")
    mantissa = text.split("e")[0]
    digits = mantissa.replace(".", "").lstrip("0")
    if "." not in mantissa:
        digits = digits or "0"
    return max(1, len(digits))


def round_significant(value: float, digits: int) -> float:
    """*value* rounded to *digits* significant digits."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def ibsi_match(value: float, reference: str, tolerance: str | float) -> bool:
    """True when *value* passes against ``reference ± tolerance`` by the IBSI rule."""
    if value is None or not math.isfinite(value):
        return False
    ref = float(reference)
    rounded = round_significant(float(value), max(3, significant_digits(reference)))
    eps = 1e-9 * max(1.0, abs(ref))
    return abs(rounded - ref) <= float(tolerance) + eps
