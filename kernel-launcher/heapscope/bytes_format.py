"""Byte counts as people read them: the Python twin of ``lab-extension/format/bytes.ts``.

The CLI prints the same text for a number as the badges show (``+200 MB``, ``1.23 GB``, ``+1 GB`` for
999.6 MB): both implementations run the shared cases in ``lab-extension/format/bytes-cases.json``
(``tests/test_bytes_format.py`` and ``bytes.spec.ts``). The TypeScript rules are the reference, down to
JavaScript's rounding: ``Number.prototype.toFixed`` and ``Math.round`` round a tie up, on the exact binary
value (Python's ``round`` and ``format`` round a tie to even), so rounding here is done on exact integer
ratios (``float.as_integer_ratio``), which needs no ``decimal`` import.
"""

from __future__ import annotations

import math
import re
from typing import Optional, Union

#: The decimal units, smallest first (``BYTE_UNITS`` in bytes.ts).
BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")
#: What a non-finite value is shown as.
NOT_A_NUMBER = "–"
#: The largest count :func:`parse_bytes` returns (JavaScript's ``Number.MAX_SAFE_INTEGER``).
MAX_PARSED = 2**53 - 1

_UNIT_SCALES = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "pb": 10**15,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
    "pib": 2**50,
}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*([a-zA-Z]*)\s*", re.ASCII)

Number = Union[int, float]


def _round_half_up(value: float) -> int:
    """``Math.round`` for ``value >= 0``: the nearest integer, a tie going up, on the exact value."""
    num, den = value.as_integer_ratio()
    return (2 * num + den) // (2 * den)


def _to_fixed(value: float, digits: int) -> str:
    """``value.toFixed(digits)`` for ``value >= 0``."""
    num, den = value.as_integer_ratio()
    scaled = (2 * num * 10**digits + den) // (2 * den)
    if digits == 0:
        return str(scaled)
    whole, frac = divmod(scaled, 10**digits)
    return f"{whole}.{frac:0{digits}d}"


def _three_significant(value: float) -> str:
    fixed = _to_fixed(value, 0 if value >= 100 else 1 if value >= 10 else 2)
    return fixed.rstrip("0").rstrip(".") if "." in fixed else fixed


def format_bytes(n: Number) -> str:
    """A byte count with three significant digits and a decimal unit (``formatBytes`` in bytes.ts):
    ``512 B``, ``52.4 MB``, ``1.2 GB``, ``-200 MB``; ``–`` for a non-finite value."""
    value = float(n)
    if not math.isfinite(value):
        return NOT_A_NUMBER
    value = abs(value)
    unit = 0
    while value >= 1000 and unit < len(BYTE_UNITS) - 1:
        value /= 1000  # step by step, as bytes.ts does: the same float at every step
        unit += 1
    digits = str(_round_half_up(value)) if unit == 0 else _three_significant(value)
    if digits == "1000" and unit < len(BYTE_UNITS) - 1:
        digits, unit = "1", unit + 1  # 999.6 MB rounds to 1000 MB: say 1 GB
    sign = "-" if n < 0 and digits != "0" else ""
    return f"{sign}{digits} {BYTE_UNITS[unit]}"


def format_signed_bytes(delta: Number) -> str:
    """A byte difference with an explicit sign (``formatSignedBytes``): ``+200 MB``, ``-200 MB``, ``+0 B``."""
    text = format_bytes(delta)
    return text if text.startswith("-") or text == NOT_A_NUMBER else f"+{text}"


def parse_bytes(text: str) -> int:
    """A size written as the badges write it (``parseBytes`` in bytes.ts): ``500 MB``, ``500MB``, ``2 GB``,
    ``512`` (bytes), binary ``2GiB``; units case-insensitive, decimal units powers of 1000. Raises
    :class:`ValueError` with the accepted forms for anything else, or above 2^53 - 1 bytes."""
    match = _SIZE.fullmatch(text)
    scale = _UNIT_SCALES.get(match.group(2).lower()) if match else None
    if match is None or scale is None:
        raise ValueError(f"not a size: {text!r} (write e.g. 500 MB, 2GB, 1.5 GiB or a number of bytes)")
    count = _round_half_up(float(match.group(1)) * scale)
    if count > MAX_PARSED:
        raise ValueError(f"size too large: {text!r}")
    return count


def parse_bytes_or_none(text: str) -> Optional[int]:
    """:func:`parse_bytes`, ``None`` instead of an error (as ``parseBytes`` returns ``null``)."""
    try:
        return parse_bytes(text)
    except ValueError:
        return None
