"""Every parse is bounded (issue 16 item 14): tree-sitter took 496 s on 163 KB of ``[[[[``
in Lua and 20-38 s on 124 KB of nested brackets in most grammars. A file past a bound is
listed with its reason; no normal file's parse changes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from repoctx.cli import main
from repoctx.parsing import parse
from repoctx.parsing.languages import language_for_path
from repoctx.parsing.parse import TOO_SLOW, parse_source

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REPOCTX = Path(parse.__file__).resolve().parent
# (language, prefix, repeated unit): openers in a row, one per line, as test data ships them
NESTED = [
    ("lua", "x = ", "[[\n"), ("python", "x = ", "[\n"), ("javascript", "x = ", "( [ {\n"),
    ("c", "int x = ", "{\n"), ("rust", "fn f() { let x = ", "(\n"), ("java", "class A {", "{\n"),
    ("ruby", "x = ", "[\n"), ("go", "var x = ", "[\n"),
]
# nested with something between the openers
INTERLEAVED = [("python", "x = ", "[a"), ("javascript", "x = ", "[a"), ("c", "int x = ", "{a"),
               ("ruby", "x = ", "[a")]  # fmt: skip


@pytest.mark.parametrize("language, prefix, unit", NESTED, ids=[n[0] for n in NESTED])
def test_brackets_nested_in_a_row_are_not_parsed(language: str, prefix: str,
                                                 unit: str) -> None:
    source = (prefix + unit * (124_000 // len(unit))).encode()
    started = time.perf_counter()
    parsed = parse_source(language, source, "deep")
    assert time.perf_counter() - started < 2
    assert parsed.error is not None and parsed.error.startswith(TOO_SLOW)
    assert (parsed.imports, parsed.definitions, parsed.skeleton) == ((), (), "")


@pytest.mark.parametrize("language, prefix, unit", INTERLEAVED,
                         ids=[n[0] for n in INTERLEAVED])
def test_deep_nesting_is_not_parsed(language: str, prefix: str, unit: str) -> None:
    """Never many openers in a row, but 40,000 deep: the query alone took seconds."""
    source = (prefix + unit * 40_000).encode()
    started = time.perf_counter()
    parsed = parse_source(language, source, "deep")
    assert time.perf_counter() - started < 2
    assert parsed.error == f"{TOO_SLOW}: brackets nested over {parse.MAX_NESTING} deep " \
                           "(not parsed)"


@pytest.mark.parametrize("language, line, normal", [
    ("python", "x = f(1)\n", b"import os\n"), ("lua", "x = f(1)\n", b"local x = require('y')\n"),
    ("javascript", "x = f(1);\n", b"import x from './x'\n"),
    ("c", "int x = 1;\n", b"#include \"x.h\"\n"),
])  # fmt: skip
def test_a_parse_past_its_cpu_time_is_stopped_and_the_parser_still_works(
        monkeypatch: pytest.MonkeyPatch, language: str, line: str, normal: bytes) -> None:
    source = (line * 40_000).encode()
    monkeypatch.setattr(parse, "PARSE_CPU_SECONDS", 0.0005)
    parsed = parse_source(language, source, "slow")
    assert parsed.error == f"{TOO_SLOW}: over 0.0005 s (not parsed)"
    monkeypatch.setattr(parse, "PARSE_CPU_SECONDS", 10.0)
    again = parse_source(language, normal)  # a stopped parse left nothing behind
    assert again.imports and again.error is None
    assert parse_source(language, source).error is None


def _normal_files() -> list[tuple[str, Path]]:
    found = [(lang, path) for path in sorted([*FIXTURES.rglob("*"), *REPOCTX.rglob("*.py")])
             if path.is_file() and (lang := language_for_path(path.name))
             and parse.has_grammar(lang)]
    assert len({lang for lang, _ in found}) >= 10
    return found


def test_the_bounds_change_no_normal_files_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    files = _normal_files()
    bounded = [parse_source(lang, path.read_bytes(), str(path)) for lang, path in files]
    monkeypatch.setattr(parse, "PARSE_CPU_SECONDS", float("inf"))
    monkeypatch.setattr(parse, "MAX_NESTING", 10**9)
    unbounded = [parse_source(lang, path.read_bytes(), str(path)) for lang, path in files]
    assert bounded == unbounded
    assert not [p for p in bounded if p.error and p.error.startswith(TOO_SLOW)]


def test_a_pathological_file_is_listed_with_its_reason(tmp_path: Path, capsys) -> None:
    import bad_inputs

    root = bad_inputs.pathological_nesting(tmp_path)
    manifest = tmp_path / "m.json"
    started = time.perf_counter()
    assert main(["pack", str(root), "--budget", "4000", "--manifest", str(manifest)]) == 0
    assert time.perf_counter() - started < 20
    err = capsys.readouterr().err
    rows = {r["path"]: r for r in json.loads(manifest.read_text())["files"]}
    for name in ("deep.lua", "deep.js"):
        assert rows[name]["tier"] == "listed"
        assert str(rows[name]["reason"]).startswith(TOO_SLOW)
        assert f"{name}: {TOO_SLOW}" in err
    assert rows["ok.py"]["tier"] == "full"
    assert main(["pack", str(root), "--budget", "4000", "--manifest", str(manifest)]) == 0
    again = {r["path"]: r for r in json.loads(manifest.read_text())["files"]}
    assert again["deep.lua"] == rows["deep.lua"]  # from the cache, the same
    assert f"deep.lua: {TOO_SLOW}" in capsys.readouterr().err
