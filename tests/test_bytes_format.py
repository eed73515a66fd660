"""The byte formatter and parser: the same table of cases as lab-extension/format/bytes.spec.ts, so the CLI
prints what the badges show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from heapscope.bytes_format import format_bytes, format_signed_bytes, parse_bytes, parse_bytes_or_none

CASES = json.loads((Path(__file__).resolve().parents[1] / "lab-extension" / "format" / "bytes-cases.json").read_text())


def value(x):
    """Numbers JSON cannot hold are strings in the table ("NaN", "Infinity", "-Infinity")."""
    return float(x) if isinstance(x, str) else x


@pytest.mark.parametrize("number,text", CASES["format"])
def test_format_bytes(number, text):
    assert format_bytes(value(number)) == text


@pytest.mark.parametrize("number,text", CASES["formatSigned"])
def test_format_signed_bytes(number, text):
    assert format_signed_bytes(value(number)) == text


@pytest.mark.parametrize("text,number", CASES["parse"])
def test_parse_bytes(text, number):
    assert parse_bytes_or_none(text) == number
    if number is None:
        with pytest.raises(ValueError, match="size"):
            parse_bytes(text)
    else:
        assert parse_bytes(text) == number and isinstance(parse_bytes(text), int)


def test_the_table_covers_the_cli_and_badge_disagreements():
    """The CLI said +200.0 MB and +999.6 MB where the badges say +200 MB and +1 GB."""
    signed = {json.dumps(n): t for n, t in CASES["formatSigned"]}
    assert signed["200000000"] == "+200 MB"
    assert signed["999600000"] == "+1 GB"
    assert format_signed_bytes(200_000_000) == "+200 MB"


def test_ints_and_floats_agree():
    for n in (0, 1, 1125, 999_600_000, 2**53 - 1, -512):
        assert format_bytes(n) == format_bytes(float(n))
