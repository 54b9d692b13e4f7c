"""Graph mechanics: deduplication rule, cycles (iterative Tarjan), helpers, speed."""

from __future__ import annotations

import random
from pathlib import Path
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from repoctx.graph.build import (
    KIND_STRENGTH,
    build_graph,
    build_graph_from_edges,
    cycle_path,
    dependencies,
    dependents,
    find_cycles,
    merge_edges,
)
from repoctx.graph.scc import strongly_connected_components
from repoctx.types import RUNTIME_KINDS, Edge, EdgeKind, ImportRef, ParsedFile


def test_every_edge_kind_has_a_strength() -> None:
    assert set(KIND_STRENGTH) == set(get_args(EdgeKind))
    assert len(set(KIND_STRENGTH.values())) == len(KIND_STRENGTH)


def test_merge_keeps_strongest_kind_drops_self_edges_and_sorts() -> None:
    edges = [
        Edge("b", "a", "type"),
        Edge("a", "b", "type"),
        Edge("a", "b", "lazy"),
        Edge("a", "b", "re-export"),
        Edge("a", "a", "import"),
        Edge("a", "c", "dynamic"),
        Edge("a", "c", "lazy"),
        Edge("b", "a", "import"),
    ]
    assert merge_edges(edges) == [
        Edge("a", "b", "re-export"),
        Edge("a", "c", "lazy"),
        Edge("b", "a", "import"),
    ]


def test_strength_order_is_the_documented_one() -> None:
    order = sorted(KIND_STRENGTH, key=KIND_STRENGTH.__getitem__)
    assert order == ["import", "re-export", "include", "mod", "require", "use", "lazy",
                     "dynamic", "type"]


def test_every_runtime_kind_outranks_every_deferred_kind() -> None:
    """A pair reached both at load time and lazily merges into a runtime edge."""
    weakest_runtime = max(KIND_STRENGTH[k] for k in RUNTIME_KINDS)
    assert all(KIND_STRENGTH[k] > weakest_runtime
               for k in set(KIND_STRENGTH) - RUNTIME_KINDS)


def test_graph_cycles_are_runtime_cycles_only() -> None:
    files: dict[str, str | None] = dict.fromkeys(["a", "b", "c", "d"], "python")
    edges = [Edge("a", "b", "import"), Edge("b", "a", "lazy"), Edge("c", "d", "import"),
             Edge("d", "c", "require"), Edge("b", "c", "type"), Edge("d", "b", "import")]
    graph = build_graph_from_edges(files, edges)
    assert graph.cycles == [["c", "d"]]
    assert {e.kind for e in graph.edges} == {"import", "lazy", "require", "type"}  # all kept


def test_cycle_path_follows_real_imports_through_the_most_imported_member() -> None:
    # component {a, b, c, d}: alphabetical "a → b → c → d → a" would invent b → c and d → a
    edges = [Edge("a", "d", "import"), Edge("d", "a", "import"), Edge("b", "d", "import"),
             Edge("d", "c", "import"), Edge("c", "b", "import"), Edge("c", "d", "import")]
    path = cycle_path(["a", "b", "c", "d"], edges)
    assert path[0] == "d" and len(path) == 2  # d is imported by a, b and c; d ⇄ a or d ⇄ c
    real = {(e.source, e.target) for e in edges}
    assert all((x, y) in real for x, y in zip(path, [*path[1:], path[0]], strict=True))
    assert path == ["d", "a"]  # shortest, then the first by path


def test_cycles_are_sorted_components_of_more_than_one_file() -> None:
    edges = [Edge("c", "d", "import"), Edge("d", "c", "import"), Edge("b", "a", "import"),
             Edge("a", "b", "import"), Edge("b", "x", "import"), Edge("x", "x", "import")]
    assert find_cycles(["a", "b", "c", "d", "x", "y"], edges) == [["a", "b"], ["c", "d"]]


def test_long_chain_needs_no_recursion() -> None:
    n = 200_000
    nodes = [f"f{i:06d}" for i in range(n)]
    edges = [Edge(nodes[i], nodes[i + 1], "import") for i in range(n - 1)]
    edges.append(Edge(nodes[-1], nodes[0], "import"))
    cycles = find_cycles(nodes, edges)
    assert len(cycles) == 1 and len(cycles[0]) == n


def _reachable(adjacency: dict[str, list[str]], start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for nxt in adjacency[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 11), st.integers(0, 11)), max_size=40))
def test_tarjan_matches_mutual_reachability(pairs: list[tuple[int, int]]) -> None:
    adjacency: dict[str, list[str]] = {f"n{i}": [] for i in range(12)}
    for a, b in pairs:
        adjacency[f"n{a}"].append(f"n{b}")
    components = strongly_connected_components(adjacency)
    reach = {node: _reachable(adjacency, node) for node in adjacency}
    expected = {frozenset(m for m in adjacency if m in reach[n] and n in reach[m])
                for n in adjacency}
    assert {frozenset(c) for c in components} == expected
    assert sum(len(c) for c in components) == len(adjacency)


def test_dependencies_and_dependents_cover_every_file() -> None:
    files: dict[str, str | None] = {"a.py": "python", "b.py": "python", "c.txt": None}
    graph = build_graph_from_edges(files, [Edge("a.py", "b.py", "import"),
                                           Edge("a.py", "zzz.py", "import")])
    assert dependencies(graph) == {"a.py": {"b.py"}, "b.py": set(), "c.txt": set()}
    assert dependents(graph) == {"a.py": set(), "b.py": {"a.py"}, "c.txt": set()}


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_build_graph_ignores_unknown_languages_and_unwalked_files(tmp_path: Path) -> None:
    files: dict[str, str | None] = {"a.py": "python", "b.py": "python", "notes.txt": None}
    _write(tmp_path, dict.fromkeys(files, ""))
    parsed = {
        "a.py": ParsedFile("python", (ImportRef("b", "import", 1), ImportRef("c", "import", 2))),
        "ghost.py": ParsedFile("python", (ImportRef("a", "import", 1),)),  # not walked
        "notes.txt": ParsedFile("text", (ImportRef("a", "import", 1),)),
    }
    graph = build_graph(tmp_path, files, parsed)
    assert graph.edges == [Edge("a.py", "b.py", "import")]
    assert list(graph.files) == ["a.py", "b.py", "notes.txt"]


def test_build_graph_is_deterministic_whatever_the_input_order(tmp_path: Path) -> None:
    names = [f"m{i}" for i in range(30)]
    files: dict[str, str | None] = {f"{n}.py": "python" for n in names}
    rng = random.Random(7)
    parsed = {
        f"{n}.py": ParsedFile("python", tuple(
            ImportRef(rng.choice(names), rng.choice(["import", "lazy", "type"]), i + 1)
            for i in range(5)))
        for n in names
    }
    first = build_graph(tmp_path, files, parsed)
    shuffled = list(parsed.items())
    rng.shuffle(shuffled)
    second = build_graph(tmp_path, dict(reversed(list(files.items()))), dict(shuffled))
    assert first.edges == second.edges and first.cycles == second.cycles
    assert first.edges == sorted(first.edges, key=lambda e: (e.source, e.target))


def test_django_sized_repo_resolves_at_scale(tmp_path: Path) -> None:
    """4,500 Python files, 12 imports each (absolute, relative, from-imports, misses).

    How long it takes is a benchmark's business (bench/graph_accuracy.py reports the graph
    stage on real Django), not a timed unit test's: a busy CI box fails those at random."""
    rng = random.Random(1)
    modules = [f"proj/pkg{p}/mod{m}" for p in range(90) for m in range(49)]
    files: dict[str, str | None] = {f"{m}.py": "python" for m in modules}
    files.update({f"proj/pkg{p}/__init__.py": "python" for p in range(90)})
    files["proj/__init__.py"] = "python"
    parsed: dict[str, ParsedFile] = {}
    for path in files:
        refs = []
        for i in range(12):
            target = rng.choice(modules)
            pkg, mod = target.split("/")[1:]
            refs.append(rng.choice([
                ImportRef(target.replace("/", "."), "import", i),
                ImportRef(f"proj.{pkg}", "import", i, (mod, "Name")),
                ImportRef(f"..{pkg}.{mod}", "import", i, ("x",)),
                ImportRef("os.path", "import", i),
            ]))
        parsed[path] = ParsedFile("python", tuple(refs))
    graph = build_graph(tmp_path, files, parsed)
    assert len(graph.edges) > 30_000
    assert {edge.target for edge in graph.edges} <= set(files)
    assert all(edge.source != edge.target for edge in graph.edges)
