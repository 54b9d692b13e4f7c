"""Lazy skeletons: a pack's scan (``count=False``) leaves skeleton text unrendered.

Whatever renders it later must give exactly what an eager scan gives, for every language,
and a cached entry without its skeleton must never be served as an empty skeleton.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

import repoctx
from repoctx.packing.bodies import Bodies
from repoctx.packing.pack import pack
from repoctx.parsing.languages import has_grammar, language_for_path
from repoctx.parsing.parse import parse_source
from repoctx.scanning import cache as cache_module
from repoctx.scanning.cache import Cache, analysis_version
from repoctx.scanning.content import content_hash
from repoctx.scanning.repo import Repo
from repoctx.scanning.scan import Progress

SAMPLES = Path(__file__).parent.parent / "fixtures" / "parse" / "skeleton"
SOURCES = sorted(p for p in SAMPLES.iterdir() if p.suffix not in (".skeleton", ".defs"))


@pytest.fixture(autouse=True)
def _workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans in workers, as for a large repository: only there do skeletons wait."""
    monkeypatch.setenv("REPOCTX_WORKERS", "2")


def test_a_small_scan_in_process_renders_skeletons_at_once(
        make_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPOCTX_WORKERS")
    root = make_repo({"a.py": "def f(x):\n    return x + 1\n"})
    repo = repoctx.scan(root, count=False)
    assert repo.files["a.py"].complete
    assert repo.files["a.py"].parsed.skeleton == "def f(x):\n    ...\n"  # type: ignore[union-attr]


@pytest.mark.parametrize("sample", SOURCES, ids=lambda p: p.name)
def test_parse_without_skeleton_text_keeps_everything_else(sample: Path) -> None:
    language = language_for_path(sample.name)
    assert language is not None
    eager = parse_source(language, sample.read_bytes(), sample.name)
    for lean in (False, True):
        lazy = parse_source(language, sample.read_bytes(), sample.name, skeleton_text=False,
                            lean=lean)
        assert lazy == dataclasses.replace(eager, skeleton="")


def _samples_repo(make_repo) -> Path:  # type: ignore[no-untyped-def]
    root: Path = make_repo({"README.md": "# samples\n"})
    for sample in SOURCES:
        shutil.copy(sample, root / sample.name)
    return root


def _scan(root: Path, directory: Path, *, count: bool, parsed: list[int] | None = None) -> Repo:
    events: list[Progress] = []
    store = Cache(directory)
    try:
        repo = repoctx.scan(root, cache=store, count=count, progress=events.append)
    finally:
        store.close()
    if parsed is not None:
        parsed.append(max((e.total for e in events if e.stage == "parse"), default=0))
    return repo


def test_lazily_rendered_skeletons_equal_eager_ones(make_repo, tmp_path: Path) -> None:
    root = _samples_repo(make_repo)
    eager = _scan(root, tmp_path / "eager", count=True)
    lazy = repoctx.scan(root, count=False)
    grammar_files = [p for p, f in lazy.files.items() if has_grammar(f.language)]
    assert len(grammar_files) == len(SOURCES)
    for path in grammar_files:
        assert not lazy.files[path].complete
        assert lazy.skeleton(path) == eager.files[path].parsed.skeleton != ""  # type: ignore[union-attr]
        assert lazy.files[path].complete
        assert lazy.files[path].parsed == eager.files[path].parsed
    assert lazy.skeleton("README.md") == ""


def test_lazy_counts_equal_eager_counts(make_repo, tmp_path: Path) -> None:
    root = _samples_repo(make_repo)
    eager = _scan(root, tmp_path / "eager", count=True)
    lazy = repoctx.scan(root, count=False)
    lazy.ensure_counts()
    for path, entry in eager.files.items():
        assert (lazy.files[path].tokens, lazy.files[path].skeleton_tokens) == \
            (entry.tokens, entry.skeleton_tokens), path


def test_pack_of_a_lazy_scan_equals_pack_of_an_eager_one(make_repo, tmp_path: Path) -> None:
    root = _samples_repo(make_repo)
    eager = _scan(root, tmp_path / "eager", count=True)
    lazy = repoctx.scan(root, count=False)
    tiers: set[str] = set()
    for budget in (800, 1200, 2000, 3000):
        expected = pack(eager, budget)
        tiers |= {e.tier for e in expected.files}
        assert pack(lazy, budget).text == expected.text
    assert "skeleton" in tiers


def test_a_rendered_skeleton_is_cached_with_its_counts(make_repo, tmp_path: Path) -> None:
    root = make_repo({"a.py": "def f(x):\n    return x + 1\n\n\nclass A:\n    pass\n"})
    parsed: list[int] = []
    first = _scan(root, tmp_path / "c", count=False, parsed=parsed)
    stored = Cache(tmp_path / "c")
    digest = first.files["a.py"].digest
    assert digest is not None
    assert stored.facts([digest])[digest]["parsed"]["skeleton"] is None  # never ""
    stored.close()
    # a counting scan must not take the unrendered entry for an empty skeleton
    counted = _scan(root, tmp_path / "c", count=True, parsed=parsed)
    assert counted.files["a.py"].parsed.skeleton.startswith("def f(x):")  # type: ignore[union-attr]
    assert parsed == [1, 1]


def test_an_entry_without_its_skeleton_is_rendered_not_served_empty(
        make_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    source = "def f(x):\n    return x + 1\n"
    root = make_repo({"a.py": source})
    eager_skeleton = parse_source("python", source.encode()).skeleton
    store = Cache()
    facts = {"parsed": {"language": "python", "imports": [], "definitions": [],
                        "error": None}, "note": None, "lines": 2}  # no "skeleton" key at all
    store.store_facts([(content_hash(source.encode()), facts)])
    store.close()
    lazy = repoctx.scan(root, count=False)
    assert not lazy.files["a.py"].complete
    assert Bodies(lazy).has_skeleton("a.py")
    assert Bodies(lazy).skeleton("a.py") == eager_skeleton
    lazy.ensure_counts()  # which also caches the facts rendered meanwhile
    again = repoctx.scan(root, count=False)
    assert again.files["a.py"].complete
    assert again.files["a.py"].parsed.skeleton == eager_skeleton  # type: ignore[union-attr]


def test_rows_of_builds_with_another_facts_format_are_never_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Older builds read a null skeleton as "": the facts format keys the rows apart."""
    current = analysis_version()
    analysis_version.cache_clear()
    monkeypatch.setattr(cache_module, "FACTS_FORMAT", cache_module.FACTS_FORMAT - 1)
    try:
        assert analysis_version() != current
    finally:
        analysis_version.cache_clear()


def test_a_file_gone_before_its_skeleton_is_rendered_is_left_out(make_repo) -> None:
    from repoctx.scanning.repo import FileGone

    root = make_repo({"a.py": "def f(x):\n    return x + 1\n"})
    lazy = repoctx.scan(root, count=False)
    (root / "a.py").unlink()
    with pytest.raises(FileGone, match="changed during the run: deleted"):
        lazy.skeleton("a.py")
    assert not lazy.files["a.py"].packable
    assert [(p.path, p.reason) for p in lazy.problems] == \
        [("a.py", "changed during the run: deleted")]


def test_the_lean_query_skips_skeleton_only_patterns_and_maybe_definitions() -> None:
    import tree_sitter as ts

    from repoctx.parsing import parse
    source = (b'"""Doc."""\nimport os\n\n\n@dec\nclass A:\n    x: int = 0\n\n'
              b"    def f(self):\n        pass\n")
    roles: dict[tuple[bool, bool], set[str]] = {}
    for variant in ((False, True), (True, True), (True, False)):
        grammar = parse._grammar("python", *variant)
        assert not isinstance(grammar, str)
        tree = parse._parser("python", grammar.language).parse(source)
        roles[variant] = {parse._role(match)[0]
                          for _, match in ts.QueryCursor(grammar.query).matches(tree.root_node)}
    assert roles[False, True] == {"import", "scope", "definition", "other"}
    assert roles[True, True] == {"import", "scope", "definition"}
    assert roles[True, False] == {"import", "scope"}


# types declared in a file named otherwise: only the parse's definitions lead there
_NAMED_BY_DEFINITIONS = {
    "src/main/java/app/Main.java": "package app;\nimport geo.Circle;\nclass Main {}\n",
    "src/main/java/geo/Shapes.java": "package geo;\nclass Circle {}\n",
    "App/Program.cs": "using static Geo.Circle;\nclass Program {}\n",
    "Geo/Shapes.cs": "namespace Geo {\n  class Circle {}\n}\n",
    "web/index.php": "<?php\nuse Geo\\Circle;\n",
    "web/Shapes.php": "<?php\nnamespace Geo;\nclass Circle {}\n",
    "py/main.py": "from py import shapes\n\n\ndef f():\n    return shapes.Circle()\n",
    "py/__init__.py": "",
    "py/shapes.py": "class Circle:\n    pass\n",
}


def test_a_lean_scan_keeps_the_definitions_the_graph_reads(make_repo, tmp_path: Path) -> None:
    root = make_repo(_NAMED_BY_DEFINITIONS)
    eager = _scan(root, tmp_path / "eager", count=True)
    lazy = repoctx.scan(root, count=False)
    edges = {(e.source, e.target) for e in eager.graph.edges}
    assert {("src/main/java/app/Main.java", "src/main/java/geo/Shapes.java"),
            ("App/Program.cs", "Geo/Shapes.cs"), ("web/index.php", "web/Shapes.php"),
            ("py/main.py", "py/shapes.py")} <= edges
    assert lazy.graph == eager.graph
    java, python = lazy.files["src/main/java/geo/Shapes.java"], lazy.files["py/shapes.py"]
    assert java.parsed.definitions == eager.files[java.path].parsed.definitions != ()  # type: ignore[union-attr]
    assert python.parsed.definitions == ()  # type: ignore[union-attr]  # not read by the graph
    assert not python.complete
    lazy.complete([python.path])
    assert python.parsed == eager.files[python.path].parsed


def test_lean_facts_store_left_out_definitions_as_null(make_repo, tmp_path: Path) -> None:
    root = make_repo(_NAMED_BY_DEFINITIONS)
    lazy = _scan(root, tmp_path / "c", count=False)
    stored = Cache(tmp_path / "c")
    try:
        facts = stored.facts([lazy.files[p].digest or "" for p in ("py/shapes.py",
                                                                   "Geo/Shapes.cs")])
    finally:
        stored.close()
    python, csharp = (facts[lazy.files[p].digest or ""]["parsed"]
                      for p in ("py/shapes.py", "Geo/Shapes.cs"))
    assert python["definitions"] is None and python["skeleton"] is None  # never [] or ""
    assert csharp["definitions"] and csharp["skeleton"] is None
    # a counting scan takes neither for complete: both are parsed again, then complete
    counted = _scan(root, tmp_path / "c", count=True)
    assert counted.files["py/shapes.py"].parsed.definitions  # type: ignore[union-attr]
    assert all(f.complete for f in counted.files.values())


def test_what_a_pack_finds_later_goes_to_the_scans_cache_or_nowhere(
        make_repo, tmp_path: Path) -> None:
    """Counts and skeletons found while packing are kept where the scan's cache is, and
    not at all after a scan without one (``--no-cache``), never in the default cache."""
    root = _samples_repo(make_repo)
    default = cache_module.default_cache_dir() / "cache.sqlite"
    for enabled in (True, False):
        store = Cache(tmp_path / "own", enabled=enabled)
        try:
            repo = repoctx.scan(root, cache=store, count=False)
        finally:
            store.close()
        pack(repo, 2000)  # renders and counts the candidates
    assert not default.exists()
    own = Cache(tmp_path / "own")
    try:
        digests = [f.digest or "" for f in repo.files.values() if f.tokens is not None]
        assert digests and set(own.counts("qwen35", "full", digests)) == set(digests)
    finally:
        own.close()
