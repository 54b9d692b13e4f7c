"""What the workers tell the widgets. Workers never touch widgets: they post these.

Posted from thread workers with ``App.post_message`` (thread-safe); handled on the UI loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from repoctx.packing.pack import Pack
    from repoctx.review.ask import Ingest, Turn
    from repoctx.scanning.repo import Repo
    from repoctx.tui.model import Opened


class ScanProgress(Message):
    def __init__(self, stage: str, done: int, total: int) -> None:
        super().__init__()
        self.stage, self.done, self.total = stage, done, total


class RepoScanned(Message):
    def __init__(self, repo: Repo) -> None:
        super().__init__()
        self.repo = repo


class ModelReady(Message):
    def __init__(self, opened: Opened) -> None:
        super().__init__()
        self.opened = opened


class Failed(Message):
    """A fault in a worker: shown as a notification and a line in the chat."""

    def __init__(self, what: str, error: str) -> None:
        super().__init__()
        self.what, self.error = what, error


class Warned(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class Packed(Message):
    def __init__(self, pack: Pack) -> None:
        super().__init__()
        self.pack = pack


class IngestProgress(Message):
    def __init__(self, ingest: Ingest) -> None:
        super().__init__()
        self.ingest = ingest


class IngestDone(Message):
    def __init__(self, prefix_tokens: int) -> None:
        super().__init__()
        self.prefix_tokens = prefix_tokens


class AnswerChunk(Message):
    """A batch of streamed text, answer or thinking; ``pieces``: streamed pieces (≈ tokens)."""

    def __init__(self, text: str, thinking: bool, pieces: int) -> None:
        super().__init__()
        self.text, self.thinking, self.pieces = text, thinking, pieces


class AnswerEnded(Message):
    """The turn is over: done, cancelled or failed (``turn.status`` says which)."""

    def __init__(self, turn: Turn) -> None:
        super().__init__()
        self.turn = turn
