"""Stop an answer that has started to loop.

The embedded 270M fallback, even greedy with a repeat penalty, falls into loops: one bullet
written twelve times until the token cap, or one template filled in for every file. A repeat
penalty only looks back 64 tokens, so the stream itself is watched: the answer is released
line by line, and a line of some length that was already written, a long sentence written a
third time, or a tail that keeps repeating one stretch of text without a newline ends the
generation there, with ``finish_reason`` "stop" and the repeat left out.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from repoctx.llm.base import Done, Event, PrefillProgress, Stats, Text

if TYPE_CHECKING:
    from repoctx.llm.base import Backend, Options, ProgressCallback, Prompt

MIN_LINE = 16  # shorter lines ("```", "}", "- None.") legitimately recur
# a loop over a template ("* `a.py`: … It will be used to handle errors, such as …" for
# every file): one long sentence written a third time, inside lines that differ
MIN_SENTENCE, SENTENCE_TIMES = 40, 3
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MIN_UNIT, MAX_UNIT, TIMES = 12, 200, 3  # a stretch repeated 3 times back to back, no newline
_SPACE = re.compile(r"\s+")
_BULLET = re.compile(r"^(?:[-*+]|\d+[.)])\s+")


def _key(line: str) -> str:
    """A line as compared: whitespace folded, list markers and numbering dropped (a loop
    often renumbers the same bullet)."""
    return _BULLET.sub("", _SPACE.sub(" ", line).strip()).lower()


def looping_tail(text: str) -> int | None:
    """Where a run of ``TIMES`` back-to-back copies of one stretch starts, if ``text`` ends
    with one; the first copy is kept."""
    for unit in range(MIN_UNIT, min(MAX_UNIT, len(text) // TIMES) + 1):
        tail = text[-unit:]
        if tail.strip() and text.endswith(tail * TIMES):
            return len(text) - unit * (TIMES - 1)
    return None


class Guard:
    """Feed text; get back what may be shown, or learn that the answer loops."""

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.sentences: dict[str, int] = {}
        self.pending = ""  # the current, unfinished line
        self.looped = False

    def feed(self, text: str) -> str:
        out: list[str] = []
        self.pending += text
        while "\n" in self.pending and not self.looped:
            line, self.pending = self.pending.split("\n", 1)
            key = _key(line)
            if (len(key) >= MIN_LINE and key in self.seen) or self._sentence_loops(line):
                self.looped = True
                self.pending = ""
                break
            if len(key) >= MIN_LINE:
                self.seen.add(key)
            out.append(line + "\n")
        if not self.looped:
            cut = looping_tail(self.pending) if len(self.pending) >= MIN_UNIT * TIMES else None
            if cut is not None:
                out.append(self.pending[:cut])
                self.pending = ""
                self.looped = True
        return "".join(out)

    def _sentence_loops(self, line: str) -> bool:
        """Count the line's long sentences; True when one of them is there a third time."""
        looped = False
        for sentence in _SENTENCE_END.split(line):
            key = _key(sentence)
            if len(key) >= MIN_SENTENCE:
                self.sentences[key] = self.sentences.get(key, 0) + 1
                looped = looped or self.sentences[key] >= SENTENCE_TIMES
        return looped

    def flush(self) -> str:
        rest, self.pending = self.pending, ""
        return "" if self.looped else rest


def guarded(events: Iterator[Event]) -> Iterator[Event]:
    """``events`` with a looping answer cut at its first repeat. The generation is closed
    there, so no more tokens are spent on it; its statistics are then this stream's own
    count (one text event per token, as the backends send them)."""
    guard = Guard()
    seen = _Seen(time.monotonic())
    try:
        for event in events:
            seen.note(event)
            if isinstance(event, Text):
                shown = guard.feed(event.text)
                if shown:
                    yield Text(shown)
                if guard.looped:
                    break
            elif isinstance(event, Done):
                rest = guard.flush()
                if rest:
                    yield Text(rest)
                yield event
                return
            else:
                yield event
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    rest = guard.flush()
    if rest:
        yield Text(rest)
    yield Done(seen.stats())


class _Seen:
    """Token accounting of a stream that was stopped before its own ``Done``."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.first_text: float | None = None
        self.prompt = self.cached = self.output = 0

    def note(self, event: Event) -> None:
        if isinstance(event, PrefillProgress):
            self.prompt, self.cached = event.total, event.cached
        elif isinstance(event, Text):
            if self.first_text is None:
                self.first_text = time.monotonic()
            self.output += 1

    def stats(self) -> Stats:
        now = time.monotonic()
        first = self.first_text or now
        return Stats(prompt_tokens=self.prompt, cached_tokens=self.cached,
                     output_tokens=self.output, prefill_s=first - self.start,
                     decode_s=now - first, finish_reason="stop")


class GuardedBackend:
    """A backend whose every answer goes through :func:`guarded` (the fallback's Markdown
    answers, single-pack and whole-repo alike). JSON answers are left alone: the grammar
    bounds them, and a field line such as ``"category": "refactor",`` legitimately recurs."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:  # path, state, …: what the front ends read
        return getattr(self.inner, name)

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def context_length(self) -> int:
        return self.inner.context_length

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def stream(self, prompt: Prompt, options: Options | None = None) -> Iterator[Event]:
        return guarded(self.inner.stream(prompt, options))

    def warm(self, prompt: Prompt, options: Options | None = None,
             on_progress: ProgressCallback | None = None) -> int:
        return self.inner.warm(prompt, options, on_progress)

    def close(self) -> None:
        self.inner.close()
