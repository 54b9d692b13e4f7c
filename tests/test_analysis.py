"""Static facts from a graph and definitions, and over a real scanned fixture repo."""

from __future__ import annotations

from pathlib import Path

from repoctx.review.facts import analyse, facts_for_repo, is_test_path
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
    assert facts.cycles == [["a.py", "b.py"]]
    assert [(f.path, f.count) for f in facts.fan_in] == [("a.py", 4), ("b.py", 1), ("c.py", 1)]
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
    assert "### Dependency cycles\n\n- none" in text


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
