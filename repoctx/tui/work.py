"""The TUI's slow work as plain functions: they run inside Textual thread workers (app.py)
and report only by posting messages, so no widget is ever touched off the UI thread.

Cancellation is a :class:`threading.Event` checked between prefill chunks and between tokens:
llama.cpp cannot be interrupted inside a decode call, but a chunk or a token takes well under
a second, so Esc and quitting take effect almost at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from repoctx.api import scan
from repoctx.errors import RepoctxError
from repoctx.llm.base import Done, Event, Text, Thinking
from repoctx.review.ask import Cancelled, Ingest
from repoctx.tui.messages import (
    AnswerChunk,
    AnswerEnded,
    Failed,
    IngestDone,
    IngestProgress,
    ModelReady,
    Packed,
    RepoScanned,
    ScanProgress,
    Warned,
)

if TYPE_CHECKING:
    from repoctx.review.ask import AskSession
    from repoctx.scanning.scan import Progress
    from repoctx.tui.model import Opener

Post = Callable[[Message], object]
BATCH_S = 0.05  # at most ~20 chat updates a second, however fast the model is


def scan_repo(path: Path, post: Post) -> None:
    def progress(p: Progress) -> None:
        post(ScanProgress(p.stage, p.done, p.total))

    try:
        repo = scan(path, progress=progress)
    except Exception as exc:
        post(Failed("scan", reason(exc)))
        return
    post(RepoScanned(repo))


def load_model(opener: Opener, post: Post) -> None:
    """Load the model; load failures and OOM become a :class:`Failed` message."""

    def warn(text: str) -> None:
        post(Warned(text))

    try:
        opened = opener(warn)
    except Exception as exc:
        post(Failed("model", reason(exc)))
        return
    post(ModelReady(opened))


def repack(session: AskSession, post: Post) -> None:
    try:
        packed = session.repack()
    except Exception as exc:
        post(Failed("pack", reason(exc)))
        return
    post(Packed(packed))


class _Batcher:
    """Joins streamed pieces into chunks posted at most every ``BATCH_S`` seconds."""

    def __init__(self, post: Post) -> None:
        self.post = post
        self.parts: list[str] = []
        self.thinking = False
        self.pieces = 0
        self.last = time.monotonic()

    def add(self, event: Event) -> None:
        if not isinstance(event, Text | Thinking):
            if isinstance(event, Done):
                self.flush()
            return
        thinking = isinstance(event, Thinking)
        if thinking != self.thinking:
            self.flush()
            self.thinking = thinking
        self.parts.append(event.text)
        self.pieces += 1
        if time.monotonic() - self.last >= BATCH_S:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.post(AnswerChunk("".join(self.parts), self.thinking, self.pieces))
            self.parts, self.pieces = [], 0
        self.last = time.monotonic()


def answer(session: AskSession, question: str, post: Post, cancel: threading.Event) -> None:
    """Stream one answer (reading the repo first if it is cold), then post :class:`AnswerEnded`."""
    cold = session.prefix_state == "cold"

    def on_ingest(progress: Ingest) -> None:
        if cancel.is_set():
            raise Cancelled("cancelled while reading the repo")
        post(IngestProgress(progress))

    batcher = _Batcher(post)
    events = session.ask(question, on_ingest)
    try:
        for event in events:
            if cold and session.prefix_state != "cold":
                if session.prefix_state == "warm":  # a server keeps no state to report
                    post(IngestDone(session.prefix_tokens))
                cold = False
            batcher.add(event)  # the turn has recorded it: show it too, even when stopping
            if cancel.is_set():
                events.close()
                break
    except Cancelled:
        pass
    except Exception as exc:
        post(Failed("answer", reason(exc)))
    batcher.flush()
    post(AnswerEnded(session.turns[-1]))


def reason(exc: BaseException) -> str:
    """One line for the user; the exception type where the message says nothing."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(exc, RepoctxError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
