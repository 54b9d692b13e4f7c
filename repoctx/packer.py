"""pack: fill a token budget with the repository, most relevant files in full text.

Relevance (``order.rank``) decides each file's tier: full text, signature skeleton, or a
path in the directory tree. Dependency order (``order.dependency_order``) decides where
emitted files go. Files are never split. Per-file token counts make the selection fast;
the final text is then counted exactly (BPE can merge across block boundaries), and the
least relevant emitted file is demoted until the exact count fits: the reported total is
always the token count of the text returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from repoctx.bodies import Bodies
from repoctx.errors import InputError
from repoctx.order import Ranking, dependency_order, rank
from repoctx.render import (
    Block,
    Format,
    TreeMark,
    block_wrapper,
    boundary_for,
    closing,
    preamble,
    render,
    tree_depth,
    tree_text,
)
from repoctx.scanner import Repo, RepoFile
from repoctx.secrets import Redaction
from repoctx.types import Problem, Tier

MAX_SHARE = 0.25  # no single unfocused file may take more than this share of the budget
TREE_SHARE = 0.15  # the directory tree collapses until it fits this share
# Full text may take this share of the budget in the first pass; skeletons of the next files
# get the rest, and whatever is left then upgrades skeletons to full text. Breadth first:
# on a repo far larger than the budget, the model sees the shape of many modules.
FULL_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class PackEntry:
    path: str
    language: str | None
    tier: Tier
    tokens: int  # tokens this file contributes in its tier (0 for listed/excluded)
    full_tokens: int | None  # tokens of the whole file, whatever its tier
    position: int | None
    reason: str


@dataclass(slots=True)
class Pack:
    text: str
    budget: int
    total_tokens: int
    format: Format
    counter: str
    files: list[PackEntry]
    problems: list[Problem] = field(default_factory=list)
    redactions: list[Redaction] = field(default_factory=list)
    redacted: bool = True  # False: the caller asked for secrets to stay (local models only)

    def counts(self) -> dict[str, int]:
        tally = {"full": 0, "skeleton": 0, "listed": 0, "excluded": 0}
        for entry in self.files:
            tally[entry.tier] += 1
        return tally

    def manifest(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "total_tokens": self.total_tokens,
            "format": self.format,
            "tokenizer": self.counter,
            "files": [
                {"path": e.path, "language": e.language, "tier": e.tier, "tokens": e.tokens,
                 "full_tokens": e.full_tokens, "position": e.position, "reason": e.reason}
                for e in self.files
            ],
            "problems": [{"path": p.path, "reason": p.reason} for p in self.problems],
            "secrets_redacted": self.redacted,
            "redactions": [{"path": r.path, "line": r.line, "kind": r.kind}
                           for r in self.redactions],
        }


@dataclass(slots=True)
class _Choice:
    tier: Tier
    reason: str


def pack(
    repo: Repo,
    budget: int,
    *,
    focus: Sequence[str] = (),
    fmt: Format = "xml",
    pinned: Sequence[str] = (),
    dropped: Sequence[str] = (),
    ranking: Ranking | None = None,
    full_share: float = FULL_SHARE,
    redact_secrets: bool = True,
) -> Pack:
    """The repository as one prompt of at most ``budget`` tokens.

    Secrets are redacted from every emitted body unless ``redact_secrets`` is False (for
    local models only: the CLI says so).
    """
    if budget <= 0:
        raise InputError(f"budget must be a positive number of tokens, not {budget}")
    _check_known(repo, [*focus, *pinned, *dropped])
    nodes = [p for p, f in repo.files.items() if not (f.skip and f.skip.tier == "excluded")]
    languages = {p: repo.files[p].language for p in nodes}
    ranking = ranking or rank(nodes, repo.graph.edges, [*pinned, *focus], languages)
    placed = dependency_order(nodes, repo.graph.edges)
    bodies = Bodies(repo, redact_secrets=redact_secrets)
    boundary = boundary_for(sorted(f.digest or "" for f in repo.files.values()))
    state = _Selector(repo, fmt, budget, boundary, bodies, ranking, set(focus) | set(pinned),
                      full_share)
    choices = state.select(set(pinned), set(dropped))
    while True:
        text, blocks = _render(repo, fmt, state.boundary, choices, placed, bodies,
                               state.tree_depth)
        if any(state.boundary in block.body for block in blocks):
            state.boundary = boundary_for(block.body for block in blocks)  # never in a body
            continue
        total = repo.counter.count(text)
        if total <= budget:
            break
        if not state.demote_last(choices):
            raise InputError(f"budget of {budget} tokens is too small: the repository "
                             f"summary and tree alone need {total}")
    entries = _entries(repo, choices, blocks, bodies)
    redactions = [r for b in blocks for r in bodies.redactions(b.path, b.tier)]
    return Pack(text, budget, total, fmt, repo.counter.name, entries, list(repo.problems),
                redactions, redact_secrets)


def _check_known(repo: Repo, paths: Sequence[str]) -> None:
    for path in paths:
        if path not in repo.files:
            raise InputError(f"{path}: not a file of this repository")


class _Selector:
    """Greedy by relevance: full text if it fits its share, else skeleton, else path."""

    def __init__(self, repo: Repo, fmt: Format, budget: int, boundary: str,
                 bodies: Bodies, ranking: Ranking, favoured: set[str],
                 full_share: float) -> None:
        self.repo, self.fmt, self.budget, self.boundary = repo, fmt, budget, boundary
        self.bodies, self.ranking, self.favoured = bodies, ranking, favoured
        self.full_share = full_share
        self.tree_depth: int | None = None
        self.emitted: set[str] = set()
        self.full_spent = 0
        self.cost_memo: dict[str, tuple[int, int | None]] = {}
        # every block costs at least its wrapper with an empty path
        self.min_wrapper = repo.counter.count(block_wrapper(fmt, Block("", None, "full", ""),
                                                            boundary)) - 2

    def select(self, pinned: set[str], dropped: set[str]) -> dict[str, _Choice]:
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
        for path in candidates:
            remaining -= self._place(path, choices[path], remaining, full_cap)
        for path in candidates:
            remaining -= self._upgrade(path, choices[path], remaining)
        return choices

    def _initial_choices(self, dropped: set[str]) -> dict[str, _Choice]:
        choices: dict[str, _Choice] = {}
        for path, entry in self.repo.files.items():
            if entry.skip is not None:
                choices[path] = _Choice(entry.skip.tier, entry.skip.reason)
            elif entry.tokens is None:
                choices[path] = _Choice("excluded", "unreadable")
            elif path in dropped:
                choices[path] = _Choice("listed", "dropped by user")
            else:
                choices[path] = _Choice("listed", "budget")
        return choices

    def _head_cost(self, choices: dict[str, _Choice]) -> int:
        """Cost of summary + tree, collapsing the tree until it fits its share."""
        marks: list[tuple[str, TreeMark]] = [
            (p, "listed") for p, c in choices.items() if c.tier != "excluded"
        ]
        depth: int | None = None
        cost = self.repo.counter.count(tree_text(marks))
        deepest = tree_depth(p for p, _ in marks)
        while cost > self.budget * TREE_SHARE and depth != 0:
            depth = deepest if depth is None else depth - 1
            cost = self.repo.counter.count(tree_text(marks, depth))
        self.tree_depth = depth
        summary = _summary(self.repo, choices)
        head = preamble(self.fmt, self.repo.name, summary, "", self.boundary)
        # the summary's counts change after selection: leave room for a few more digits
        return cost + self.repo.counter.count(head) + 16

    def _costs(self, path: str) -> tuple[int, int | None]:
        """Tokens of the file's block in full and (if it has one) as a skeleton."""
        known = self.cost_memo.get(path)
        if known is None:
            known = self.cost_memo[path] = self._count_costs(path)
        return known

    def _floor(self, path: str) -> int:
        """A lower bound on what the file can cost, without tokenizing its wrapper."""
        entry = self.repo.files[path]
        has_skeleton = self.bodies.has_skeleton(path)
        body = min(entry.tokens or 0, entry.skeleton_tokens or 0) if has_skeleton \
            else entry.tokens or 0
        return body + self.min_wrapper

    def _count_costs(self, path: str) -> tuple[int, int | None]:
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

    def _place(self, path: str, choice: _Choice, remaining: int, full_cap: float) -> int:
        if self._floor(path) >= remaining:
            return 0  # cannot fit in any tier: stays a path ("budget")
        full_cost, skeleton_cost = self._costs(path)
        share_ok = self._share_ok(path, full_cost)
        within_cap = path in self.favoured or self.full_spent + full_cost <= full_cap
        if full_cost <= remaining and share_ok and within_cap:
            choice.tier, choice.reason = "full", self.ranking.reason.get(path, "rank")
            self.full_spent += full_cost
            self.emitted.add(path)
            return full_cost
        if skeleton_cost is not None and skeleton_cost <= remaining:
            choice.tier = "skeleton"
            choice.reason = "budget" if share_ok else "too large for its share of the budget"
            self.emitted.add(path)
            return skeleton_cost
        choice.reason = "budget" if share_ok else "too large for the budget"
        return 0

    def _upgrade(self, path: str, choice: _Choice, remaining: int) -> int:
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

    def demote_last(self, choices: dict[str, _Choice]) -> bool:
        """Step the least relevant emitted file down one tier, else collapse the tree."""
        for path in reversed(self.ranking.order):
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


def _render(
    repo: Repo, fmt: Format, boundary: str, choices: dict[str, _Choice],
    placed: Sequence[str], bodies: Bodies, depth: int | None,
) -> tuple[str, list[Block]]:
    blocks: list[Block] = []
    for path in placed:
        choice = choices[path]
        if choice.tier == "full":
            blocks.append(Block(path, repo.files[path].language, "full", bodies.full(path)))
        elif choice.tier == "skeleton":
            blocks.append(Block(path, repo.files[path].language, "skeleton",
                                bodies.skeleton(path)))
    marks: list[tuple[str, TreeMark]] = [
        (p, c.tier) for p, c in choices.items() if c.tier != "excluded"
    ]
    tree = tree_text(marks, depth)
    head = preamble(fmt, repo.name, _summary(repo, choices), tree, boundary)
    return render(fmt, head, blocks, boundary), blocks


def _summary(repo: Repo, choices: dict[str, _Choice]) -> str:
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


def _entries(repo: Repo, choices: dict[str, _Choice], blocks: Sequence[Block],
             bodies: Bodies) -> list[PackEntry]:
    """Manifest rows in output order: emitted blocks, then the tree's paths, then the rest."""
    entries: list[PackEntry] = []
    for position, block in enumerate(blocks):
        file = repo.files[block.path]
        found = bodies.redactions(block.path, block.tier)
        if found:  # redaction changed the text: count what was really emitted
            tokens: int | None = repo.counter.count(block.body)
        else:
            tokens = file.tokens if block.tier == "full" else file.skeleton_tokens
        choice = choices[block.path]
        if found:
            noun = "secret" if len(found) == 1 else "secrets"
            choice = _Choice(choice.tier, f"{choice.reason}; {len(found)} {noun} redacted")
        entries.append(_entry(file, choice, tokens or 0, position))
    position = len(blocks)
    for path in sorted(p for p, c in choices.items() if c.tier == "listed"):
        entries.append(_entry(repo.files[path], choices[path], 0, position))
        position += 1
    for path in sorted(p for p, c in choices.items() if c.tier == "excluded"):
        entries.append(_entry(repo.files[path], choices[path], 0, None))
    return entries


def _entry(file: RepoFile, choice: _Choice, tokens: int, position: int | None) -> PackEntry:
    reason = choice.reason
    if file.note and choice.tier != "excluded":
        reason = f"{reason}; {file.note}"
    return PackEntry(file.path, file.language, choice.tier, tokens, file.tokens, position,
                     reason)
