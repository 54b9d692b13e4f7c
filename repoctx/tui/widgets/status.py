"""The status line: repo, model, and whether the repo prefix is warm, cold or stale.

This is where the §4 prefix reuse becomes visible: "warm" means the next question evaluates
only itself; a re-pack turns it "cold" (the next question reads the repo again), and marks
not yet applied turn it "stale".
"""

from __future__ import annotations

from typing import Literal

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

State = Literal["loading", "no model", "cold", "reading", "warm", "uncached", "stale", "busy"]
STYLES: dict[str, str] = {
    "loading": "bold blue", "no model": "bold red", "cold": "bold yellow",
    "reading": "bold blue", "warm": "bold green", "uncached": "bold", "stale": "bold orange1",
    "busy": "bold blue",
}  # fmt: skip


def describe(state: State, tokens: int, changes: int) -> str:
    """What the state means for the next question, in words."""
    if state == "warm":
        return f"warm: repo kept ({tokens:,} tok)"
    if state == "cold":
        return "cold: next question reads the repo"
    if state == "stale":
        return f"stale: {changes} change{'s' if changes != 1 else ''}, ctrl+r re-packs"
    if state == "uncached":
        return "server: prefix cache is the server's"
    if state == "reading":
        return "reading the repo…"
    return {"loading": "loading the model…", "no model": "no model", "busy": "working…"}[state]


class StatusLine(Widget):
    DEFAULT_CSS = "StatusLine { height: 1; }"
    repo: reactive[str] = reactive("")
    model: reactive[str] = reactive("")
    state: reactive[State] = reactive[State]("loading")
    tokens: reactive[int] = reactive(0)
    changes: reactive[int] = reactive(0)
    rate: reactive[str] = reactive("")

    def render(self) -> Text:
        text = Text(f" {self.repo} ", style="bold reverse")
        text.append(f" {self.model} ", style="dim")
        text.append(
            f" {describe(self.state, self.tokens, self.changes)} ", style=STYLES[self.state]
        )
        if self.rate:
            text.append(f" {self.rate}", style="dim")
        return text
