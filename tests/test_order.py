from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from repoctx.graph.order import dependency_order, rank, strongly_connected
from repoctx.types import Edge


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
