"""parse_source's contract: fails soft, caches per language, imports grammars lazily."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from repoctx.parsing import parse
from repoctx.parsing.languages import LANGUAGES, has_grammar, query_source
from repoctx.parsing.parse import parse_source
from repoctx.types import ParsedFile

GRAMMAR_LANGUAGES = sorted(lang.name for lang in LANGUAGES if lang.grammar_module)
VOCABULARY = re.compile(
    r"^(import(\.(type|reexport|include|mod|dynamic|require|use|lazy|module|relative|name))?"
    r"|scope\.(function|type_checking)|syntax\.valid|definition\.[a-z_]+|name|body|members|doc|keep|wrapper"
    r"|_[a-z_]+)$")


def test_languages_without_grammar_get_an_empty_record() -> None:
    assert parse_source("markdown", b"# Title\n\nimport x\n") == ParsedFile("markdown")
    assert parse_source("klingon", b"qaStaHvIS") == ParsedFile("klingon")
    assert not has_grammar("markdown")


@pytest.mark.parametrize("language", GRAMMAR_LANGUAGES)
def test_every_query_compiles_and_uses_only_the_vocabulary(language: str) -> None:
    text = query_source(language)
    assert text is not None, f"queries/{language}.scm is missing"
    grammar = parse._grammar(language)
    assert not isinstance(grammar, str), grammar
    names = {grammar.query.capture_name(i) for i in range(grammar.query.capture_count)}
    assert names, language
    assert not {n for n in names if not VOCABULARY.match(n)}


def test_grammar_and_query_are_compiled_once() -> None:
    assert parse._grammar("python") is parse._grammar("python")


def test_syntax_errors_keep_what_was_extracted() -> None:
    source = b"import os\n\ndef ok():\n    pass\n\ndef broken(:\n    return (\n\nimport sys\n"
    parsed = parse_source("python", source)
    assert parsed.error is not None
    assert re.fullmatch(r"syntax errors? at lines? [\d, ]+( and more)?", parsed.error)
    assert "6" in parsed.error
    assert parsed.imports[0].module == "os"


def test_clean_source_has_no_error() -> None:
    assert parse_source("python", b"x = 1\n").error is None


@pytest.mark.parametrize("language", GRAMMAR_LANGUAGES)
def test_undecodable_and_empty_bytes_do_not_raise(language: str) -> None:
    for blob in (b"", b"\xff\xfe\x00garbage\x80\x81{{{(((", bytes(range(256)) * 4):
        parsed = parse_source(language, blob)
        assert parsed.language == language
        assert isinstance(parsed.skeleton, str)


def test_grammar_modules_are_imported_only_when_needed() -> None:
    code = (
        "import sys\n"
        "from repoctx.parsing.parse import parse_source\n"
        "before = sorted(m for m in sys.modules if m.startswith('tree_sitter_') and '.' not in m)\n"
        "parse_source('go', b'package main\\n')\n"
        "after = sorted(m for m in sys.modules if m.startswith('tree_sitter_') and '.' not in m)\n"
        "print(before, after)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[] ['tree_sitter_go']"


def test_internal_failure_becomes_an_error_not_an_exception(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(parse.skeleton, "build", explode)
    parsed = parse_source("python", b"import os\n", "pkg/mod.py")
    assert parsed.imports[0].module == "os"
    assert parsed.error == "parse failed in pkg/mod.py: RuntimeError: boom"


# ---- TypeScript 5 syntax the grammar wheel predates (issue 19 item 12) ---------------------

TS5_CONSTRUCTS = {
    "export type *": ('export type * from "./types";\n', [("./types", "type")]),
    "export type * as": ('export type * as T from "./types";\n', [("./types", "type")]),
    "variance in/out": ('import { a } from "./a";\ninterface Producer<out T> { get(): T }\n'
                        "interface Consumer<in T> { put(v: T): void }\n"
                        "type Both<in out T, out U extends object = {}> = (t: T) => U;\n",
                        [("./a", "import")]),
    "variance on its own lines": ('import type { A } from "./a";\nexport interface Z<\n'
                                  "  in out T,\n  out U = unknown,\n"
                                  "  out V extends A<T, U> = A<T, U>,\n> extends Y<U> {}\n",
                                  [("./a", "type")]),
    "satisfies": ('import { cfg } from "./cfg";\n'
                  "export const c = { a: cfg } satisfies Record<string, unknown>;\n",
                  [("./cfg", "import")]),
    "accessor": ('import type { V } from "./v";\n'
                 "class A { accessor x = 1; static accessor y: V = 2; readonly accessor z = 3;"
                 " static accessor #p = 4; }\n", [("./v", "type")]),
    "const type parameter": ('export * from "./b";\n'
                             "function f<const T extends readonly unknown[]>(x: T): T "
                             "{ return x; }\nclass K<const in T> {}\n", [("./b", "re-export")]),
    "using": ('import { open } from "./res";\n'
              "async function g() { using r = open(); await using s = open(); }\n",
              [("./res", "import")]),
}


@pytest.mark.parametrize("lean", [False, True], ids=["full", "lean"])
@pytest.mark.parametrize("language", ["typescript", "tsx"])
@pytest.mark.parametrize("construct", sorted(TS5_CONSTRUCTS))
def test_typescript_5_syntax_is_no_syntax_error(construct: str, language: str,
                                                lean: bool) -> None:
    source, imports = TS5_CONSTRUCTS[construct]
    parsed = parse_source(language, source.encode(), skeleton_text=not lean, lean=lean,
                          definitions=not lean)
    assert parsed.error is None
    assert [(ref.module, ref.kind) for ref in parsed.imports] == imports


@pytest.mark.parametrize("source", [
    "interface P<out T U> {}\n",  # two names after a variance annotation
    "class A { static accessor x y; }\n",
    "export typo * from './x';\n",
    "function f<in>() {}\nlet = ;\n",
])
def test_the_typescript_5_allowances_still_report_real_mistakes(source: str) -> None:
    assert parse_source("typescript", source.encode()).error is not None
