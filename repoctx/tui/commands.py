"""Command-palette entries (ctrl+p) for every action the keys reach, found by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.widgets import Input

from repoctx.tui.widgets.tree import RepoTree

if TYPE_CHECKING:
    from repoctx.tui.app import RepoctxApp


def palette(app: RepoctxApp) -> Iterator[SystemCommand]:
    tree = app.query_one(RepoTree)
    yield SystemCommand("Ask a question", "Focus the question box",
                        lambda: app.query_one("#question", Input).focus())  # fmt: skip
    yield SystemCommand("Pin file", "Pin the selected file (always full text)",
                        lambda: tree.action_mark("pin"))  # fmt: skip
    yield SystemCommand("Drop file", "Drop the selected file (path only)",
                        lambda: tree.action_mark("drop"))  # fmt: skip
    yield SystemCommand("Focus file", "Focus the selected file (rank around it)",
                        lambda: tree.action_mark("focus"))  # fmt: skip
    yield SystemCommand("Re-pack", "Apply pins, drops and focus (ctrl+r)", app.action_repack)
    yield SystemCommand("Stop the answer", "Cancel generation (Esc)", app.action_cancel)
    yield SystemCommand("Save transcript", "Write the chat as Markdown (ctrl+s)",
                        app.action_save)  # fmt: skip
    yield SystemCommand("Keys", "Show the key map (F1)", app.action_help)
