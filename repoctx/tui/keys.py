"""The key map, one table: the help screen renders it and a test checks docs/tui.md against it."""

from __future__ import annotations

KEYMAP: tuple[tuple[str, str, str], ...] = (  # (keys, where, what)
    ("Enter", "question box", "ask the question"),
    ("Esc", "anywhere", "stop the answer being generated"),
    ("ctrl+r", "anywhere", "re-pack with your pins, drops and focus (the repo is read again)"),
    ("ctrl+s", "anywhere", "save the conversation as Markdown"),
    ("F1", "anywhere", "this help"),
    ("ctrl+p", "anywhere", "command palette (every action below, by name)"),
    ("tab / shift+tab", "anywhere", "move between the tree, the chat and the question box"),
    ("ctrl+q", "anywhere", "quit (stops a running answer first)"),
    ("↑ ↓ ← →, Enter", "tree", "move, open or close a folder; the detail shows the file"),
    ("p", "tree", "pin the file: always full text"),
    ("d", "tree", "drop the file: path only"),
    ("f", "tree", "focus the file: rank it and its neighbours first"),
    ("r", "tree", "re-pack (same as ctrl+r)"),
)

LEGEND: tuple[tuple[str, str], ...] = (
    ("F", "full text"),
    ("S", "signature skeleton"),
    ("L", "path only (listed)"),
    ("X", "excluded (binary, generated, too large, unreadable)"),
    ("▲ ✕ ◉", "pinned, dropped, focus (applied at the next re-pack)"),
)


def keymap_markdown() -> str:
    """The key map and badge legend as Markdown tables."""
    lines = ["| Keys | Where | What |", "|---|---|---|"]
    lines += [f"| `{k}` | {w} | {what} |" for k, w, what in KEYMAP]
    lines += ["", "| Badge | Meaning |", "|---|---|"]
    lines += [f"| `{b}` | {m} |" for b, m in LEGEND]
    return "\n".join(lines) + "\n"
