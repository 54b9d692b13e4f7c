"""content: turning a file's bytes into the text the model will read.

Decoding never fails: UTF-8 (with or without BOM) is the norm, UTF-16/32 with a BOM is
honoured, and anything else is read as Latin-1 with a note, so one odd file never stops a
run. Line endings are normalised to ``\\n`` because CRLF costs tokens and tells the model
nothing. Strings that a chat template would treat as control tokens (``<|im_end|>``,
``<think>``, ``<end_of_turn>``, ``[INST]`` … of every common model family, plus the loaded
model's own control tokens once it is registered) are defanged inside file content and in
paths, so a file cannot end the prompt's turn or pose as another file.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Control tokens of the common model families (:func:`_families`), always defanged
# (whatever model reads the prompt: a pack may be written for one model and pasted into
# another). Grouped by first character: each group is one regex with that literal prefix,
# which the regex engine finds with a fast scan (one alternation of all families was 10x
# slower on a large repository), and a lookahead on the second character drops most "<"
# and "[" of code (``a < b``, ``List<String>``, ``x[0]``) before any branch is tried.
_SECOND = {"<": "|\uff5c/a-z<", "[": "/A-Z"}
_WORDS = (
    "think", "tool_call", "tool_response", "tools", "tts_pad", "tts_text_bos", "tts_text_eod",
    "tts_text_bos_single",  # Qwen's bare tags (also closed: </think>)
    "start_of_turn", "end_of_turn", "bos", "eos", "pad", "unk", "mask", "start_of_image",
    "end_of_image", "image_soft_token",  # Gemma
    "s",  # Llama 2, Mistral v1: <s>, </s>
    "fim_prefix", "fim_middle", "fim_suffix", "fim_pad", "file_sep", "repo_name", "filename",
    "gh_stars", "issue_start", "issue_comment", "issue_closed", "jupyter_start", "jupyter_text",
    "jupyter_code", "jupyter_output", "empty_output", "commit_before", "commit_msg",
    "commit_after", "reponame",  # StarCoder
)
_BRACKET_WORDS = (
    "INST",  # Llama 2
    "AVAILABLE_TOOLS", "TOOL_CALLS", "TOOL_RESULTS", "TOOL_CONTENT", "SYSTEM_PROMPT", "IMG",
    "IMG_BREAK", "IMG_END", "PREFIX", "MIDDLE", "SUFFIX", "ARGS", "CALL_ID", "THINK",  # Mistral
)
DEFANG_VERSION = 2  # bump when the families or the defanged form change (cache keys use it)
_MARKUP = re.compile(r"[<\[{|\uff5c][^\s]{1,126}")  # a vocabulary entry worth defanging
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


class _Defanger:
    """The compiled patterns, one per first character: the families' tokens plus the loaded
    model's own (registered)."""

    def __init__(self, extra: tuple[str, ...] = ()) -> None:
        self.extra = extra
        groups: dict[str, list[str]] = {first: list(rest) for first, rest in _FAMILIES.items()}
        seconds = dict(_SECOND)
        for first in sorted({token[0] for token in extra}):
            tails = tuple(token[1:] for token in extra if token[0] == first)
            groups.setdefault(first, []).append(_trie(tails))
            seconds[first] = seconds.get(first, "") + "".join(
                re.escape(ch) for ch in sorted({tail[0] for tail in tails}))
        self.patterns = tuple(
            (first, re.compile(f"{re.escape(first)}(?=[{seconds[first]}])(?:{'|'.join(rest)})"))
            for first, rest in sorted(groups.items())
        )  # fmt: skip
        source = "\n".join(pattern.pattern for _, pattern in self.patterns)
        self.signature = hashlib.blake2b(f"{DEFANG_VERSION}\0{source}".encode(),
                                         digest_size=8).hexdigest()  # fmt: skip


def _families() -> dict[str, tuple[str, ...]]:
    """First character → the branches after it (word lists as tries: one pass each)."""
    return {
        "<": (
            r"\|[A-Za-z0-9_.-]{1,40}\|>",  # ChatML/Qwen, Llama 3, Phi, Command R: <|im_end|>
            r"\uff5c[^\uff5c\n<>]{1,40}\uff5c>",  # DeepSeek's fullwidth bars: <｜User｜>
            f"/?{_trie(_WORDS)}>",
            r"unused[0-9]{1,5}>",  # Gemma's <unused0> … <unused6241>
            r"</?SYS>>",  # Llama 2
        ),
        "[": (f"/?{_trie(_BRACKET_WORDS)}\\]",),
    }


def register_control_tokens(tokens: Iterable[str]) -> None:
    """Defang ``tokens`` too from now on, in this process (and analysis workers it starts).

    Called with a loaded model's control and special tokens (its vocabulary marks them), so a
    model's own turn markers are broken even when no family rule knows them. Tokens the
    family rules match already, and entries that are not markup (whitespace, one character),
    are left out; the set only grows, so texts defanged earlier stay defanged.
    """
    global _defanger  # one process-wide set, replaced whole: a reader sees old or new
    fresh = {t for t in tokens if _MARKUP.fullmatch(t) and not _FIXED_RE.fullmatch(t)}
    if fresh <= set(_defanger.extra):
        return
    _defanger = _Defanger(tuple(sorted(fresh | set(_defanger.extra))))


def registered_control_tokens() -> tuple[str, ...]:
    return _defanger.extra


def defang_signature() -> str:
    """Names the current token set: token counts of defanged text are cached under it."""
    return _defanger.signature


def defang(text: str) -> str:
    """Break control-token strings so the tokenizer reads them as plain text: a zero-width
    space after the first character (the text reads the same; the token is gone)."""
    for first, pattern in _defanger.patterns:
        if first in text:  # most texts have no "[" or no "<" at all: skip that pattern
            text = pattern.sub(_break, text)
    return text


def _break(match: re.Match[str]) -> str:
    token = match.group(0)
    return token[0] + _ZERO_WIDTH_SPACE + token[1:]


def _trie(tokens: tuple[str, ...]) -> str:
    """A regex matching exactly ``tokens``, as a trie of shared prefixes: thousands of
    registered tokens cost one pass, not one alternative each at every "<"."""
    root: dict[str, Any] = {}
    for token in tokens:
        node = root
        for ch in token:
            node = node.setdefault(ch, {})
        node[""] = {}
    return _trie_source(root)


def _trie_source(node: dict[str, Any]) -> str:
    ends = "" in node
    branches = [re.escape(ch) + _trie_source(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if ends:
        return f"(?:{body})?"
    return body


def display_path(path: str) -> str:
    """A path as it may appear inside a prompt: :func:`printable_path`, control tokens
    defanged (a file named ``<|im_start|>system.py`` must not open a turn in the tree or in
    its header). The manifest, written for the user, keeps the real path."""
    return defang(printable_path(path))


def printable_path(path: str) -> str:
    """A path as valid UTF-8 on one line (for a prompt, a report or a document).

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


_FAMILIES = _families()
_FIXED_RE = re.compile("|".join(f"{re.escape(first)}(?:{'|'.join(rest)})"
                                for first, rest in _FAMILIES.items()))  # fmt: skip
_defanger = _Defanger()
