from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repoctx.graph.order import DEFERRED_ORDER, dependency_order, place, rank, strongly_connected
from repoctx.types import RUNTIME_KINDS, Edge, EdgeKind


def E(source: str, target: str) -> Edge:
    return Edge(source, target, "import")


def test_dependencies_come_first() -> None:
    nodes = ["app.py", "models.py", "util.py", "views.py"]
    edges = [E("app.py", "views.py"), E("views.py", "models.py"), E("models.py", "util.py")]
    assert dependency_order(nodes, edges) == ["util.py", "models.py", "views.py", "app.py"]


def test_cycles_are_adjacent_and_sorted() -> None:
    nodes = ["a.py", "b.py", "c.py", "d.py", "z.py"]
    edges = [E("a.py", "z.py"), E("z.py", "b.py"), E("b.py", "a.py"), E("d.py", "a.py")]
    order = dependency_order(nodes, edges)
    cycle = {"a.py", "b.py", "z.py"}
    positions = sorted(order.index(p) for p in cycle)
    assert positions == list(range(positions[0], positions[0] + 3))
    assert order.index("d.py") > max(positions)
    assert strongly_connected(nodes, edges)[0] == ["a.py", "b.py", "z.py"] or \
        ["a.py", "b.py", "z.py"] in strongly_connected(nodes, edges)


def test_tie_key_breaks_ties() -> None:
    nodes = ["b.py", "a.py", "c.py"]
    assert dependency_order(nodes, []) == ["a.py", "b.py", "c.py"]
    assert dependency_order(nodes, [], tie_key=lambda p: (-ord(p[0]),)) == \
        ["c.py", "b.py", "a.py"]


def test_deep_chain_does_not_recurse() -> None:
    nodes = [f"m{i}.py" for i in range(20000)]
    edges = [E(nodes[i], nodes[i + 1]) for i in range(len(nodes) - 1)]
    edges.append(E(nodes[-1], nodes[0]))  # one giant cycle
    components = strongly_connected(nodes, edges)
    assert len(components) == 1 and len(components[0]) == 20000


graphs = st.integers(min_value=1, max_value=25).flatmap(
    lambda n: st.tuples(
        st.just([f"f{i:02d}" for i in range(n)]),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60),
    )
)


@settings(max_examples=300, deadline=None)
@given(graphs)
def test_order_respects_every_edge_outside_cycles(
    graph: tuple[list[str], list[tuple[int, int]]],
) -> None:
    nodes, pairs = graph
    edges = [E(nodes[s], nodes[t]) for s, t in pairs if s != t]
    order = dependency_order(nodes, edges)
    assert sorted(order) == sorted(nodes)
    owner = {m: i for i, comp in enumerate(strongly_connected(nodes, edges)) for m in comp}
    position = {p: i for i, p in enumerate(order)}
    for edge in edges:
        if owner[edge.source] != owner[edge.target]:
            assert position[edge.target] < position[edge.source]
    for comp in strongly_connected(nodes, edges):
        spots = sorted(position[m] for m in comp)
        assert spots[-1] - spots[0] == len(comp) - 1
    assert dependency_order(list(reversed(nodes)), list(reversed(edges))) == order


def test_rank_prefers_widely_imported_files() -> None:
    nodes = ["core.py", "a.py", "b.py", "c.py", "lonely.py"]
    edges = [E("a.py", "core.py"), E("b.py", "core.py"), E("c.py", "core.py")]
    ranking = rank(nodes, edges)
    assert ranking.order[0] == "core.py"
    assert ranking.order.index("lonely.py") > 0


def test_focus_then_neighbours_then_rest() -> None:
    nodes = ["core.py", "a.py", "b.py", "c.py", "d.py"]
    edges = [E("a.py", "core.py"), E("b.py", "core.py"), E("c.py", "b.py"),
             E("b.py", "d.py")]
    ranking = rank(nodes, edges, focus=["b.py"])
    assert ranking.order[0] == "b.py"
    assert set(ranking.order[1:4]) == {"core.py", "c.py", "d.py"}
    assert ranking.reason["c.py"] == "dependent of focus"
    assert ranking.reason["core.py"] == "dependency of focus"
    assert ranking.order[4] == "a.py"


def test_tests_and_docs_rank_below_source() -> None:
    nodes = ["pkg/mod.py", "tests/test_mod.py", "docs/guide.md"]
    ranking = rank(nodes, [], languages={"pkg/mod.py": "python",
                                         "tests/test_mod.py": "python",
                                         "docs/guide.md": "markdown"})
    assert ranking.order[0] == "pkg/mod.py"


# ---- edge kinds: only runtime imports hold files in a cycle (issue 19 item 11) -----------

def K(source: str, target: str, kind: EdgeKind) -> Edge:
    return Edge(source, target, kind)


def test_deferred_kinds_and_runtime_kinds_partition_every_kind() -> None:
    every = set(get_args(EdgeKind))
    assert set(DEFERRED_ORDER) | RUNTIME_KINDS == every
    assert not set(DEFERRED_ORDER) & RUNTIME_KINDS


@pytest.mark.parametrize("kind", ["type", "lazy", "dynamic"])
def test_a_deferred_import_orders_files_where_it_closes_no_cycle(kind: EdgeKind) -> None:
    assert dependency_order(["a.ts", "b.ts"], [K("a.ts", "b.ts", kind)]) == ["b.ts", "a.ts"]


@pytest.mark.parametrize("kind", ["type", "lazy", "dynamic"])
def test_a_cycle_closed_by_a_deferred_import_follows_the_runtime_import(kind: EdgeKind) -> None:
    # b imports a at run time; a's import of b is deferred: a must come first, whatever
    # the alphabet says (z.py < a.py would be wrong too)
    nodes = ["b.py", "a.py"]
    edges = [K("b.py", "a.py", "import"), K("a.py", "b.py", kind)]
    placed = place(nodes, edges)
    assert placed.order == ["a.py", "b.py"]
    assert placed.cycle == {}
    assert placed.later == {"a.py": 1}
    assert placed.describe("a.py") == ("after 0 of its 1 import(s); 1 type-only, dynamic or "
                                       "function-level import(s) closing a cycle come later")
    assert placed.describe("b.py") == "after its 1 import(s)"


def test_a_package_glued_by_function_level_imports_keeps_its_runtime_order() -> None:
    # the shape of a web framework: every module imports its helpers at load time, and the
    # package's __init__ is imported back from inside functions (or for types only)
    chain = ["pkg/z_base.py", "pkg/y_models.py", "pkg/x_views.py", "pkg/w_app.py"]
    edges = [K(chain[i + 1], chain[i], "import") for i in range(len(chain) - 1)]
    edges += [K("pkg/__init__.py", chain[-1], "import")]
    edges += [K(path, "pkg/__init__.py", "lazy") for path in chain[:2]]
    edges += [K(path, "pkg/__init__.py", "type") for path in chain[2:]]
    placed = place(sorted([*chain, "pkg/__init__.py"]), edges)
    assert placed.order == [*chain, "pkg/__init__.py"]
    assert placed.cycle == {}


def test_a_runtime_cycle_goes_fewest_pending_imports_first() -> None:
    # hub imports all three; each of them imports hub back; c also imports b at run time
    nodes = ["a.py", "b.py", "c.py", "hub.py"]
    edges = [K("hub.py", x, "import") for x in ("a.py", "b.py", "c.py")]
    edges += [K(x, "hub.py", "import") for x in ("a.py", "b.py", "c.py")]
    edges += [K("c.py", "b.py", "import")]
    placed = place(nodes, edges)
    # a and b wait on hub alone (ties by path), c on hub and b, hub on all three
    assert placed.order == ["a.py", "b.py", "c.py", "hub.py"]
    assert placed.cycle == dict.fromkeys(nodes, 4)
    assert placed.later == {"a.py": 1, "b.py": 1, "c.py": 1}
    assert "import cycle of 4 files" in placed.describe("a.py")
    assert placed.describe("hub.py") == "after its 3 import(s)"


def test_placement_of_a_file_that_imports_nothing() -> None:
    assert place(["a.py"], []).describe("a.py") == "imports nothing in the repo"


kinds = st.sampled_from(list(get_args(EdgeKind)))
kinded_graphs = st.integers(min_value=1, max_value=20).flatmap(
    lambda n: st.tuples(
        st.just([f"f{i:02d}" for i in range(n)]),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), kinds), max_size=50),
    )
)


@settings(max_examples=300, deadline=None)
@given(kinded_graphs)
def test_runtime_edges_are_always_respected_outside_runtime_cycles(
    graph: tuple[list[str], list[tuple[int, int, EdgeKind]]],
) -> None:
    nodes, triples = graph
    edges = [K(nodes[s], nodes[t], k) for s, t, k in triples if s != t]
    placed = place(nodes, edges)
    assert sorted(placed.order) == sorted(nodes)
    position = {p: i for i, p in enumerate(placed.order)}
    runtime = [e for e in edges if e.kind in RUNTIME_KINDS]
    components = strongly_connected(nodes, runtime)
    owner = {m: i for i, comp in enumerate(components) for m in comp}
    for edge in runtime:
        if owner[edge.source] != owner[edge.target]:
            assert position[edge.target] < position[edge.source]
    for comp in components:  # runtime cycles stay adjacent (multi-pack plans rely on it)
        spots = sorted(position[m] for m in comp)
        assert spots[-1] - spots[0] == len(comp) - 1
        for member in comp:
            assert placed.cycle.get(member, 1) == len(comp)
    every = {m: i for i, comp in enumerate(strongly_connected(nodes, edges)) for m in comp}
    for edge in edges:  # any kind orders files where it closes no cycle of any kind
        if every[edge.source] != every[edge.target]:
            assert position[edge.target] < position[edge.source]
    later = {p: sum(1 for s, t in {(e.source, e.target) for e in edges}
                    if s == p and position[t] > position[p]) for p in nodes}
    assert placed.later == {p: n for p, n in later.items() if n}
    assert place(list(reversed(nodes)), list(reversed(edges))).order == placed.order
