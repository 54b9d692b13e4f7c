"""Shared pieces of the TUI and ask tests (no tests here): real tiny models, a fixed clock,
waiting helpers and a recorder of the messages the app posts.

Models are real: the embedded Gemma 3 270M (real text, greedy) and ggufgen's tiny ``qwen35``
hybrid with the real Qwen 3.5 vocabulary (DeltaNet state, so prefix snapshots matter). Contexts
and answers are tiny so the whole suite stays fast on a CPU.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from textual.message import Message

from repoctx.llm.base import (
    Done,
    Event,
    Options,
    PrefillProgress,
    ProgressCallback,
    Prompt,
    Stats,
    Text,
)
from repoctx.llm.fallback import fallback_model_path
from repoctx.llm.llamacpp import LlamaCppBackend
from repoctx.llm.runtime import LoadSettings
from repoctx.tui import messages as msg
from repoctx.tui.app import RepoctxApp
from repoctx.tui.model import MemorySplit, Opened, Opener, Warn, chat_options, memory_split

PACK_SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "pack-small"
BUDGET = 550  # pack-small at 550 tokens: full, skeleton and listed files, a short first read
T = TypeVar("T")


def load(path: Path, n_ctx: int = 2048, n_batch: int = 256) -> LlamaCppBackend:
    return LlamaCppBackend(path, LoadSettings(n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_batch))


SCRIPT = (
    "`pricing.py` computes **order totals**:\n\n"
    "- `subtotal` sums line prices\n"
    "- `discount` applies the coupon\n\n"
    "```python\ntotal = subtotal - discount\n```\n"
)


def script_pieces(text: str = SCRIPT) -> list[str]:
    """``text`` cut into word-sized pieces, as a model streams it (whitespace kept)."""
    import re

    return re.findall(r"\S+\s*|\s+", text)


class ScriptedBackend:
    """A real model whose answer words are replaced by a fixed script.

    Everything that does not depend on generated words stays real: the prompt is tokenized,
    prefilled and its prefix kept by the wrapped llama.cpp backend (so prompt and reused token
    counts, ingest progress and warm/cold states are the real ones). Only the decode is swapped:
    the real stream runs for one token, then ``pieces`` are yielded (``delay`` seconds apart,
    for tests that act mid-stream). Greedy text differs between CPUs; this script does not, so
    screenshots and layout tests can pin it. ``yielded`` counts the pieces actually streamed.
    """

    def __init__(self, real: LlamaCppBackend, pieces: list[str], delay: float = 0.0) -> None:
        self.real, self.pieces, self.delay = real, pieces, delay
        self.yielded = 0
        self.closed_early = 0  # streams closed before their last piece (Esc, quit)

    @property
    def name(self) -> str:
        return self.real.name

    @property
    def context_length(self) -> int:
        return self.real.context_length

    @property
    def rt(self) -> Any:
        return self.real.rt

    @property
    def has_chat_template(self) -> bool:
        return self.real.has_chat_template

    def count_tokens(self, text: str) -> int:
        return self.real.count_tokens(text)

    def warm(
        self, prompt: Prompt, options: Options | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> int:  # fmt: skip
        return self.real.warm(prompt, options, on_progress)

    def stream(self, prompt: Prompt, options: Options | None = None) -> Iterator[Event]:
        from dataclasses import replace

        one = replace(options or Options(), max_tokens=1)
        stats = Stats()
        for event in self.real.stream(prompt, one):
            if isinstance(event, PrefillProgress):
                yield event
            elif isinstance(event, Done):
                stats = event.stats
        finished = False
        try:
            for piece in self.pieces:
                if self.delay:
                    time.sleep(self.delay)
                self.yielded += 1
                yield Text(piece)
            finished = True
        finally:
            if not finished:
                self.closed_early += 1
        yield Done(replace(stats, output_tokens=len(self.pieces), finish_reason="stop"))

    def close(self) -> None:
        self.real.close()


def opener(
    path: Path | None = None, *, n_ctx: int = 2048, max_tokens: int = 8,
    plain: bool | None = None, pack_budget: int = BUDGET, memory: MemorySplit | None = None,
    opened: list[Opened] | None = None, script: list[str] | None = None, delay: float = 0.0,
) -> Opener:  # fmt: skip
    """An opener loading ``path`` (default: the embedded Gemma) with a small context.

    With ``script``, answers are that fixed stream (:class:`ScriptedBackend`), not the model's.
    """

    def open_(warn: Warn) -> Opened:
        model = path or fallback_model_path()
        backend: Any = load(model, n_ctx=n_ctx)
        if script is not None:
            backend = ScriptedBackend(backend, script, delay)
        is_plain = not backend.has_chat_template if plain is None else plain
        options = chat_options(is_plain, max_tokens, False if not is_plain else None)
        if not is_plain:  # greedy for chat models too: deterministic tests
            from dataclasses import replace

            options = replace(options, temperature=0.0)
        result = Opened(backend, pack_budget, options, is_plain, "test", memory)
        if opened is not None:
            opened.append(result)
        return result

    return open_


def what_if_memory(path: Path, n_ctx: int) -> MemorySplit | None:
    """A memory split planned for a named card: the same numbers on every machine."""
    from repoctx.budget import what_if

    return memory_split(path, n_ctx, device=what_if("rtx4090"))


class FixedClock:
    """The session clock for screenshots: always the same instant, so every shown duration
    and rate is the same on every run (0 s, 0 tok/s)."""

    def __call__(self) -> float:
        return 1000.0


class Recorder:
    """``message_hook`` for ``run_test``: keeps the app's own messages (messages.py)."""

    def __init__(self) -> None:
        self.seen: list[Message] = []

    def __call__(self, message: Message) -> None:
        if type(message).__module__ == msg.__name__:
            self.seen.append(message)

    def of(self, kind: type[T]) -> list[T]:
        return [m for m in self.seen if isinstance(m, kind)]

    def names(self) -> list[str]:
        return [type(m).__name__ for m in self.seen]


async def wait_for(predicate: Callable[[], Any], timeout: float = 90.0) -> None:
    """Poll without Pilot.pause (which pings every widget and slows a long wait)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {predicate}")
        await asyncio.sleep(0.02)


async def ready(app: RepoctxApp) -> None:
    """Wait until the repo is scanned, the model loaded (or failed) and the first pack done."""
    await wait_for(
        lambda: app.session is not None and app.session.pack is not None and not app.busy
    )


async def ask(app: RepoctxApp, pilot: Any, question: str) -> None:
    """Type ``question`` into the question box, press Enter, wait for the answer to end."""
    assert app.session is not None
    asked = len(app.session.turns)
    app.query_one("#question").focus()
    await pilot.press(*question)
    await pilot.press("enter")
    await wait_for(lambda: len(app.session.turns) > asked and not app.busy)
    await pilot.pause()


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(scenario())  # type: ignore[arg-type]
