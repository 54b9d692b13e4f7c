"""selection: which tier each file gets, greedy by relevance within the token budget.

The packer's decision half (``packer`` renders and fixes up the exact count): full text
for the most relevant files up to a share of the budget, skeletons for the next, then a
second pass that spends what is left on upgrades. A caller with its own plan (multi-pack
reviews) passes fixed tiers instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from repoctx.graph.order import Ranking
from repoctx.packing.bodies import Bodies
from repoctx.packing.render import (
    Block,
    Format,
    TreeMark,
    block_wrapper,
    closing,
    preamble,
    tree_depth,
    tree_text,
)
from repoctx.scanning.repo import Repo
from repoctx.types import Tier

MAX_SHARE = 0.25  # no single unfocused file may take more than this share of the budget
TREE_SHARE = 0.15  # the directory tree collapses until it fits this share
# Full text may take this share of the budget in the first pass; skeletons of the next files
# get the rest, and whatever is left then upgrades skeletons to full text. Breadth first:
# on a repo far larger than the budget, the model sees the shape of many modules.
FULL_SHARE = 0.6
COUNT_AHEAD = 64  # files counted together (threads) as the selection walks the ranking
MAX_SKELETON_SHARE = 0.25  # nor may a skeleton: a 15K-token outline crowds out everything
MAX_BYTES_PER_TOKEN = 12  # a size-based lower bound on tokens for files not counted yet


@dataclass(slots=True)
class Choice:
    tier: Tier
    reason: str


class Selector:
    """Greedy by relevance: full text if it fits its share, else skeleton, else path."""

    def __init__(self, repo: Repo, fmt: Format, budget: int, boundary: str,
                 bodies: Bodies, ranking: Ranking, favoured: set[str],
                 full_share: float, outlined: frozenset[str] = frozenset()) -> None:
        self.repo, self.fmt, self.budget, self.boundary = repo, fmt, budget, boundary
        self.bodies, self.ranking, self.favoured = bodies, ranking, favoured
        # files the relevance plan gave a skeleton: no full text in the first pass (the
        # second pass may still upgrade them with what is left)
        self.outlined = outlined
        self.full_share = full_share
        self.tree_depth: int | None = None
        self.emitted: set[str] = set()
        self.full_spent = 0
        self.cost_memo: dict[str, tuple[int, int | None]] = {}
        self.fixed_mode = False
        # every block costs at least its wrapper with an empty path
        self.min_wrapper = repo.counter.count(block_wrapper(fmt, Block("", None, "full", ""),
                                                            boundary)) - 2

    def select(self, pinned: set[str], dropped: set[str]) -> dict[str, Choice]:
        """Two passes over the ranking: full text up to its share, skeletons for the rest,
        then upgrade skeletons (and paths) to full text while the budget allows."""
        choices = self._initial_choices(dropped)
        head = self._head_cost(choices)
        remaining = self.budget - head - self.repo.counter.count(closing(self.fmt))
        remaining -= 8 + self.budget // 500  # boundary merges: fixed up exactly afterwards
        full_cap = max(0, remaining) * self.full_share
        order = [p for p in self.ranking.order if p in pinned] + \
                [p for p in self.ranking.order if p not in pinned]
        candidates = [p for p in order if p in choices and choices[p].tier == "listed"
                      and p not in dropped and self.repo.files[p].packable]
        for start in range(0, len(candidates), COUNT_AHEAD):
            chunk = candidates[start:start + COUNT_AHEAD]
            # Count (lazily scanned repos) only the files that could still fit at all.
            self.repo.ensure_counts([p for p in chunk if self._floor(p) < remaining])
            for path in chunk:
                remaining -= self._place(path, choices[path], remaining, full_cap)
        for path in candidates:
            remaining -= self._upgrade(path, choices[path], remaining)
        return choices

    def select_fixed(self, fixed: Mapping[str, tuple[Tier, str]]) -> dict[str, Choice]:
        """The caller's tiers verbatim; only the tree may still collapse to make room."""
        choices = self._initial_choices(set())
        for choice in choices.values():
            if choice.tier == "listed":
                choice.reason = "not in this pack"
        for path, (tier, reason) in fixed.items():
            choices[path] = Choice(tier, reason)
            if tier in ("full", "skeleton"):
                self.emitted.add(path)
        self._head_cost(choices)
        self.fixed_mode = True
        return choices

    def _initial_choices(self, dropped: set[str]) -> dict[str, Choice]:
        choices: dict[str, Choice] = {}
        for path, entry in self.repo.files.items():
            if entry.skip is not None:
                choices[path] = Choice(entry.skip.tier, entry.skip.reason)
            elif not entry.packable:
                choices[path] = Choice("excluded", "unreadable")
            elif path in dropped:
                choices[path] = Choice("listed", "dropped by user")
            else:
                choices[path] = Choice("listed", "budget")
        return choices

    def _head_cost(self, choices: dict[str, Choice]) -> int:
        """Cost of summary + tree, collapsing the tree until it fits its share."""
        marks: list[tuple[str, TreeMark]] = [
            (p, "listed") for p, c in choices.items() if c.tier != "excluded"
        ]
        depth, cost = self._tree_fit(marks)
        self.tree_depth = depth
        summary = summary_text(self.repo, choices)
        head = preamble(self.fmt, self.repo.name, summary, "", self.boundary)
        # the summary's counts change after selection: leave room for a few more digits
        return cost + self.repo.counter.count(head) + 16

    def _tree_fit(self, marks: list[tuple[str, TreeMark]]) -> tuple[int | None, int]:
        """(depth, tokens) of the deepest tree within its share (None: uncollapsed; 0 when
        even the top level is over). Binary search: a deep repo's tree is ~100K tokens to
        count at each depth tried, and its cost only grows with the depth."""
        limit = self.budget * TREE_SHARE
        cost = self.repo.counter.count(tree_text(marks))
        if cost <= limit:
            return None, cost
        lo, hi = 0, tree_depth(p for p, _ in marks)  # answer in [lo, hi]
        costs: dict[int, int] = {}
        while lo < hi:
            mid = (lo + hi + 1) // 2
            costs[mid] = self.repo.counter.count(tree_text(marks, mid))
            if costs[mid] <= limit:
                lo = mid
            else:
                hi = mid - 1
        if lo not in costs:
            costs[lo] = self.repo.counter.count(tree_text(marks, lo))
        return lo, costs[lo]

    def _costs(self, path: str) -> tuple[int, int | None]:
        """Tokens of the file's block in full and (if it has one) as a skeleton."""
        known = self.cost_memo.get(path)
        if known is None:
            known = self.cost_memo[path] = self._count_costs(path)
        return known

    def _floor(self, path: str) -> int:
        """A lower bound on what the file can cost, without tokenizing its wrapper (and,
        for a file not counted yet, from its size: code rarely packs more bytes a token)."""
        entry = self.repo.files[path]
        if entry.tokens is None or entry.skeleton_tokens is None:
            return entry.size // MAX_BYTES_PER_TOKEN + self.min_wrapper
        has_skeleton = self.bodies.has_skeleton(path)
        body = min(entry.tokens or 0, entry.skeleton_tokens or 0) if has_skeleton \
            else entry.tokens or 0
        return body + self.min_wrapper

    def _count_costs(self, path: str) -> tuple[int, int | None]:
        self.repo.ensure_counts([path])
        entry = self.repo.files[path]
        block = Block(path, entry.language, "full", "")
        wrapper = self.repo.counter.count(block_wrapper(self.fmt, block, self.boundary))
        full_cost = wrapper + (entry.tokens or 0)
        if not self.bodies.has_skeleton(path) or entry.skeleton_tokens is None:
            return full_cost, None
        skeleton_cost = wrapper + entry.skeleton_tokens + 6  # + the "[skeleton]" note
        return full_cost, skeleton_cost if skeleton_cost < full_cost else None

    def _share_ok(self, path: str, full_cost: int) -> bool:
        return path in self.favoured or full_cost <= self.budget * MAX_SHARE

    def _place(self, path: str, choice: Choice, remaining: int, full_cap: float) -> int:
        if self._floor(path) >= remaining:
            return 0  # cannot fit in any tier: stays a path ("budget")
        full_cost, skeleton_cost = self._costs(path)
        share_ok = self._share_ok(path, full_cost)
        within_cap = path in self.favoured or self.full_spent + full_cost <= full_cap
        if path not in self.outlined and full_cost <= remaining and share_ok and within_cap:
            choice.tier, choice.reason = "full", self.ranking.reason.get(path, "rank")
            self.full_spent += full_cost
            self.emitted.add(path)
            return full_cost
        skeleton_ok = path in self.favoured or (skeleton_cost or 0) <= self.budget * \
            MAX_SKELETON_SHARE
        if skeleton_cost is not None and skeleton_cost <= remaining and skeleton_ok:
            choice.tier = "skeleton"
            choice.reason = "budget" if share_ok else "too large for its share of the budget"
            self.emitted.add(path)
            return skeleton_cost
        choice.reason = "budget" if share_ok else "too large for the budget"
        return 0

    def _upgrade(self, path: str, choice: Choice, remaining: int) -> int:
        """Second pass: spend what is left on full text, most relevant first."""
        if choice.tier == "full" or (choice.tier == "listed" and self._floor(path) >= remaining):
            return 0
        full_cost, skeleton_cost = self._costs(path)
        already = skeleton_cost if choice.tier == "skeleton" and skeleton_cost else 0
        if not self._share_ok(path, full_cost) or full_cost - already > remaining:
            return 0
        choice.tier, choice.reason = "full", self.ranking.reason.get(path, "rank")
        self.emitted.add(path)
        return full_cost - already

    def demote_last(self, choices: dict[str, Choice]) -> bool:
        """Step the least relevant emitted file down one tier, else collapse the tree."""
        for path in ([] if self.fixed_mode else reversed(self.ranking.order)):
            if path not in self.emitted:
                continue
            choice = choices[path]
            if choice.tier == "full" and self._costs(path)[1] is not None:
                choice.tier, choice.reason = "skeleton", "budget"
            else:
                self.emitted.discard(path)
                choice.tier, choice.reason = "listed", "budget"
            return True
        if self.tree_depth == 0:
            return False
        if self.tree_depth is None:
            shown = (p for p, c in choices.items() if c.tier != "excluded")
            self.tree_depth = tree_depth(shown)
        else:
            self.tree_depth -= 1
        return True


def summary_text(repo: Repo, choices: dict[str, Choice]) -> str:
    by_language: dict[str, int] = {}
    for entry in repo.files.values():
        if entry.skip is None:
            key = entry.language or "other"
            by_language[key] = by_language.get(key, 0) + 1
    languages = ", ".join(f"{name} {count}" for name, count in
                          sorted(by_language.items(), key=lambda item: (-item[1], item[0])))
    tally = {"full": 0, "skeleton": 0, "listed": 0, "excluded": 0}
    for choice in choices.values():
        tally[choice.tier] += 1
    lines = [
        f"Repository: {repo.name} ({len(repo.files)} files"
        f"{', git work tree' if repo.is_git else ''})",
        f"Languages: {languages or 'none'}",
        f"In this pack: {tally['full']} files in full text, {tally['skeleton']} as signature "
        f"skeletons, {tally['listed']} by path only, {tally['excluded']} left out.",
    ]
    if repo.graph.cycles:
        lines.append(f"Import cycles: {len(repo.graph.cycles)}")
    return "\n".join(lines)
