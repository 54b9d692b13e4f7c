"""order: where each file goes (dependency order) and how much it matters (ranking).

Two separate questions, answered separately:

* *Where*: dependencies before dependents, so the model has read what a file imports
  before it reads the file (``place``). Every edge orders files where it can; inside a
  cycle the weakest kinds are ignored one at a time (type-only, then dynamic, then
  function-level imports), so only runtime imports (``RUNTIME_KINDS``) can hold files in
  a cycle, and a runtime cycle is broken by taking next the member with the fewest
  imports still to place. Ties are broken by a caller-supplied key (path by default) so
  the same input always gives the same order.
* *What gets full text*: a personalised PageRank over the import graph. Rank flows from
  importer to imported, so widely used modules rank high; the teleport vector favours
  entry points, or the focus files when the user (or the hook's staged change) names some.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from repoctx.graph.scc import strongly_connected_components
from repoctx.types import Edge, EdgeKind

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
    """The components of the edges between ``nodes``, visited in order, members sorted."""
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    for edge in edges:
        if edge.source in successors and edge.target in successors:
            successors[edge.source].append(edge.target)
    return [sorted(c) for c in strongly_connected_components(successors, nodes)]


# Kinds ignored inside a cycle, weakest first: level i ignores the first i. A type-only
# import vanishes at run time, a dynamic one may never run, a function-level one runs when
# called; past the last level only RUNTIME_KINDS remain (checked by the tests).
DEFERRED_ORDER: tuple[EdgeKind, ...] = ("type", "dynamic", "lazy")

TieKey = Callable[[str], tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where each file goes, and what the manifest says about why."""

    order: list[str]
    imports: dict[str, int]  # path → distinct imported files among the placed ones
    later: dict[str, int]  # path → its imports placed after it (only where > 0)
    cycle: dict[str, int]  # path → size of the runtime import cycle it is in (members only)

    def describe(self, path: str) -> str:
        """One phrase for the manifest's ``placement``: after what, and which rule."""
        count = self.imports.get(path, 0)
        if not count:
            return "imports nothing in the repo"
        later = self.later.get(path, 0)
        if not later:
            return f"after its {count} import(s)"
        size = self.cycle.get(path)
        if size:
            return (f"after {count - later} of its {count} import(s); in an import cycle of "
                    f"{size} files, placed when fewest of its imports were still to come")
        return (f"after {count - later} of its {count} import(s); {later} type-only, dynamic "
                f"or function-level import(s) closing a cycle come later")


def dependency_order(
    nodes: Sequence[str],
    edges: Iterable[Edge],
    tie_key: TieKey | None = None,
) -> list[str]:
    """Every file after the files it imports wherever no cycle prevents it; see ``place``."""
    return place(nodes, edges, tie_key).order


def place(nodes: Sequence[str], edges: Iterable[Edge], tie_key: TieKey | None = None
          ) -> Placement:
    """Dependencies first, by Kahn's algorithm over the strongly connected components.

    Among components that are ready at the same time the one whose smallest ``tie_key``
    is least comes first. Each component of several files is ordered again without the
    weakest remaining kind (``DEFERRED_ORDER``), so type-only and function-level imports
    order files wherever they form no cycle, and only runtime imports keep files in one;
    a runtime cycle is broken by ``_break_cycle``. Components stay adjacent at every level.
    """
    key = tie_key or (lambda path: (path,))
    members = list(dict.fromkeys(nodes))
    inside = set(members)
    kept = [e for e in edges if e.source != e.target and e.source in inside
            and e.target in inside]
    cycle: dict[str, int] = {}
    ordered = _order_level(members, kept, 0, key, cycle)
    position = {path: i for i, path in enumerate(ordered)}
    pairs = {(e.source, e.target) for e in kept}
    imports: dict[str, int] = {}
    later: dict[str, int] = {}
    for source, target in pairs:
        imports[source] = imports.get(source, 0) + 1
        if position[target] > position[source]:
            later[source] = later.get(source, 0) + 1
    return Placement(ordered, imports, later, cycle)


def _order_level(members: list[str], edges: list[Edge], level: int, key: TieKey,
                 cycle: dict[str, int]) -> list[str]:
    """``members`` ordered by ``edges`` minus the kinds this level ignores."""
    ignored = DEFERRED_ORDER[:level]
    used = [e for e in edges if e.kind not in ignored] if ignored else edges
    components = strongly_connected(members, used)
    owner = {member: i for i, comp in enumerate(components) for member in comp}
    inner: list[list[Edge]] = [[] for _ in components]
    # condensed edge: dependency component → dependent component
    waits_on = [0] * len(components)
    unlocks: list[set[int]] = [set() for _ in components]
    for edge in used:
        dependent, dependency = owner[edge.source], owner[edge.target]
        if dependent == dependency:
            inner[dependent].append(edge)
        elif dependent not in unlocks[dependency]:
            unlocks[dependency].add(dependent)
            waits_on[dependent] += 1
    comp_key = [min(key(member) for member in comp) for comp in components]
    ready = [(comp_key[i], i) for i in range(len(components)) if waits_on[i] == 0]
    heapq.heapify(ready)
    ordered: list[str] = []
    while ready:
        _, current = heapq.heappop(ready)
        ordered.extend(_order_component(components[current], inner[current], level, key,
                                        cycle))
        for dependent in unlocks[current]:
            waits_on[dependent] -= 1
            if waits_on[dependent] == 0:
                heapq.heappush(ready, (comp_key[dependent], dependent))
    return ordered


def _order_component(component: list[str], edges: list[Edge], level: int, key: TieKey,
                     cycle: dict[str, int]) -> list[str]:
    if len(component) == 1:
        return component
    if level < len(DEFERRED_ORDER):
        return _order_level(component, edges, level + 1, key, cycle)
    for member in component:
        cycle[member] = len(component)
    return _break_cycle(component, edges, key)


def _break_cycle(component: list[str], edges: list[Edge], key: TieKey) -> list[str]:
    """A runtime import cycle in reading order: next comes the member with the fewest
    imports in the cycle not yet placed (ties by ``key``), so files that lean on little
    of the cycle go first and what imports most of it goes last."""
    targets: dict[str, set[str]] = {member: set() for member in component}
    for edge in edges:
        targets[edge.source].add(edge.target)
    dependents: dict[str, list[str]] = {member: [] for member in component}
    for source, imported in targets.items():
        for target in imported:
            dependents[target].append(source)
    pending = {member: len(imported) for member, imported in targets.items()}
    heap = [(pending[m], key(m), m) for m in component]
    heapq.heapify(heap)
    ordered: list[str] = []
    placed: set[str] = set()
    while heap:
        count, _, member = heapq.heappop(heap)
        if member in placed or count != pending[member]:
            continue  # a stale entry: the member was re-pushed with a smaller count
        placed.add(member)
        ordered.append(member)
        for dependent in dependents[member]:
            if dependent not in placed:
                pending[dependent] -= 1
                heapq.heappush(heap, (pending[dependent], key(dependent), dependent))
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
