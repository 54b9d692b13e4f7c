"""knapsack: what gets full text, by value per token rather than by rank alone.

A file's value is the model's probability that the developer needs it; its cost is its
tokens. Greedy by value per token (with a smoothing constant, so a 3-token file does not
win on ratio alone) is within one item of the optimal fractional knapsack, and the
budget's few dozen candidates make anything cleverer pointless. The focus itself comes
first but may degrade: full text only while it leaves room for the rest, else its
skeleton, and no skeleton may cost more than ``SKELETON_CAP`` of the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FOCUS_SHARE = 0.5  # the focus keeps full text while it costs at most this share
SKELETON_CAP = 0.25  # no skeleton may cost more than this share of the budget
FULL_SHARE = 0.8  # full text may take this share of what the focus leaves
SMOOTH = 400  # tokens added to every cost when ranking by value per token
MIN_VALUE = 0.02  # below this probability a file is not worth a token


@dataclass(frozen=True, slots=True)
class Item:
    path: str
    value: float  # probability that the file is needed, 0..1
    full: int  # tokens of its full text (with its wrapper)
    skeleton: int | None  # tokens of its skeleton, None when it has none


@dataclass(frozen=True, slots=True)
class Plan:
    full: tuple[str, ...]  # in the order chosen
    skeleton: tuple[str, ...]


def plan(focus: Sequence[Item], items: Sequence[Item], budget: int) -> Plan:
    """Full text and skeletons for ``budget`` tokens: the focus first, then by value/token."""
    full: list[str] = []
    skeleton: list[str] = []
    left = budget
    for item in focus:
        if item.full <= budget * FOCUS_SHARE and item.full <= left:
            full.append(item.path)
            left -= item.full
        elif item.skeleton is not None and item.skeleton <= min(left, budget * SKELETON_CAP):
            skeleton.append(item.path)
            left -= item.skeleton
    worth = [i for i in items if i.value >= MIN_VALUE]
    full_left = left * FULL_SHARE
    for item in sorted(worth, key=lambda i: (-i.value / (i.full + SMOOTH), i.path)):
        if item.full <= full_left:
            full.append(item.path)
            full_left -= item.full
            left -= item.full
    chosen = set(full)
    for item in sorted(worth, key=lambda i: (-i.value, i.path)):
        if item.path in chosen or item.skeleton is None:
            continue
        if item.skeleton <= min(left, budget * SKELETON_CAP):
            skeleton.append(item.path)
            left -= item.skeleton
    return Plan(tuple(full), tuple(skeleton))
