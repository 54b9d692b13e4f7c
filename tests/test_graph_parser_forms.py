"""Import forms that were once parser gaps, kept as end-to-end checks (parser + resolver).

When a new gap is found, add it here as a strict xfail naming it; once the query learns
the form, strict xfail fails the run and the mark must go.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from repoctx.graph.build import build_graph
from repoctx.parsing.languages import language_for_path

parse = pytest.importorskip("repoctx.parsing.parse")


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
        ("lib/a.rb", "lib/tasks.rb", "require"), ("lib/a.rb", "lib/acme/client.rb", "require"),
    }


def test_php_group_use_alias_is_not_a_name(tmp_path: Path) -> None:
    files = {"src/a.php": "<?php\nuse H\\{I, J as K};\n",
             "H/I.php": "<?php\nnamespace H;\nclass I {}\n",
             "H/J.php": "<?php\nnamespace H;\nclass J {}\n",
             "H/K.php": "<?php\nnamespace H;\nclass K {}\n"}
    assert _graph_edges(tmp_path, files) == {
        ("src/a.php", "H/I.php", "use"), ("src/a.php", "H/J.php", "use"),
    }
