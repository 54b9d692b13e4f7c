"""The chat: questions, answers streamed as Markdown, thinking folded away, costs per answer.

Answer text goes through Textual's ``MarkdownStream``, which merges fragments that arrive
faster than the widget can re-render; the worker already batches tokens (work.py), so a fast
model costs at most ~20 updates a second. Thinking is kept in a collapsed block: it is long
and, for most questions, not what the user wants to read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Collapsible, Markdown, Static

if TYPE_CHECKING:
    from textual.widgets.markdown import MarkdownStream

    from repoctx.review.ask import Ingest, Turn

Clock = Callable[[], float]


class ChatNote(Static):
    """A line from the app itself: welcome, warnings, faults."""


class Question(Static):
    pass


class TurnView(Vertical):
    """One answer: thinking (collapsed), the Markdown answer, and a line of progress/costs."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock
        self.thinking = Static("", classes="thinking-text")
        self.fold = Collapsible(self.thinking, title="thinking", collapsed=True)
        self.answer = Markdown("", classes="answer")
        self.meta = Static("waiting for the model…", classes="meta")
        self._stream: MarkdownStream | None = None
        self._thought = ""
        self._pieces = 0
        self._started: float | None = None

    def compose(self) -> ComposeResult:
        yield self.fold
        yield self.answer
        yield self.meta

    def on_mount(self) -> None:
        self.fold.display = False
        self._stream = Markdown.get_stream(self.answer)

    def ingest(self, progress: Ingest) -> None:
        eta = f" · ETA {progress.eta_s:.0f} s" if progress.eta_s is not None else ""
        self.meta.update(
            f"reading the repo: {progress.done:,}/{progress.total:,} tokens · "
            f"{progress.tokens_per_s:,.0f} tok/s{eta}"
        )

    def ingested(self, tokens: int) -> None:
        self.meta.update(f"repo read ({tokens:,} tokens, kept for later questions) · answering…")

    async def add(self, text: str, thinking: bool, pieces: int) -> None:
        if not self.is_attached:  # the app is exiting (quit timed out): nothing to show it on
            return
        if self._started is None:
            self._started = self.clock()
        self._pieces += pieces
        if thinking:
            self._thought += text
            self.fold.display = True
            self.fold.title = f"thinking ({self._pieces:,} tokens so far)"
            self.thinking.update(self._thought)
        elif self._stream is not None:
            await self._stream.write(text)
        elapsed = self.clock() - self._started
        rate = self._pieces / elapsed if elapsed > 0 else 0.0
        self.meta.update(f"answering · {self._pieces:,} tokens · {rate:,.1f} tok/s · Esc stops")

    async def finish(self, turn: Turn) -> None:
        """Final text from the turn (what the transcript saves) and its one-line summary."""
        if not self.is_attached:
            return
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        if turn.thinking:
            self.fold.title = "thinking"
        if not turn.answer.strip() and turn.status == "done":
            await self.answer.update("_(the model returned no text)_")
        self.meta.update(turn.summary())
        self.set_class(turn.status != "done", "stopped")


class ChatView(VerticalScroll):
    """The conversation; stays scrolled to the newest line unless the user scrolls up."""

    def on_mount(self) -> None:
        self.anchor()

    def note(self, text: str, kind: str = "info") -> ChatNote:
        line = ChatNote(text, classes=kind)
        self.mount(line)
        return line

    def begin(self, question: str, clock: Clock) -> TurnView:
        self.mount(Question(f"› {question}"))
        view = TurnView(clock)
        self.mount(view)
        return view
