"""content: turning a file's bytes into the text the model will read.

Decoding never fails: UTF-8 (with or without BOM) is the norm, UTF-16/32 with a BOM is
honoured, and anything else is read as Latin-1 with a note, so one odd file never stops a
run. Line endings are normalised to ``\\n`` because CRLF costs tokens and tells the model
nothing. Strings that a chat template would treat as control tokens (``<|im_end|>``,
``<think>`` …) are defanged inside file content, so a file cannot end the prompt's turn or
pose as another file.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Qwen/ChatML-style control strings: "<|anything|>" and the bare tag tokens Qwen 3.5 has.
_CONTROL = re.compile(
    r"<\|[A-Za-z0-9_]{1,40}\|>|</?(?:think|tool_call|tool_response|tts_pad|tts_text_bos"
    r"|tts_text_eod|tts_text_bos_single)>"
)
_ZERO_WIDTH_SPACE = "\u200b"


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    note: str | None = None  # e.g. "decoded as Latin-1 (not valid UTF-8)"
    exact: bool = False  # the bytes were ``text`` in UTF-8 already (no BOM, no CR)


def decode(data: bytes) -> Decoded:
    note = None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                return Decoded(_normalise(data.decode("latin-1")),
                               "decoded as Latin-1 (bad byte-order mark)")
            note = None if codec == "utf-8-sig" else f"decoded as {codec.upper()} (BOM)"
            return Decoded(_normalise(text), note)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Decoded(_normalise(data.decode("latin-1")),
                       "decoded as Latin-1 (not valid UTF-8)")
    normal = _normalise(text)
    return Decoded(normal, exact=normal is text)


def _normalise(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def defang(text: str) -> str:
    """Break control-token strings so the tokenizer reads them as plain text."""
    if "<" not in text:
        return text
    return _CONTROL.sub(lambda match: match.group(0)[0] + _ZERO_WIDTH_SPACE
                        + match.group(0)[1:], text)


def display_path(path: str) -> str:
    """A path as it may appear inside a prompt: valid UTF-8 on one line.

    File names may hold bytes that are not UTF-8 (kept by Python as surrogate escapes) and
    control characters such as newlines; neither may break the prompt's structure.
    """
    if path.isprintable() and path.isascii():
        return path
    text = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else _escape_control(ch) for ch in text)


def _escape_control(ch: str) -> str:
    named = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
    return named.get(ch, f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def content_hash(data: bytes) -> str:
    """The key of a file's content (cache entries, the pack memo's emitted files)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()
