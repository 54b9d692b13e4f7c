"""pack: fill a token budget with the repository, most relevant files in full text.

Relevance (``order.rank``) decides each file's tier: full text, signature skeleton, or a
path in the directory tree. Dependency order (``order.place``) decides where
emitted files go. Files are never split. Per-file token counts make the selection fast;
the final text is then counted exactly (BPE can merge across block boundaries), and the
least relevant emitted file is demoted until the exact count fits: the reported total is
always the token count of the text returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from repoctx import stages
from repoctx.errors import InputError
from repoctx.graph.order import Placement, Ranking, place, rank
from repoctx.packing.bodies import Bodies
from repoctx.packing.redact import Redaction
from repoctx.packing.relevance import rank_for
from repoctx.packing.render import (
    Block,
    Format,
    TreeMark,
    boundary_for,
    preamble,
    render,
    tree_text,
)
from repoctx.packing.selection import FULL_SHARE, Choice, Selector, summary_text
from repoctx.scanning.history import Churn
from repoctx.scanning.repo import FileGone, Repo, RepoFile
from repoctx.types import Problem, Tier


@dataclass(frozen=True, slots=True)
class PackEntry:
    path: str
    language: str | None
    tier: Tier
    tokens: int  # tokens this file contributes in its tier (0 for listed/excluded)
    full_tokens: int | None  # tokens of the whole file, whatever its tier
    position: int | None
    reason: str
    placement: str = ""  # why the file sits where it does (emitted files)


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
                 "full_tokens": e.full_tokens, "position": e.position, "reason": e.reason,
                 "placement": e.placement}
                for e in self.files
            ],
            "problems": [{"path": p.path, "reason": p.reason} for p in self.problems],
            "secrets_redacted": self.redacted,
            "redactions": [{"path": r.path, "line": r.line, "kind": r.kind}
                           for r in self.redactions],
        }


class PackOverflow(Exception):
    """A fixed plan that does not fit: the planner moves files and tries again."""

    def __init__(self, total: int, budget: int) -> None:
        super().__init__(f"planned pack needs {total} tokens, budget is {budget}")
        self.total, self.budget = total, budget


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
    fixed: Mapping[str, tuple[Tier, str]] | None = None,
    stable_order: bool = True,
) -> Pack:
    """The repository as one prompt of at most ``budget`` tokens.

    Secrets are redacted from every emitted body unless ``redact_secrets`` is False (for
    local models only: the CLI says so). ``fixed`` (path → (tier, reason)) replaces the
    relevance selection with a caller's plan (multi-pack reviews): exactly those files are
    emitted, the rest are paths, and a plan that cannot fit raises ``PackOverflow``.
    ``stable_order`` breaks dependency-order ties by git churn, rarely changed files first,
    so a typical commit changes the prompt as late as possible (prefix reuse).
    """
    if budget <= 0:
        raise InputError(f"budget must be a positive number of tokens, not {budget}")
    try:
        return _pack(repo, budget, focus, fmt, pinned, dropped, ranking, full_share,
                     redact_secrets, fixed, stable_order)
    finally:
        repo.close_workers()  # one pool for all of the selection's counting batches


def _pack(repo: Repo, budget: int, focus: Sequence[str], fmt: Format, pinned: Sequence[str],
          dropped: Sequence[str], ranking: Ranking | None, full_share: float,
          redact_secrets: bool, fixed: Mapping[str, tuple[Tier, str]] | None,
          stable_order: bool) -> Pack:
    stages.enter("pack")
    _check_known(repo, [*focus, *pinned, *dropped, *(fixed or {})])
    nodes = [p for p, f in repo.files.items() if not (f.skip and f.skip.tier == "excluded")]
    if fixed is not None:  # the caller chose every tier: no relevance ranking needed
        ranking = Ranking(order=[], score={}, reason={})
    favoured = set(focus) | set(pinned)
    outlined: frozenset[str] = frozenset()
    if ranking is None and (focus or pinned):  # the relevance model: ranking and full text
        relevance = rank_for(repo, [*pinned, *focus], budget)
        ranking, favoured = relevance.ranking, set(relevance.full) | set(pinned)
        outlined = relevance.outline - set(pinned)
    ranking = ranking or rank(nodes, repo.graph.edges, [],
                              {p: repo.files[p].language for p in nodes})
    history = repo.churn() if stable_order else {}
    placement = place(nodes, repo.graph.edges, tie_key=_stability_key(history))
    placed = placement.order
    bodies = Bodies(repo, redact_secrets=redact_secrets)
    # from the paths, not the contents: an edit must not change every file tag (prefix reuse,
    # issue 9); a body that contains it gets a boundary derived from all bodies (below)
    boundary = boundary_for(sorted(repo.files))
    state = Selector(repo, fmt, budget, boundary, bodies, ranking, favoured, full_share,
                     outlined)
    choices = (state.select_fixed(fixed) if fixed is not None
               else state.select(set(pinned), set(dropped)))
    text, blocks, total = _fit(repo, fmt, state, choices, placed, bodies, fixed is not None)
    entries = _entries(repo, choices, blocks, bodies, history, placement)
    redactions = [r for b in blocks for r in bodies.redactions(b.path, b.tier)]
    return Pack(text, budget, total, fmt, repo.counter.name, entries, list(repo.problems),
                redactions, redact_secrets)


def _fit(repo: Repo, fmt: Format, state: Selector, choices: dict[str, Choice],
         placed: Sequence[str], bodies: Bodies, fixed: bool) -> tuple[str, list[Block], int]:
    """Render, count exactly, and step the least relevant file down until the text fits."""
    while True:
        _leave_out_lost(repo, state, choices)
        try:
            text, blocks = _render(repo, fmt, state.boundary, choices, placed, bodies,
                                   state.tree_depth)
        except FileGone:  # changed since the scan: excluded above on the next round
            continue
        if any(state.boundary in block.body for block in blocks):
            state.boundary = boundary_for(block.body for block in blocks)  # never in a body
            continue
        total = repo.counter.count(text)
        if total <= state.budget:
            return text, blocks, total
        if not state.demote_last(choices):
            if fixed:
                raise PackOverflow(total, state.budget)
            raise InputError(f"budget of {state.budget} tokens is too small: the repository "
                             f"summary and tree alone need {total}")


def _leave_out_lost(repo: Repo, state: Selector, choices: dict[str, Choice]) -> None:
    """Exclude the files found gone since the scan (``Repo.lost``), with their reason."""
    for path, why in repo.lost.items():
        choice = choices.get(path)
        if choice is not None and choice.tier != "excluded":
            choice.tier, choice.reason = "excluded", why
            state.emitted.discard(path)


def _stability_key(history: Mapping[str, Churn]) -> Callable[[str], tuple[object, ...]]:
    default = Churn()
    return lambda path: (history.get(path, default).bucket, path)


def _check_known(repo: Repo, paths: Sequence[str]) -> None:
    for path in paths:
        if path not in repo.files:
            raise InputError(f"{path}: not a file of this repository")


def _render(
    repo: Repo, fmt: Format, boundary: str, choices: dict[str, Choice],
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
    head = preamble(fmt, repo.name, summary_text(repo, choices), tree, boundary)
    return render(fmt, head, blocks, boundary), blocks


def _entries(repo: Repo, choices: dict[str, Choice], blocks: Sequence[Block],
             bodies: Bodies, history: Mapping[str, Churn],
             placement: Placement) -> list[PackEntry]:
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
            choice = Choice(choice.tier, f"{choice.reason}; {len(found)} {noun} redacted")
        entry = _entry(file, choice, tokens or 0, position)
        why = _placement(placement.describe(block.path), block.path, history, repo.is_git)
        entries.append(replace(entry, placement=why))
    position = len(blocks)
    for path in sorted(p for p, c in choices.items() if c.tier == "listed"):
        entries.append(_entry(repo.files[path], choices[path], 0, position))
        position += 1
    for path in sorted(p for p, c in choices.items() if c.tier == "excluded"):
        entries.append(_entry(repo.files[path], choices[path], 0, None))
    return entries


def _placement(after: str, path: str, history: Mapping[str, Churn], is_git: bool) -> str:
    if not history and not is_git:
        return f"{after}; ties by path"
    return f"{after}; {history.get(path, Churn()).describe()}"


def _entry(file: RepoFile, choice: Choice, tokens: int, position: int | None) -> PackEntry:
    reason = choice.reason
    if file.note and choice.tier != "excluded":
        reason = f"{reason}; {file.note}"
    return PackEntry(file.path, file.language, choice.tier, tokens, file.tokens, position,
                     reason)
