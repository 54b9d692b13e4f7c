"""units: the one reading of sizes and token counts, and the one way bytes are printed.

Every size the user types (``--vram``, ``REPOCTX_STATE_CACHE``, ``state_cache`` in a
config file) follows one rule: ``K``/``M``/``G``/``T`` with or without ``iB`` are binary
(``24G`` = ``24GiB`` = 24 × 2^30), ``KB``/``MB``/``GB``/``TB`` are decimal (``24GB`` =
24 × 10^9, as disk and card vendors write them), a bare number is bytes. Every token count
(``--budget``, ``--ctx``, ``max_tokens``) reads ``65536``, ``65,536``, ``65_536``, ``64k``
and ``64K`` alike, ``k`` meaning 1024 (contexts are powers of two). Errors are one line
naming what was being read (``--vram``, ``REPOCTX_STATE_CACHE``) and the value.
"""

from __future__ import annotations

import re

from repoctx.errors import InputError

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)\s*$", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def parse_size(text: str, what: str = "size", *, allow_zero: bool = False) -> int:
    """``24GiB``, ``24G``, ``24GB`` (GB = 10^9), ``24000MiB``, ``25769803776`` → bytes.

    InputError (``<what>: cannot read size …``) for anything else, and for zero unless
    ``allow_zero``.
    """
    m = _SIZE.match(text)
    if not m or (m.group(2) == "" and m.group(3)):
        raise InputError(f"{what}: cannot read size {text!r} (try 24GiB, 24GB or 24000MiB)")
    number, unit, binary, byte = float(m.group(1)), m.group(2).lower(), m.group(3), m.group(4)
    decimal = bool(byte) and not binary and unit != ""
    value = int(number * (1000 if decimal else 1024) ** _POWERS[unit])
    if value <= 0 and not (allow_zero and value == 0):
        raise InputError(f"{what}: size {text!r} must be positive")
    return value


def parse_tokens(text: str, what: str = "tokens") -> int:
    """``65536``, ``65,536``, ``65_536``, ``64k``, ``64K``, ``1.5k`` → a positive token count."""
    clean = text.strip().lower().replace("_", "").replace(",", "")
    scale = 1024 if clean.endswith("k") else 1
    try:
        n = int(float(clean.removesuffix("k")) * scale)
    except ValueError:
        raise InputError(
            f"{what}: expected a number of tokens like 65536 or 64k, not {text!r}"
        ) from None
    if n <= 0:
        raise InputError(f"{what}: must be positive, not {text!r}")
    return n


def format_bytes(size: int, *, binary: bool = False) -> str:
    """A size as people read it: ``512 B``, ``1.2 MB`` (decimal, like ``ls -h --si``: file
    sizes in a manifest), or with ``binary`` ``1.5 KiB``, ``2.0 GiB`` (caches, memory)."""
    step, units = (1024, ("B", "KiB", "MiB", "GiB")) if binary else (1000, ("B", "KB", "MB", "GB"))
    value = float(size)
    for unit in units[:-1]:
        if value < step:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= step
    return f"{value:.1f} {units[-1]}"


def format_gib(size: float, digits: int = 1, *, unit: bool = True) -> str:
    """Memory as GPU tools print it: ``23.6 GiB`` (binary; ``unit=False`` drops the suffix)."""
    number = f"{size / GiB:.{digits}f}"
    return f"{number} GiB" if unit else number
