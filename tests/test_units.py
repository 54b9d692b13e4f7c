"""repoctx.units: one reading of sizes and token counts, one way of printing bytes."""

from __future__ import annotations

import pytest

from repoctx.errors import InputError
from repoctx.units import GiB, MiB, format_bytes, format_gib, parse_size, parse_tokens


@pytest.mark.parametrize(("text", "expected"), [
    ("24GiB", 24 * GiB), ("24G", 24 * GiB), ("24g", 24 * GiB), ("24GB", 24_000_000_000),
    ("16000MiB", 16_000 * MiB), ("1.5G", 3 * GiB // 2), ("512", 512), (" 8 M ", 8 * MiB),
    ("2TB", 2 * 10**12), ("1K", 1024), ("1KB", 1000), ("24Gi", 24 * GiB),
])
def test_sizes_binary_unless_decimal_bytes(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["lots", "", "-1G", "1i", "1e3", "G"])
def test_bad_size_names_what_and_value(text: str) -> None:
    with pytest.raises(InputError, match=rf"^--vram: cannot read size {text!r}"):
        parse_size(text, "--vram")


def test_zero_size_only_when_allowed() -> None:
    with pytest.raises(InputError, match="must be positive"):
        parse_size("0", "X")
    assert parse_size("0", "X", allow_zero=True) == 0


@pytest.mark.parametrize(("text", "expected"), [
    ("65536", 65536), ("65,536", 65536), ("65_536", 65536), ("64k", 65536), ("64K", 65536),
    ("16k", 16384), (" 1.5k ", 1536),
])
def test_token_counts(text: str, expected: int) -> None:
    assert parse_tokens(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("lots", "--ctx: expected a number of tokens like 65536 or 64k, not 'lots'"),
    ("0", "--ctx: must be positive, not '0'"), ("-4k", "--ctx: must be positive"),
])
def test_bad_token_counts(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_tokens(text, "--ctx")


def test_byte_formats() -> None:
    assert [format_bytes(n) for n in (0, 999, 1000, 1_234_567, 5 * 10**12)] == [
        "0 B", "999 B", "1.0 KB", "1.2 MB", "5000.0 GB"]
    assert [format_bytes(n, binary=True) for n in (0, 1023, 2048, 3 * GiB // 2)] == [
        "0 B", "1023 B", "2.0 KiB", "1.5 GiB"]
    assert format_gib(24 * GiB) == "24.0 GiB"
    assert format_gib(3 * GiB // 2, 2, unit=False) == "1.50"
