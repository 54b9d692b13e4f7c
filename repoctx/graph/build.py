"""The file dependency graph: resolved imports, deduplicated, plus its import cycles.

``build_graph`` is the pipeline's graph stage. It never prints and never fails on bad
input: an import that leads nowhere inside the repo simply adds no edge.

Deduplication rule: one edge per (source, target). When a file reaches another in several
ways, the strongest kind wins, in this order (strongest first)::

    import > re-export > include > mod > require > use > lazy > dynamic > type

A plain top-level import is a hard load-time dependency; re-exports pass names through;
include/mod/require/use are the plain imports of other languages (ordered only so the
choice is deterministic); an import inside a function runs only if called; a dynamic
``import()`` may never run; a type-only import vanishes at run time.

``Graph.cycles`` are the import cycles of runtime edges only (``RUNTIME_KINDS``): a cycle
closed by a type-only, dynamic or function-level import never runs as one, and the order
(``repoctx.graph.order``) does not keep its files together. Those edges stay in the graph.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from repoctx.graph.resolve import resolve_imports
from repoctx.graph.scc import strongly_connected_components
from repoctx.types import RUNTIME_KINDS, Edge, EdgeKind, Graph, ParsedFile

KIND_STRENGTH: dict[EdgeKind, int] = {
    "import": 0,
    "re-export": 1,
    "include": 2,
    "mod": 3,
    "require": 4,
    "use": 5,
    "lazy": 6,
    "dynamic": 7,
    "type": 8,
}


def build_graph(
    root: Path, files: Mapping[str, str | None], parsed: Mapping[str, ParsedFile]
) -> Graph:
    """Resolve every parsed file's imports into a deduplicated, deterministic graph.

    ``files`` maps every walked repo path to its language (None = unknown) and bounds the
    possible targets; ``parsed`` holds the ParsedFile of each parseable file.
    """
    resolution = resolve_imports(root, files, parsed)
    edges = merge_edges(resolution.edges)
    return Graph(files=dict(sorted(files.items())), edges=edges,
                 cycles=find_cycles(files, runtime_edges(edges)))


def merge_edges(edges: Iterable[Edge]) -> list[Edge]:
    """One edge per (source, target), strongest kind kept, no self-edges, sorted."""
    best: dict[tuple[str, str], EdgeKind] = {}
    for edge in edges:
        if edge.source == edge.target:
            continue
        key = (edge.source, edge.target)
        current = best.get(key)
        if current is None or KIND_STRENGTH[edge.kind] < KIND_STRENGTH[current]:
            best[key] = edge.kind
    return [Edge(s, t, k) for (s, t), k in sorted(best.items())]


def runtime_edges(edges: Iterable[Edge]) -> list[Edge]:
    """The edges that load their target when the importing file loads (``RUNTIME_KINDS``)."""
    return [edge for edge in edges if edge.kind in RUNTIME_KINDS]


def cycle_path(cycle: Sequence[str], edges: Iterable[Edge]) -> list[str]:
    """A real import cycle through the files of ``cycle`` (one strongly connected component),
    shortest first: ``[a, b, c]`` means a imports b, b imports c and c imports a.

    It runs through the member most imported from inside the cycle (then the first path),
    so a report's arrows are imports, not an alphabetical listing of the component.
    """
    members = set(cycle)
    successors: dict[str, list[str]] = {member: [] for member in members}
    imported_by: dict[str, int] = dict.fromkeys(members, 0)
    for edge in edges:
        if edge.source in members and edge.target in members and edge.source != edge.target:
            successors[edge.source].append(edge.target)
            imported_by[edge.target] += 1
    if not members:
        return []
    start = min(members, key=lambda m: (-imported_by[m], m))
    parent: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(successors[node]):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return path[::-1]
            if child not in parent:
                parent[child] = node
                queue.append(child)
    return sorted(members)  # not a cycle after all: the members, as the caller gave them


def dependencies(graph: Graph) -> dict[str, set[str]]:
    """File → the files it imports (every file is a key, possibly with an empty set)."""
    out: dict[str, set[str]] = {path: set() for path in graph.files}
    for edge in graph.edges:
        out.setdefault(edge.source, set()).add(edge.target)
    return out


def dependents(graph: Graph) -> dict[str, set[str]]:
    """File → the files that import it (every file is a key)."""
    out: dict[str, set[str]] = {path: set() for path in graph.files}
    for edge in graph.edges:
        out.setdefault(edge.target, set()).add(edge.source)
    return out


def find_cycles(nodes: Iterable[str], edges: Iterable[Edge]) -> list[list[str]]:
    """Strongly connected components with more than one file, each sorted, list sorted."""
    adjacency: dict[str, list[str]] = {node: [] for node in nodes}
    for edge in edges:
        adjacency.setdefault(edge.source, []).append(edge.target)
        adjacency.setdefault(edge.target, [])
    components = strongly_connected_components(adjacency)
    return sorted(sorted(c) for c in components if len(c) > 1)


def build_graph_from_edges(files: Mapping[str, str | None], edges: Iterable[Edge]) -> Graph:
    """A Graph from already-resolved edges (tests, cached graphs): same merge and cycles."""
    kept = [e for e in merge_edges(edges) if e.source in files and e.target in files]
    return Graph(files=dict(sorted(files.items())), edges=kept,
                 cycles=find_cycles(files, runtime_edges(kept)))
