"""The lean parse's top-level shortcut (``parse._shallow``) never changes what parse finds.

An imports-only parse of a language with an ``import_word`` matches at the top level first,
and keeps that only when every occurrence of the word lies in a captured top-level import
statement. Each case here must give exactly what matching the whole tree gives; the ones
with an import (or the word) anywhere else must fall back to the whole tree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from repoctx.parsing import parse
from repoctx.parsing.languages import language_for_path

LEAN = {"skeleton_text": False, "lean": True, "definitions": False}

CASES: dict[str, tuple[str, bool]] = {  # name → (source, the shortcut may answer)
    "top-level only": ("import os\nfrom a.b import c, d as e\nfrom . import f\n\n"
                       "def g():\n    return os.sep\n", True),
    "no import at all": ("x = 1\n\n\ndef f():\n    return x\n", True),
    "inside a function": ("import os\n\n\ndef f():\n    import json\n    return json\n", False),
    "type checking": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from a import B\n", False),
    "one-line if": ("import os\nif os.name: import posix\n", False),
    "importlib at the top": ("import importlib\nm = importlib.import_module('a.b')\n", False),
    "__import__": ("m = __import__('a')\n", False),
    "word in a string": ("import os\nDOC = 'import me'\n", False),
    # a comment is a node of its own, beside the statement: its word counts as elsewhere
    "word in a comment": ("import os  # import order matters\nx = 1  # re-import\n", False),
    "syntax error": ("import os\ndef f(:\n    import json\n", False),
    "class body": ("class A:\n    from a import b\n", False),
    "try/except": ("try:\n    import ujson as json\nexcept ImportError:\n    import json\n",
                   False),
}


def _whole_tree(source: bytes, monkeypatch: pytest.MonkeyPatch) -> parse.ParsedFile:
    with monkeypatch.context() as patched:
        patched.setattr(parse, "_shallow", lambda grammar, root, source: None)
        return parse.parse_source("python", source, "x.py", **LEAN)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_shortcut_finds_what_the_whole_tree_gives(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    text, may_answer = CASES[name]
    source = text.encode()
    grammar = parse._grammar("python", True, False)
    assert not isinstance(grammar, str) and grammar.import_word == b"import"
    tree = parse._parser("python", grammar.language).parse(source)
    assert (parse._shallow(grammar, tree.root_node, source) is not None) == may_answer
    found = parse.parse_source("python", source, "x.py", **LEAN)  # type: ignore[arg-type]
    assert found == _whole_tree(source, monkeypatch)
    if name not in ("no import at all",):
        assert found.imports or name == "word in a string"


def test_only_imports_only_parses_take_the_shortcut() -> None:
    full = parse._grammar("python")
    lean = parse._grammar("python", True, True)
    assert not isinstance(full, str) and not isinstance(lean, str)
    assert full.import_word is None and lean.import_word is None  # they need definitions


def test_every_python_file_of_this_repository_parses_the_same_either_way(
        monkeypatch: pytest.MonkeyPatch) -> None:
    top = Path(__file__).parent.parent
    paths = sorted(p for d in ("repoctx", "tests", "fixtures", "bench")
                   for p in (top / d).rglob("*.py") if ".work" not in p.parts)
    assert len(paths) > 150
    for path in paths:
        assert language_for_path(path.name) == "python"
        source = path.read_bytes()
        found = parse.parse_source("python", source, path.name, **LEAN)  # type: ignore[arg-type]
        assert found == _whole_tree(source, monkeypatch), path
