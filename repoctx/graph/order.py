"""order: where each file goes (dependency order) and how much it matters (ranking).

Two separate questions, answered separately:

* *Where*: dependencies before dependents, so the model has read what a file imports
  before it reads the file. Strongly connected components are condensed and kept
  adjacent; ties are broken by a caller-supplied key (path by default) so the same input
  always gives the same order.
* *What gets full text*: a personalised PageRank over the import graph. Rank flows from
  importer to imported, so widely used modules rank high; the teleport vector favours
  entry points, or the focus files when the user (or the hook's staged change) names some.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from repoctx.types import Edge

TEST_PATH = re.compile(
    r"(^|/)(tests?|testing|__tests__|spec|specs)(/|$)|(^|/)test_[^/]*$|_test\.[a-z]+$"
    r"|\.(test|spec)\.[a-z]+$|(^|/)conftest\.py$|Tests?\.(java|kt|cs|swift)$"
)
# Code that illustrates, measures or feeds tests, rather than being the system itself.
SUPPORT_PATH = re.compile(
    r"(^|/)(fixtures?|testdata|test_data|__fixtures__|__mocks__|mocks?|examples?|samples?"
    r"|demos?|bench|benchmarks?|docs?|scripts?)/"
)
ENTRY_NAMES = frozenset({
    "__main__.py", "main.py", "cli.py", "app.py", "manage.py", "wsgi.py", "asgi.py",
    "main.go", "main.rs", "lib.rs", "index.ts", "index.js", "index.tsx", "main.ts", "main.js",
    "server.ts", "server.js", "app.ts", "app.js", "Program.cs", "main.c", "main.cpp",
    "Application.java", "Main.java", "Main.kt",
})
DESCRIBING_FILES = frozenset({
    "README.md", "README.rst", "README", "README.txt", "pyproject.toml", "setup.py",
    "setup.cfg", "package.json", "go.mod", "Cargo.toml", "pom.xml", "build.gradle",
    "build.gradle.kts", "composer.json", "Gemfile", "CMakeLists.txt", "Makefile",
    "tsconfig.json", "ARCHITECTURE.md", "CONTRIBUTING.md",
})


def strongly_connected(nodes: Sequence[str], edges: Iterable[Edge]) -> list[list[str]]:
    """Tarjan's algorithm without recursion (100k-file repos overflow Python's stack)."""
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    for edge in edges:
        if edge.source in successors and edge.target in successors:
            successors[edge.source].append(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for start in nodes:
        if start in index:
            continue
        work = [(start, 0)]
        while work:
            node, child_i = work.pop()
            if child_i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            children = successors[node]
            if child_i < len(children):
                work.append((node, child_i + 1))
                child = children[child_i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def dependency_order(
    nodes: Sequence[str],
    edges: Iterable[Edge],
    tie_key: Callable[[str], tuple[object, ...]] | None = None,
) -> list[str]:
    """Every file after the files it imports; each cycle's files adjacent.

    Kahn's algorithm over the condensation; among components that are ready at the same
    time the one whose smallest ``tie_key`` is least comes first.
    """
    key = tie_key or (lambda path: (path,))
    edge_list = list(edges)
    components = strongly_connected(nodes, edge_list)
    owner = {member: i for i, comp in enumerate(components) for member in comp}
    # condensed edge: dependency component → dependent component
    waits_on = [0] * len(components)
    unlocks: list[set[int]] = [set() for _ in components]
    for edge in edge_list:
        if edge.source not in owner or edge.target not in owner:
            continue
        dependent, dependency = owner[edge.source], owner[edge.target]
        if dependent != dependency and dependent not in unlocks[dependency]:
            unlocks[dependency].add(dependent)
            waits_on[dependent] += 1
    comp_key = [min(key(member) for member in comp) for comp in components]
    ready = [(comp_key[i], i) for i in range(len(components)) if waits_on[i] == 0]
    heapq.heapify(ready)
    ordered: list[str] = []
    while ready:
        _, current = heapq.heappop(ready)
        ordered.extend(sorted(components[current], key=key))
        for dependent in unlocks[current]:
            waits_on[dependent] -= 1
            if waits_on[dependent] == 0:
                heapq.heappush(ready, (comp_key[dependent], dependent))
    return ordered


@dataclass(frozen=True, slots=True)
class Ranking:
    """Files from most to least relevant, with the score and a reason for each."""

    order: list[str]
    score: dict[str, float]
    reason: dict[str, str]


def rank(
    nodes: Sequence[str],
    edges: Sequence[Edge],
    focus: Sequence[str] = (),
    languages: Mapping[str, str | None] | None = None,
) -> Ranking:
    """Personalised PageRank toward focus files (or entry points), then path as tie-break.

    Focus files come first, then their direct dependencies and dependents, then the
    rest by score: that is what "focus" promises a user.
    """
    weight = {path: _kind_weight(path, (languages or {}).get(path)) for path in nodes}
    teleport = [jump * weight[path] for jump, path in zip(_teleport(nodes, focus), nodes,
                                                          strict=True)]
    score = _pagerank(nodes, edges, teleport)
    for path in nodes:
        score[path] *= weight[path]
    reason = {path: "rank" for path in nodes}
    tier_of = {path: 2 for path in nodes}
    focus_set = {path for path in focus if path in score}
    for edge in edges:
        if edge.source in focus_set and edge.target in tier_of and edge.target not in focus_set:
            tier_of[edge.target], reason[edge.target] = 1, "dependency of focus"
        if edge.target in focus_set and edge.source in tier_of and edge.source not in focus_set:
            tier_of[edge.source], reason[edge.source] = 1, "dependent of focus"
    for path in focus_set:
        tier_of[path], reason[path] = 0, "focus"
    order = sorted(nodes, key=lambda p: (tier_of[p], -score[p], p))
    return Ranking(order=order, score=score, reason=reason)


def _teleport(nodes: Sequence[str], focus: Sequence[str]) -> list[float]:
    focus_set = set(focus)
    if focus_set:
        return [1.0 if node in focus_set else 0.01 for node in nodes]
    weights = []
    for node in nodes:
        name = node.rsplit("/", 1)[-1]
        if name in DESCRIBING_FILES and "/" not in node:
            weights.append(4.0)
        elif name in ENTRY_NAMES:
            weights.append(3.0)
        else:
            weights.append(1.0)
    return weights


def _kind_weight(path: str, language: str | None) -> float:
    """Source the model should read beats tests, docs and data of the same score."""
    name = path.rsplit("/", 1)[-1]
    if name in DESCRIBING_FILES and "/" not in path:
        return 4.0
    if SUPPORT_PATH.search(path):
        return 0.2
    if TEST_PATH.search(path):
        return 0.35
    if language in {"markdown", "text"}:
        return 0.5
    if language in {"json", "yaml", "toml", "xml", "ini", "html", "css", "sql"}:
        return 0.3
    if language is None:
        return 0.2
    return 1.0


def _pagerank(
    nodes: Sequence[str], edges: Sequence[Edge], teleport: list[float],
    damping: float = 0.85, iterations: int = 60, tolerance: float = 1e-10,
) -> dict[str, float]:
    import numpy as np

    count = len(nodes)
    if count == 0:
        return {}
    position = {node: i for i, node in enumerate(nodes)}
    pairs = {(position[e.source], position[e.target]) for e in edges
             if e.source in position and e.target in position and e.source != e.target}
    sources = np.fromiter((s for s, _ in pairs), dtype=np.int64, count=len(pairs))
    targets = np.fromiter((t for _, t in pairs), dtype=np.int64, count=len(pairs))
    out_degree = np.bincount(sources, minlength=count).astype(np.float64)
    jump = np.asarray(teleport, dtype=np.float64)
    jump /= jump.sum()
    rank_vec = jump.copy()
    dangling = out_degree == 0
    for _ in range(iterations):
        share = np.where(dangling, 0.0, rank_vec / np.maximum(out_degree, 1.0))
        flowed = np.bincount(targets, weights=share[sources], minlength=count)
        lost = rank_vec[dangling].sum()
        updated = damping * (flowed + lost * jump) + (1.0 - damping) * jump
        if np.abs(updated - rank_vec).sum() < tolerance:
            rank_vec = updated
            break
        rank_vec = updated
    return {node: float(rank_vec[i]) for i, node in enumerate(nodes)}
