"""The left column: the repo tree over the detail of the highlighted file.

It reads the session (pack, marks) but never changes it: the tree's pin/drop/focus keys post
:class:`RepoTree.Toggle`, which the app applies, then calls :meth:`SidePanel.refresh_session`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Tree

from repoctx.tui.widgets.detail import FileDetail
from repoctx.tui.widgets.tree import RepoTree

if TYPE_CHECKING:
    from repoctx.review.ask import AskSession


class SidePanel(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.session: AskSession | None = None

    def compose(self) -> ComposeResult:
        yield RepoTree(id="tree")
        yield FileDetail(id="detail")

    @property
    def repo_tree(self) -> RepoTree:
        return self.query_one(RepoTree)

    def show_session(self, session: AskSession) -> None:
        """A new session (the repo was scanned): build the tree."""
        self.session = session
        self.repo_tree.show_repo(session.repo)

    def refresh_session(self) -> None:
        """After a pack or a mark: badges, marks and the detail."""
        if self.session is None:
            return
        if self.session.pack is not None:
            self.repo_tree.show_pack(self.session.pack)
        self.repo_tree.set_marks(self.session.marks())
        self.show_detail()

    @on(Tree.NodeHighlighted)
    def show_detail(self) -> None:
        tree, s = self.repo_tree, self.session
        node = tree.cursor_node
        if s is None or node is None or not node.data:
            return
        detail = self.query_one(FileDetail)
        if node.data.endswith("/"):
            files, tokens = tree.dir_summary(node.data)
            detail.update(f"{node.data}\n{files} files, {tokens:,} tokens in the pack")
            return
        entries = {e.path: e for e in s.pack.files} if s.pack else {}
        marks = s.marks().get(node.data, [])
        detail.show(s.repo, node.data, entries.get(node.data), marks, total=len(entries),
                    pending=s.changes > 0)  # fmt: skip
