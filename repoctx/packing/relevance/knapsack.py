"""knapsack: what gets full text and what a skeleton, by value per token.

A file's value is the model's probability p that the developer needs it; seeing its
skeleton is worth ``SEEN`` · p, its full text p more. Each file offers two steps — its
skeleton (cost: the skeleton's tokens), then the upgrade to full text (cost: the
difference) — or one step straight to full text when it has no cheaper skeleton (or when
the upgrade is the better buy per token). Steps are taken greedily by value per token
(plus a smoothing constant, so a 3-token file does not win on its ratio alone), each when
it still fits; an upgrade whose skeleton was passed over (it did not pay for itself
alone) buys the full text at once, so a file worth reading whole is not lost for want of
its outline. The greedy solution of this multiple-choice knapsack, within one item of the
optimum, and the budget's few dozen candidates make anything cleverer pointless.

The focus comes first but may degrade: full text only while it costs at most
``FOCUS_SHARE`` of the budget (or ``FOCUS_FLOOR`` tokens), else its skeleton: the developer
already has it open, and a 16K pack holds only two or three 4-5K co-changed files besides.
Its skeleton may take at most ``FOCUS_SKELETON_CAP`` of the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FOCUS_SHARE = 0.10  # the focus keeps full text while it costs at most this share
FOCUS_FLOOR = 2000  # or at most this many tokens: a small focus never degrades
FOCUS_SKELETON_CAP = 0.25  # the focus's own outline may cost up to this share
SEEN = 1.2  # value of a skeleton relative to the upgrade to full text
SMOOTH = 2000  # tokens added to every step's cost when ranking by value per token
MIN_VALUE = 0.005  # below this probability a file is not worth a token


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
    tier: dict[str, str] = {}
    left = budget
    for item in focus:
        if item.full <= max(budget * FOCUS_SHARE, FOCUS_FLOOR) and item.full <= left:
            tier[item.path], left = "full", left - item.full
        elif item.skeleton is not None and item.skeleton <= min(left, budget * FOCUS_SKELETON_CAP):
            tier[item.path], left = "skeleton", left - item.skeleton
    for _, _, step, item in sorted(_steps(items)):
        if tier.get(item.path) == "full" or (step == "skeleton" and item.path in tier):
            continue
        cost = _step_cost(step, item)
        if step == "upgrade" and item.path not in tier:
            step, cost = "full", item.full  # its skeleton was passed over: all at once
        if cost <= left:
            tier[item.path], left = "skeleton" if step == "skeleton" else "full", left - cost
    chosen = [*[i.path for i in focus], *[i.path for _, _, _, i in sorted(_steps(items))]]
    seen: dict[str, None] = dict.fromkeys(p for p in chosen if p in tier)
    return Plan(tuple(p for p in seen if tier[p] == "full"),
                tuple(p for p in seen if tier[p] == "skeleton"))


def _steps(items: Sequence[Item]) -> list[tuple[float, str, str, Item]]:
    """(−value per token, path, step, item) for every step worth taking."""
    steps: list[tuple[float, str, str, Item]] = []
    for item in items:
        if item.value < MIN_VALUE:
            continue
        skeleton = item.skeleton
        two_steps = skeleton is not None and skeleton < item.full - skeleton
        if two_steps and skeleton is not None:
            steps.append((-SEEN * item.value / (skeleton + SMOOTH), item.path, "skeleton", item))
            steps.append((-item.value / (item.full - skeleton + SMOOTH), item.path, "upgrade",
                          item))
        else:
            steps.append((-(1 + SEEN) * item.value / (item.full + SMOOTH), item.path, "full",
                          item))
    return steps


def _step_cost(step: str, item: Item) -> int:
    if step == "skeleton":
        return item.skeleton or 0
    if step == "upgrade":
        return item.full - (item.skeleton or 0)
    return item.full
