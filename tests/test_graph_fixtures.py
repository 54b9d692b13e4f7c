"""The whole graph stage on the fixture repos with the real parser: exact edges and cycles.

Where the parser does not yet capture an import form, the fixture is marked xfail with the
gap named (strict, so the mark must go once the query learns the form).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from graph_cases import EXPECTED, FIXTURES, walk_fixture

from repoctx.graph.build import build_graph
from repoctx.parsing import parse
from repoctx.parsing.languages import has_grammar
from repoctx.scanning.cache import parsed_from_json
from repoctx.scanning.workers import Analysed, Job, analyse_file
from repoctx.types import ParsedFile

PARSER_GAPS: dict[str, str] = {}


def real_parsed(name: str) -> dict[str, ParsedFile]:
    root = FIXTURES / name
    files = walk_fixture(name)
    return {
        path: parse.parse_source(language, (root / path).read_bytes(), path)
        for path, language in files.items()
        if has_grammar(language) and language is not None
    }


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(reason=PARSER_GAPS[n], strict=True))
        if n in PARSER_GAPS else n
        for n in sorted(EXPECTED)
    ],
)
def test_fixture_graph_with_real_parse(name: str) -> None:
    graph = build_graph(FIXTURES / name, walk_fixture(name), real_parsed(name))
    edges = {(e.source, e.target, e.kind) for e in graph.edges}
    expected_edges, expected_cycles = EXPECTED[name]
    assert edges == expected_edges
    assert graph.cycles == expected_cycles


def lean_parsed(name: str) -> dict[str, ParsedFile]:
    """As a pack's scan workers leave them: no skeleton text, no definitions the graph does
    not read, and through the facts' JSON."""
    root = FIXTURES / name
    parsed: dict[str, ParsedFile] = {}
    for path, language in walk_fixture(name).items():
        if not has_grammar(language):
            continue
        job = Job(path, root / path, language, (root / path).stat().st_size)
        outcome = analyse_file(job, skeleton_text=False, lean=True)
        assert isinstance(outcome, Analysed)
        data = outcome.facts["parsed"]
        assert isinstance(data, dict)
        parsed[path] = parsed_from_json(data)
    return parsed


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n not in PARSER_GAPS))
def test_fixture_graph_from_lean_facts(name: str) -> None:
    graph = build_graph(FIXTURES / name, walk_fixture(name), lean_parsed(name))
    assert {(e.source, e.target, e.kind) for e in graph.edges} == EXPECTED[name][0]
    assert graph.cycles == EXPECTED[name][1]


def test_graph_files_are_the_walked_files() -> None:
    name = "python-pkg"
    graph = build_graph(Path(FIXTURES / name), walk_fixture(name), real_parsed(name))
    assert graph.files == dict(sorted(walk_fixture(name).items()))
    assert all(e.target in graph.files and e.source in graph.files for e in graph.edges)
