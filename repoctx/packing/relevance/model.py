"""model: one score per file for a focused request, the reason it got it, and the plan.

score(x) = bias + Σ weight[signal] · signal(x); value(x) = sigmoid(score): the chance that a
developer changing the focus needs x (what the benchmark measures: the files a real commit
changed with it). The weights were fitted on bench/relevance.py with leave-one-repository-
out cross-validation (docs/benchmarks.md shows the fit and the ablation). Files no signal
mentions follow in the import graph's PageRank order (``order.rank``), after every file
some signal names.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from repoctx.graph.order import Ranking, rank
from repoctx.packing.relevance import cochange, signals
from repoctx.packing.relevance.knapsack import Item, Plan, plan
from repoctx.scanning.repo import Repo

# Fitted by bench/relevance.py --features-only + bench/relevance_fit.py on nine repositories
# (Python, JS, TS, Go, Rust, Java, Ruby); cross-validated figures in docs/benchmarks.md.
WEIGHTS: dict[str, float] = {
    "imports": 0.40, "imported_by": 0.45, "barrel": 0.79, "uses_focus": 0.01,
    "cochange": 1.14, "cochange_conf": 3.15, "cochange_reverse": 0.41,
    "cochange_recent": -0.18, "cochange_top": 0.67, "recent": 0.95, "test_pair": 1.20,
    "test_uses": 0.46, "sibling": 0.39, "twin": 0.69, "is_test": -0.19, "support": -1.40,
    "tiny": -0.78,
}
BIAS = -4.77
HEAD_SHARE = 0.9  # of the budget, what is left once the summary and tree are in
TOP = 160  # candidates whose tokens are counted for the plan
MAX_TEST_BYTES = 300_000  # larger test suites: only the tests that import the focus
MAX_USE_TEXT = 256_000  # bytes: larger files are not searched for names of the focus


@dataclass(frozen=True, slots=True)
class Relevance:
    """The ranking the packer walks, and the files the plan gives full text."""

    ranking: Ranking
    full: frozenset[str]
    # the plan's skeletons (the focus included when it degraded): the packer's first pass
    # gives them no full text, or a degraded focus would eat the budget planned for others
    outline: frozenset[str] = frozenset()


def rank_for(repo: Repo, focus: Sequence[str], budget: int,
             weights: Mapping[str, float] | None = None) -> Relevance:
    """Rank every file for ``focus`` (non-empty) and plan a pack of ``budget`` tokens."""
    nodes = [p for p, f in repo.files.items() if not (f.skip and f.skip.tier == "excluded")]
    base = rank(nodes, repo.graph.edges, focus, {p: repo.files[p].language for p in nodes})
    found = collect(repo, focus, nodes)
    score = scores(found, weights or WEIGHTS)
    focus_set = set(focus)
    named = sorted((p for p in score if p not in focus_set and repo.files[p].packable),
                   key=lambda p: (-score[p], p))
    repo.ensure_counts([*focus, *named[:TOP]])
    the_plan = plan([item(repo, p, 1.0) for p in focus if repo.files[p].packable],
                    [item(repo, p, _sigmoid(score[p])) for p in named[:TOP]],
                    int(budget * HEAD_SHARE))
    first = [*the_plan.full, *the_plan.skeleton]
    chosen = set(first) | focus_set
    order = [*[p for p in focus if p not in first], *first,
             *[p for p in named if p not in chosen],
             *[p for p in base.order if p not in chosen and p not in score]]
    reason = dict(base.reason)
    for path in named:
        reason[path] = explain(found, path, score[path], weights or WEIGHTS, focus)
    for path in focus:
        reason[path] = "focus"
    full = frozenset(the_plan.full)
    outline = frozenset([*the_plan.skeleton, *(p for p in focus if p not in full)])
    return Relevance(Ranking(order, {p: score.get(p, BIAS) for p in nodes}, reason), full,
                     outline)


def collect(repo: Repo, focus: Sequence[str], nodes: Sequence[str]) -> signals.Signals:
    """Every signal for every file relative to ``focus``."""
    found = signals.Signals()
    edges = repo.graph.edges
    barrels = signals.barrel_files(edges, nodes)
    reach = signals.graph_signals(found, edges, focus, barrels)
    signals.path_signals(found, nodes, focus)
    history = cochange.mine(repo.root, _cache_dir(repo)) if repo.is_git else cochange.History(())
    coupled = cochange.coupling(history, history.touching(), focus)
    signals.history_signals(found, coupled, set(nodes))
    signals.recent_signals(found, history.commits, set(nodes))
    names = _names(repo, focus)
    signals.use_signals(found, _texts(repo, sorted(reach)), names)
    tests = [p for p in nodes if p not in reach and signals.is_test(p)
             and repo.files[p].packable]
    if sum(repo.files[p].size for p in tests) <= MAX_TEST_BYTES:  # tests that reach the
        # code through a package name; in a large test suite only those that import it
        signals.use_signals(found, _texts(repo, tests), names, "test_uses")
    for path in focus:
        found.values.pop(path, None)
    signals.kind_signals(found, nodes, {p: repo.files[p].tokens for p in nodes})
    return found


def scores(found: signals.Signals, weights: Mapping[str, float]) -> dict[str, float]:
    return {path: BIAS + sum(weights.get(n, 0.0) * v for n, v in row.items())
            for path, row in found.values.items()}


def explain(found: signals.Signals, path: str, score: float, weights: Mapping[str, float],
            focus: Sequence[str]) -> str:
    """The signals that put ``path`` where it is, strongest first (at most three)."""
    row = found.values.get(path, {})
    partner = found.partner.get(path, {})
    parts = sorted(((weights.get(n, 0.0) * v, n) for n, v in row.items()
                    if weights.get(n, 0.0) * v > 0), reverse=True)
    words: list[str] = []
    for _, name in parts:
        phrase = _phrase(name, path, partner.get(name) or focus[0], found)
        if phrase not in words and len(words) < 3:
            words.append(phrase)
    return "; ".join(words) + f" (score {score:+.1f})" if words else "rank"


def _phrase(name: str, path: str, other: str, found: signals.Signals) -> str:
    if name == "test_pair":
        return f"test of {other}" if signals.is_test(path) else f"tested by {other}"
    if name == "recent":
        return "changed recently"
    if name.startswith("cochange"):
        count = found.count.get(path, 0)
        return f"changed with {other} in {count} commit{'s' if count != 1 else ''}"
    if name in ("uses_focus", "test_uses"):
        return f"uses {found.used.get(path, '?')} defined in {other}"
    return {
        "imports": f"imported by {other}", "imported_by": f"imports {other}",
        "barrel": f"reaches {other} through a re-export", "sibling": f"next to {other}",
        "twin": f"twin of {other}",
    }.get(name, name)


def item(repo: Repo, path: str, value: float) -> Item:
    entry = repo.files[path]
    wrapper = 12 + len(path) // 3  # the block's tags; the packer counts them exactly
    full = (entry.tokens or 0) + wrapper
    skeleton = entry.skeleton_tokens
    has = skeleton is not None and entry.language is not None and skeleton + wrapper + 6 < full
    return Item(path, value, full, skeleton + wrapper + 6 if has and skeleton is not None
                else None)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _cache_dir(repo: Repo) -> Path | None:
    from repoctx.scanning.cache import default_cache_dir

    if not repo._cache_enabled:
        return None
    return repo._cache_dir or default_cache_dir()


def _texts(repo: Repo, paths: Sequence[str]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in paths:
        entry = repo.files[path]
        if entry.packable and entry.size <= MAX_USE_TEXT:
            try:
                texts[path] = (repo.root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
    return texts


def _names(repo: Repo, focus: Sequence[str]) -> dict[str, list[str]]:
    repo.complete([p for p in focus if repo.files[p].packable])
    out: dict[str, list[str]] = {}
    for path in focus:
        parsed = repo.files[path].parsed
        if parsed is not None:
            out[path] = signals.definition_names(d.name for d in parsed.definitions)
    return out


__all__ = ["BIAS", "WEIGHTS", "Plan", "Relevance", "rank_for"]
