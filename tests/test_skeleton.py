"""Skeletons and definitions: one golden sample per language, plus size and shape rules.

The goldens live next to each sample in fixtures/parse/skeleton/ (``<sample>.skeleton``
and ``<sample>.defs``). After an intended change, regenerate them with
``REPOCTX_UPDATE_GOLDEN=1 pytest tests/test_skeleton.py`` and review the diff.
"""

from __future__ import annotations

import inspect
import os
import typing
from pathlib import Path

import pytest

from repoctx.parsing.languages import LANGUAGES, language_for_path
from repoctx.parsing.parse import parse_source
from repoctx.types import ParsedFile

SAMPLES = Path(__file__).parent.parent / "fixtures" / "parse" / "skeleton"
SOURCES = sorted(p for p in SAMPLES.iterdir() if p.suffix not in (".skeleton", ".defs"))
UPDATE = os.environ.get("REPOCTX_UPDATE_GOLDEN") == "1"


def _parse(sample: Path) -> ParsedFile:
    language = language_for_path(sample.name)
    assert language is not None
    return parse_source(language, sample.read_bytes(), sample.name)


def _defs_text(parsed: ParsedFile) -> str:
    return "".join(f"{d.kind} {d.name} {d.line}-{d.end_line}\n" for d in parsed.definitions)


def _check_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing golden {path.name}: run with REPOCTX_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("sample", SOURCES, ids=lambda p: p.name)
def test_skeleton_matches_golden(sample: Path) -> None:
    parsed = _parse(sample)
    assert parsed.error is None
    _check_golden(sample.with_name(sample.name + ".skeleton"), parsed.skeleton)
    _check_golden(sample.with_name(sample.name + ".defs"), _defs_text(parsed))


@pytest.mark.parametrize("sample", SOURCES, ids=lambda p: p.name)
def test_skeleton_is_smaller_and_shows_every_definition_outside_bodies(sample: Path) -> None:
    parsed = _parse(sample)
    assert len(parsed.skeleton.encode()) < len(sample.read_bytes())
    assert parsed.definitions
    functions = [d for d in parsed.definitions if d.kind in ("function", "method")]
    for definition in parsed.definitions:
        assert 1 <= definition.line <= definition.end_line
        if any(f.line < definition.line <= f.end_line for f in functions):
            continue  # inside a body: hidden on purpose
        name = definition.name.split("::")[-1].split(".")[-1].split(":")[-1]
        assert name in parsed.skeleton


def test_every_language_with_a_grammar_has_a_sample() -> None:
    covered = {language_for_path(p.name) for p in SOURCES}
    assert {lang.name for lang in LANGUAGES if lang.grammar_module} <= covered


def test_real_large_file_shrinks_a_lot() -> None:
    path = Path(inspect.getsourcefile(typing) or "")
    source = path.read_bytes()
    parsed = parse_source("python", source, path.name)
    assert len(source) > 100_000
    assert len(parsed.skeleton) < len(source) * 0.4
    for name in ("class Generic", "def overload(func):", "class NamedTuple"):
        assert name in parsed.skeleton
    assert "_caller(" not in parsed.skeleton.split("def _caller")[-1].split("\n")[1]
    assert parse_source("python", source).skeleton == parsed.skeleton  # deterministic


def test_skeleton_is_never_larger_than_the_file() -> None:
    source = b"def f():\n  x\n"
    assert parse_source("python", source).skeleton == source.decode()


def test_function_bodies_hide_their_inner_definitions() -> None:
    source = b"def outer():\n    class Local:\n        def m(self): pass\n    return Local\n"
    parsed = parse_source("python", source)
    assert "Local" not in parsed.skeleton
    assert [(d.kind, d.name) for d in parsed.definitions] == [
        ("function", "outer"), ("class", "Local"), ("method", "m")]


def test_functions_in_namespaces_are_not_methods() -> None:
    parsed = parse_source("rust", b"mod m {\n    fn f() {}\n}\nimpl T {\n    fn g() {}\n}\n")
    assert [(d.kind, d.name) for d in parsed.definitions] == [
        ("module", "m"), ("function", "f"), ("impl", "T"), ("method", "g")]


def test_crowded_lines_and_empty_bodies() -> None:
    parsed = parse_source("java", b"class A { void f() {} int g() { return 1; } }\n")
    assert parsed.skeleton == "class A { void f() {} int g() { return 1; } }\n"
    parsed = parse_source("javascript", b"function f() {}\nfunction g(a) {\n  return a;\n}\n")
    assert parsed.skeleton == "function f() {}\nfunction g(a) { … }\n"


def test_cpp_headers_named_c_fall_back_to_the_cpp_grammar() -> None:
    header = (b"#include <vector>\n"
              b"namespace geo {\n"
              b"class Shape {\n"
              b"public:\n"
              b"    struct Slot {\n"
              b"        int size() const { return 1; }\n"
              b"    };\n"
              b"    virtual double area() const = 0;\n"
              b"};\n"
              b"}\n")
    parsed = parse_source("c", header, "geo.h")
    assert parsed.error is None
    assert parsed.language == "c"
    assert [(d.kind, d.name) for d in parsed.definitions] == [
        ("namespace", "geo"), ("class", "Shape"), ("struct", "Slot"), ("method", "size"),
        ("method", "area")]
    assert "    struct Slot {\n        int size() const { … }\n    };\n" in parsed.skeleton
    plain_c = b"int broken(( {\n"
    assert parse_source("c", plain_c).error == "syntax error at line 1"
