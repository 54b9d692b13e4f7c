"""The budget gauge: where the device's memory goes, and how much of the packing budget is used.

Two lines so it fits 80×24: memory split into weights / KV cache / DeltaNet state / compute /
free (from the budget planner), then the pack's tokens of its budget with the tier counts.
Bars stretch with the terminal; the legend shortens before the bars vanish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from repoctx.units import GiB

if TYPE_CHECKING:
    from repoctx.packing.pack import Pack
    from repoctx.tui.model import MemorySplit

SEGMENTS = (  # (field, short label, long label, colour)
    ("weights", "W", "weights", "dodger_blue1"),
    ("kv", "KV", "KV", "magenta"),
    ("state", "St", "state", "cyan"),
    ("compute", "C", "compute", "yellow"),
    ("free", "free", "free", "grey50"),
)
MIN_BAR = 8


def gib(n: int) -> str:
    value = n / GiB
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def bar(parts: list[tuple[int, str]], width: int, total: int) -> Text:
    """A horizontal bar of ``width`` cells split in proportion to ``parts``."""
    out = Text()
    used = 0
    for i, (value, style) in enumerate(parts):
        cells = width - used if i == len(parts) - 1 else round(width * value / max(total, 1))
        cells = max(0, min(cells, width - used))
        out.append("█" * cells if style != "grey50" else "░" * cells, style=style)
        used += cells
    return out


class BudgetGauge(Widget):
    """Memory split (when the planner knows the model) and pack tokens; redrawn on resize."""

    DEFAULT_CSS = "BudgetGauge { height: 2; }"
    memory: reactive[MemorySplit | None] = reactive(None, layout=False)
    pack: reactive[Pack | None] = reactive(None, layout=False)
    note: reactive[str] = reactive("loading the model…")

    def render(self) -> Text:
        width = self.size.width or 80
        return Text("\n").join([self._memory_line(width), self._pack_line(width)])

    def _memory_line(self, width: int) -> Text:
        split = self.memory
        if split is None:
            return Text(f"memory  {self.note}", style="dim")
        values = [getattr(split, name) for name, *_ in SEGMENTS]
        total = max(split.total, sum(values))
        head = Text(f"{'GPU' if split.is_gpu else 'RAM'} {gib(split.total)}G ", style="bold")
        for long in (True, False):
            legend = Text()
            for (_name, short, label, style), value in zip(SEGMENTS, values, strict=True):
                legend.append(" ■" if label != "free" else " □", style=style)
                legend.append(f"{label if long else short} {gib(value)}")
            room = width - head.cell_len - legend.cell_len
            if room >= MIN_BAR or not long:
                break
        parts = [(v, seg[3]) for seg, v in zip(SEGMENTS, values, strict=True)]
        return head + bar(parts, max(room, MIN_BAR), total) + legend

    def _pack_line(self, width: int) -> Text:
        packed = self.pack
        if packed is None:
            return Text("pack    not packed yet", style="dim")
        counts = packed.counts()
        head = Text("pack ", style="bold")
        tail = Text(f" {packed.total_tokens:,}/{packed.budget:,} tok")
        tail.append(f" {counts['full']}F {counts['skeleton']}S {counts['listed']}L", style="dim")
        room = max(MIN_BAR, width - head.cell_len - tail.cell_len)
        used = min(packed.total_tokens, packed.budget)
        parts = [(used, "green"), (packed.budget - used, "grey50")]
        return head + bar(parts, room, packed.budget) + tail
