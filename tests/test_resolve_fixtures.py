"""Each resolver on its fixture repo, fed hand-written ImportRefs: exact edges and cycles."""

from __future__ import annotations

import pytest
from graph_cases import EXPECTED, FIXTURES, hand_parsed, walk_fixture

from repoctx.graph.build import build_graph


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_edges_from_hand_written_refs(name: str) -> None:
    graph = build_graph(FIXTURES / name, walk_fixture(name), hand_parsed(name))
    edges = {(e.source, e.target, e.kind) for e in graph.edges}
    expected_edges, expected_cycles = EXPECTED[name]
    assert edges == expected_edges
    assert graph.cycles == expected_cycles


def test_every_fixture_has_expectations() -> None:
    on_disk = {p.name for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert on_disk == set(EXPECTED)
