"""Static facts from a graph and definitions, and over a real scanned fixture repo."""

from __future__ import annotations

from pathlib import Path

from repoctx.graph.build import build_graph_from_edges
from repoctx.review.facts import FIXTURE as FIXTURE_PATH
from repoctx.review.facts import (
    SOURCE,
    STANDALONE,
    TEST,
    Cycle,
    analyse,
    facts_for_repo,
    is_test_path,
    path_class,
)
from repoctx.types import Definition, Edge, Graph

FIXTURE = Path(__file__).parent.parent / "fixtures" / "review-small"


def _graph() -> Graph:
    files = {p: "python" for p in ("a.py", "b.py", "c.py", "d.py", "main.py", "tests/test_a.py",
                                   "README.md")}  # fmt: skip
    files["README.md"] = "markdown"
    edges = [
        Edge("a.py", "b.py", "import"), Edge("b.py", "a.py", "import"),
        Edge("c.py", "a.py", "import"), Edge("main.py", "a.py", "import"),
        Edge("main.py", "c.py", "lazy"), Edge("main.py", "c.py", "import"),
        Edge("tests/test_a.py", "a.py", "import"),
    ]  # fmt: skip
    return Graph(files, edges, [["a.py", "b.py"]])


def test_facts_are_deterministic_and_ranked() -> None:
    defs = {
        "a.py": (Definition("function", "small", 1, 3), Definition("class", "Big", 5, 200)),
        "c.py": (Definition("method", "long", 10, 59),),
        "d.py": (Definition("function", "orphan", 1, 20),),
    }
    facts = analyse(_graph(), defs, limit=3)
    assert facts.cycles == [Cycle(["a.py", "b.py"], ["a.py", "b.py"])]
    # dependents among source files only: the test importing a.py does not count
    assert [(f.path, f.count) for f in facts.fan_in] == [("a.py", 3), ("b.py", 1), ("c.py", 1)]
    assert facts.fan_out[0].path == "main.py" and facts.fan_out[0].count == 2
    assert [(f.name, f.lines) for f in facts.largest_functions] == [
        ("long", 50),
        ("orphan", 20),
        ("small", 3),
    ]  # fmt: skip  (classes are not functions)
    # nothing imports d.py; main.py is an entry point, tests and README are not suspects
    assert facts.unimported == ["d.py"]
    assert analyse(_graph(), defs, limit=3).to_dict() == facts.to_dict()


def test_markdown_section_always_renders() -> None:
    empty = analyse(Graph(), {})
    text = empty.to_markdown()
    assert text.startswith("## Static facts (computed by repoctx)")
    assert "### Dependency cycles (runtime imports, largest first)\n\n- none" in text


def test_test_paths() -> None:
    assert is_test_path("tests/test_x.py") and is_test_path("pkg/x_test.go")
    assert is_test_path("web/a.spec.ts") and not is_test_path("src/testing_utils.py")


def test_facts_for_scanned_fixture() -> None:
    from repoctx.api import scan

    facts = facts_for_repo(scan(FIXTURE))
    assert facts.fan_in[0].path in {"app/models.py", "app/store.py"}
    assert facts.fan_out[0].path == "app/cli.py"
    assert any(f.name == "main" and f.path == "app/cli.py" for f in facts.largest_functions)
    assert facts.unimported == ["app/cli.py"]
    assert facts.cycles == []


def _ranked_graph() -> Graph:
    files: dict[str, str | None] = dict.fromkeys([
        "fixtures/x/a.py", "fixtures/x/b.py", "tests/t1.py", "tests/t2.py",
        "pkg/errors.py", "pkg/core.py", "pkg/api.py", "pkg/util.py", "pkg/m1.py",
        "pkg/m2.py", "pkg/m3.py", "bench/run.py", "examples/demo.py",
    ], "python")
    edges = [
        Edge("fixtures/x/a.py", "fixtures/x/b.py", "import"),  # a fixture's cycle
        Edge("fixtures/x/b.py", "fixtures/x/a.py", "import"),
        Edge("tests/t1.py", "tests/t2.py", "import"),  # a cycle among tests
        Edge("tests/t2.py", "tests/t1.py", "import"),
        Edge("pkg/m1.py", "pkg/m2.py", "import"),  # a three-file source cycle
        Edge("pkg/m2.py", "pkg/m3.py", "import"),
        Edge("pkg/m3.py", "pkg/m1.py", "import"),
        Edge("pkg/api.py", "pkg/core.py", "import"),  # a two-file source cycle
        Edge("pkg/core.py", "pkg/api.py", "import"),
        Edge("pkg/util.py", "pkg/api.py", "lazy"),  # a function-level "cycle" is none
        Edge("pkg/api.py", "pkg/util.py", "import"),
        Edge("pkg/core.py", "pkg/util.py", "import"),
    ]
    for path in ("pkg/core.py", "pkg/api.py", "pkg/util.py", "pkg/m1.py", "pkg/m2.py"):
        edges.append(Edge(path, "pkg/errors.py", "import"))  # the leaf everything imports
    for path in ("tests/t1.py", "tests/t2.py", "bench/run.py", "examples/demo.py"):
        edges += [Edge(path, "pkg/util.py", "import"), Edge(path, "pkg/core.py", "import")]
    return build_graph_from_edges(files, edges)


def test_facts_lead_with_what_a_reviewer_acts_on() -> None:
    defs = {
        "fixtures/x/a.py": (Definition("function", "fixture_giant", 1, 900),),
        "tests/t1.py": (Definition("function", "test_giant", 1, 400),),
        "bench/run.py": (Definition("function", "bench_main", 1, 300),),
        "pkg/core.py": (Definition("function", "handle", 1, 60),),
        "pkg/m1.py": (Definition("function", "step", 1, 20),),
    }
    facts = analyse(_ranked_graph(), defs, limit=10)
    # fixtures never appear; source cycles before test cycles, larger first
    assert [c.files for c in facts.cycles] == [
        ["pkg/m1.py", "pkg/m2.py", "pkg/m3.py"], ["pkg/api.py", "pkg/core.py"],
        ["tests/t1.py", "tests/t2.py"]]
    assert facts.fixtures == 2 and facts.more_cycles == 0
    # each shown as real imports: m1 → m2 → m3 → m1, never the alphabetical listing
    assert facts.cycles[0].path == ["pkg/m1.py", "pkg/m2.py", "pkg/m3.py"]
    # fan-in from source files only, and the leaf errors.py after every module with imports
    assert [(f.path, f.count, f.leaf) for f in facts.fan_in] == [
        ("pkg/api.py", 2, False), ("pkg/util.py", 2, False), ("pkg/core.py", 1, False),
        ("pkg/m1.py", 1, False), ("pkg/m2.py", 1, False), ("pkg/m3.py", 1, False),
        ("pkg/errors.py", 5, True)]
    # source before benchmarks before tests, fixtures nowhere
    assert [f.name for f in facts.largest_functions] == ["handle", "step", "bench_main",
                                                         "test_giant"]
    assert all(path_class(f.path) != FIXTURE_PATH for f in facts.fan_out)
    assert [path_class(f.path) for f in facts.fan_out] == sorted(
        path_class(f.path) for f in facts.fan_out)
    text = facts.to_markdown()
    assert "fixtures/" not in text.split("left out below.")[1]
    assert "`pkg/m1.py` → `pkg/m2.py` → `pkg/m3.py` → `pkg/m1.py`" in text
    assert "`pkg/errors.py` — 5 dependents (imports nothing)" in text
    assert "bench/run.py" not in facts.unimported and "examples/demo.py" not in facts.unimported


def test_a_large_cycle_shows_one_real_chain_and_its_size() -> None:
    files: dict[str, str | None] = dict.fromkeys([f"m{i}.py" for i in range(6)], "python")
    edges = [Edge(f"m{i}.py", f"m{(i + 1) % 6}.py", "import") for i in range(6)]
    edges.append(Edge("m0.py", "m3.py", "import"))
    facts = analyse(build_graph_from_edges(files, edges), {})
    assert facts.cycles[0].files == sorted(files)
    # through the most imported member (m3: from m2 and m0), the shortest way back to it
    assert facts.cycles[0].path == ["m3.py", "m4.py", "m5.py", "m0.py"]
    line = facts.to_markdown().split("### Dependency cycles")[1].splitlines()[2]
    assert line == ("- 6 files, e.g. `m3.py` → `m4.py` → `m5.py` → `m0.py` → `m3.py` "
                    "(and 2 other files)")


def test_cycles_beyond_the_limit_are_counted() -> None:
    files: dict[str, str | None] = dict.fromkeys([f"p{i}/{x}.py" for i in range(4)
                                                  for x in "ab"], "python")
    edges = [Edge(f"p{i}/a.py", f"p{i}/b.py", "import") for i in range(4)]
    edges += [Edge(f"p{i}/b.py", f"p{i}/a.py", "import") for i in range(4)]
    facts = analyse(build_graph_from_edges(files, edges), {}, limit=3)
    assert len(facts.cycles) == 3 and facts.more_cycles == 1
    assert "… and 1 smaller cycle" in facts.to_markdown()
    assert facts.to_dict()["more_cycles"] == 1


def test_path_classes() -> None:
    assert path_class("fixtures/graph/a.py") == FIXTURE_PATH
    assert path_class("tests/testdata/x.go") == FIXTURE_PATH
    assert path_class("tests/test_x.py") == TEST
    assert path_class("examples/basic.py") == STANDALONE
    assert path_class("bench/run.py") == STANDALONE
    assert path_class("src/pkg/mod.py") == SOURCE
