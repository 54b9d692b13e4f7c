"""File detail: why a file has its tier, what it imports and what imports it.

The packer records a terse reason per file ("rank", "budget", "dependency of focus"); this
panel turns it into a sentence, because "why is my file only a skeleton?" is the first thing
a user asks when an answer misses something.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.widgets import Static

from repoctx.tui.widgets.tree import BADGES, MARKS, Mark

if TYPE_CHECKING:
    from repoctx.packing.pack import PackEntry
    from repoctx.scanning.repo import Repo

TIER_WORDS = {
    "full": "full text",
    "skeleton": "signatures only (skeleton)",
    "listed": "path only (listed)",
    "excluded": "left out (excluded)",
}
REASONS = {
    "rank": "ranked among the most relevant files of the import graph",
    "focus": "a focus or pinned file",
    "dependency of focus": "imported by a focus file",
    "dependent of focus": "imports a focus file",
    "budget": "the budget ran out before this file",
    "dropped by user": "dropped by you",
}
MARK_WORDS: dict[Mark, str] = {"pin": "pinned", "drop": "dropped", "focus": "focus"}
MAX_LISTED = 6


def explain(reason: str) -> str:
    head, _, note = reason.partition("; ")
    words = REASONS.get(head, head)
    return f"{words} ({note})" if note else words


class FileDetail(Static):
    """Shows one file; empty until a file is highlighted in the tree."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("Select a file in the tree to see why it has its tier.", id=id)

    def show(
        self, repo: Repo, path: str, entry: PackEntry | None, marks: list[Mark], *,
        total: int, pending: bool,
    ) -> None:  # fmt: skip
        self.update(describe(repo, path, entry, marks, total=total, pending=pending))


def describe(
    repo: Repo, path: str, entry: PackEntry | None, marks: list[Mark], *,
    total: int, pending: bool,
) -> Text:  # fmt: skip
    """The detail text for ``path`` (``total``: files in the pack, for the position;
    ``pending``: marks changed since the last pack)."""
    file = repo.files[path]
    text = Text(path, style="bold")
    text.append(f"  {file.language or 'text'} · {file.lines:,} lines\n", style="dim")
    if entry is None:
        text.append("not packed yet\n", style="italic")
    else:
        letter, style = BADGES[entry.tier]
        text.append(letter, style=style)
        text.append(f" {TIER_WORDS[entry.tier]}: {entry.tokens:,} of ")
        text.append(f"{entry.full_tokens or 0:,} tokens")
        if entry.position is not None:
            text.append(f", #{entry.position + 1} of {total}", style="dim")
        text.append(f"\nwhy: {explain(entry.reason)}\n")
    for mark in marks:
        symbol, style = MARKS[mark]
        text.append(f"{symbol} {MARK_WORDS[mark]}  ", style=style)
    if marks:
        text.append("(re-pack to apply)\n" if pending else "\n", style="dim")
    imports = sorted({e.target for e in repo.graph.edges if e.source == path})
    importers = sorted({e.source for e in repo.graph.edges if e.target == path})
    _paths(text, "imports", imports)
    _paths(text, "imported by", importers)
    return text


def _paths(text: Text, title: str, paths: list[str]) -> None:
    text.append(f"{title} ({len(paths)})", style="bold")
    text.append(": " if paths else "\n")
    shown = paths[:MAX_LISTED]
    if shown:
        text.append(", ".join(shown))
        more = len(paths) - len(shown)
        text.append(f" +{more} more\n" if more else "\n", style="dim")
