"""The repository tree: every file with its tier badge and tokens, and the pin/drop/focus keys.

The tree shows what the model sees. Badges come from the last pack; marks (pinned, dropped,
focused) from the session and take effect at the next re-pack, which the status line says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from repoctx.review.ask import MarkKind

if TYPE_CHECKING:
    from repoctx.packing.pack import Pack, PackEntry
    from repoctx.scanning.repo import Repo

Mark = MarkKind
BADGES: dict[str, tuple[str, str]] = {
    "full": ("F", "bold black on green"),
    "skeleton": ("S", "bold black on yellow"),
    "listed": ("L", "black on grey70"),
    "excluded": ("X", "bold white on red"),
}
MARKS: dict[Mark, tuple[str, str]] = {
    "pin": ("▲", "bold green"),
    "drop": ("✕", "bold red"),
    "focus": ("◉", "bold cyan"),
}


def short_tokens(n: int | None) -> str:
    """1234 → 1.2k: the tree column is narrow at 80×24."""
    if n is None:
        return "–"
    if n < 1000:
        return str(n)
    if n < 10_000:
        return f"{n / 1000:.1f}k"
    return f"{n // 1000}k"


class RepoTree(Tree[str]):
    """Tree[str] whose node data is the repo-relative path (directories end with '/')."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "mark('pin')", "Pin"),
        Binding("d", "mark('drop')", "Drop"),
        Binding("f", "mark('focus')", "Focus"),
        Binding("r", "app.repack", "Re-pack"),
    ]

    class Toggle(Message):
        """The user pinned, dropped or focused ``path`` (or undid it)."""

        def __init__(self, kind: Mark, path: str) -> None:
            super().__init__()
            self.kind, self.path = kind, path

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("repository", data="", id=id)
        self.show_root = False
        self.guide_depth = 2
        self._dirs: dict[str, TreeNode[str]] = {}
        self._files: dict[str, TreeNode[str]] = {}
        self._repo: Repo | None = None
        self._entries: dict[str, PackEntry] = {}
        self._marks: dict[str, list[Mark]] = {}

    def show_repo(self, repo: Repo) -> None:
        """Build the tree: directories first, then files, each sorted by name."""
        self._repo = repo
        self.clear()
        self._dirs, self._files = {"": self.root}, {}
        for path in sorted(repo.files, key=lambda p: (p.count("/"), p)):
            self._dir_node(path.rpartition("/")[0])
        for path in sorted(repo.files):
            parent = self._dir_node(path.rpartition("/")[0])
            self._files[path] = parent.add_leaf(path.rpartition("/")[2], data=path)
        self.root.expand()
        for child in self.root.children:
            child.expand()
        self.relabel()

    def _dir_node(self, directory: str) -> TreeNode[str]:
        if directory in self._dirs:
            return self._dirs[directory]
        parent = self._dir_node(directory.rpartition("/")[0])
        node = parent.add(directory.rpartition("/")[2] + "/", data=directory + "/")
        self._dirs[directory] = node
        return node

    def show_pack(self, pack: Pack) -> None:
        self._entries = {e.path: e for e in pack.files}
        self.relabel()

    def set_marks(self, marks: dict[str, list[Mark]]) -> None:
        self._marks = marks
        self.relabel()

    def relabel(self) -> None:
        totals: dict[str, int] = {}
        for path, node in self._files.items():
            node.set_label(self._file_label(path, totals))
        for directory, node in self._dirs.items():
            if directory:
                label = Text(directory.rpartition("/")[2] + "/", style="bold")
                if self._entries:
                    label.append(f" {short_tokens(totals.get(directory, 0))}", style="dim")
                node.set_label(label)

    def _file_label(self, path: str, totals: dict[str, int]) -> Text:
        label = Text(path.rpartition("/")[2])
        for mark in self._marks.get(path, []):
            symbol, style = MARKS[mark]
            label.append(f" {symbol}", style=style)
        entry = self._entries.get(path)
        if entry is None:
            tokens = self._repo.files[path].tokens if self._repo else None
            label.append(f" {short_tokens(tokens)}", style="dim")
            return label
        letter, style = BADGES[entry.tier]
        label.append(" ")
        label.append(f"{letter}", style=style)
        label.append(f" {short_tokens(entry.tokens or entry.full_tokens)}", style="dim")
        directory = path.rpartition("/")[0]
        while directory:
            totals[directory] = totals.get(directory, 0) + entry.tokens
            directory = directory.rpartition("/")[0]
        return label

    def dir_summary(self, directory: str) -> tuple[int, int]:
        """(files under ``directory``, their tokens in the pack)."""
        paths = [p for p in self._files if p.startswith(directory)]
        return len(paths), sum(self._entries[p].tokens for p in paths if p in self._entries)

    @property
    def selected_path(self) -> str | None:
        """The highlighted file, or None on a directory."""
        node = self.cursor_node
        if node is None or not node.data or node.data.endswith("/"):
            return None
        return node.data

    def action_mark(self, kind: Mark) -> None:
        path = self.selected_path
        if path is None:
            self.notify("Select a file first (pin, drop and focus work on files)")
            return
        self.post_message(self.Toggle(kind, path))
