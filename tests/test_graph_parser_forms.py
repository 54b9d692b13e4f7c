"""Import forms that were once parser gaps, kept as end-to-end checks (parser + resolver).

When a new gap is found, add it here as a strict xfail naming it; once the query learns
the form, strict xfail fails the run and the mark must go.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from repoctx.graph.build import build_graph
from repoctx.parsing import parse
from repoctx.parsing.languages import language_for_path


def _graph_edges(root: Path, files: dict[str, str]) -> set[tuple[str, str, str]]:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    languages = {rel: language_for_path(rel) for rel in files}
    parsed = {rel: parse.parse_source(lang, text.encode(), rel)
              for rel, text in files.items() if (lang := languages[rel]) is not None}
    return {(e.source, e.target, e.kind) for e in build_graph(root, languages, parsed).edges}


def test_ruby_load_and_autoload(tmp_path: Path) -> None:
    files = {"lib/a.rb": 'load "tasks.rb"\nautoload :Client, "acme/client"\n',
             "lib/tasks.rb": "", "lib/acme/client.rb": ""}
    assert _graph_edges(tmp_path, files) == {
        ("lib/a.rb", "lib/tasks.rb", "require"), ("lib/a.rb", "lib/acme/client.rb", "lazy"),
    }


@pytest.mark.parametrize(("name", "text"), [
    ("a.js", 'function f() { return require("./b"); }\n'),
    ("a.ts", 'export function f() { return require("./b"); }\n'),
    ("a.rb", 'def f\n  require_relative "b"\nend\n'),
    ("a.php", "<?php\nfunction f() { require __DIR__ . '/b.php'; }\n"),
])
def test_a_load_inside_a_function_is_a_lazy_edge(tmp_path: Path, name: str, text: str) -> None:
    """require/include/source in a function body load when called: not a runtime edge."""
    target = "b" + name[name.index("."):]
    edges = _graph_edges(tmp_path, {name: text, target: ""})
    assert edges == {(name, target, "lazy")}


def test_php_group_use_alias_is_not_a_name(tmp_path: Path) -> None:
    files = {"src/a.php": "<?php\nuse H\\{I, J as K};\n",
             "H/I.php": "<?php\nnamespace H;\nclass I {}\n",
             "H/J.php": "<?php\nnamespace H;\nclass J {}\n",
             "H/K.php": "<?php\nnamespace H;\nclass K {}\n"}
    assert _graph_edges(tmp_path, files) == {
        ("src/a.php", "H/I.php", "use"), ("src/a.php", "H/J.php", "use"),
    }


@pytest.mark.parametrize(("language", "text"), [
    ("lua", 'local function f()\n  return require("b")\nend\n'),
    ("bash", "f() {\n  source ./b.sh\n}\n"),
    ("python", "def f():\n    import b\n"),
])
def test_languages_without_a_resolver_mark_function_loads_lazy(language: str, text: str) -> None:
    """The kind rule lives before resolution, so a future resolver inherits it."""
    from repoctx.graph.resolve.base import effective_kind

    refs = parse.parse_source(language, text.encode()).imports
    assert [(r.scope, effective_kind(r)) for r in refs] == [("function", "lazy")]


def test_typescript_5_type_reexport_is_a_type_edge(tmp_path: Path) -> None:
    files = {"src/index.ts": 'export type * from "./types";\nexport * from "./run";\n',
             "src/types.ts": "export interface A<out T> { a: T }\n",
             "src/run.ts": 'import type { A } from "./types";\nexport const r = 1;\n'}
    assert _graph_edges(tmp_path, files) == {
        ("src/index.ts", "src/types.ts", "type"), ("src/index.ts", "src/run.ts", "re-export"),
        ("src/run.ts", "src/types.ts", "type"),
    }
