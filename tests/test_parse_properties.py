"""Property tests: whatever the bytes, parse_source returns a sane ParsedFile and never raises."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repoctx.parsing.languages import LANGUAGES, language_for_path
from repoctx.parsing.parse import parse_source
from repoctx.types import ParsedFile

GRAMMAR_LANGUAGES = sorted(lang.name for lang in LANGUAGES if lang.grammar_module)
SAMPLES = Path(__file__).parent.parent / "fixtures" / "parse" / "skeleton"
SOURCES = sorted(p for p in SAMPLES.iterdir() if p.suffix not in (".skeleton", ".defs"))
FAST = settings(max_examples=80, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _check(language: str, source: bytes) -> ParsedFile:
    parsed = parse_source(language, source)
    assert parsed.language == language
    assert parsed.error is None or not parsed.error.startswith("parse failed"), parsed.error
    assert len(parsed.skeleton) <= len(source)  # never larger than the file
    lines = source.count(b"\n") + 1
    for definition in parsed.definitions:
        assert 1 <= definition.line <= definition.end_line <= lines
        assert definition.name
    for ref in parsed.imports:
        assert 1 <= ref.line <= lines
        assert ref.module
    return parsed


@FAST
@given(st.sampled_from(GRAMMAR_LANGUAGES), st.binary(max_size=3000))
def test_arbitrary_bytes(language: str, source: bytes) -> None:
    _check(language, source)


@st.composite
def mutated_sample(draw: st.DrawFn) -> tuple[str, bytes]:
    """A real sample with a few spans deleted, duplicated or overwritten."""
    path = draw(st.sampled_from(SOURCES))
    source = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(source)))
        end = draw(st.integers(start, min(len(source), start + 200)))
        action = draw(st.sampled_from(["delete", "duplicate", "overwrite"]))
        if action == "delete":
            del source[start:end]
        elif action == "duplicate":
            source[start:start] = source[start:end]
        else:
            source[start:end] = draw(st.binary(max_size=40))
    language = language_for_path(path.name)
    assert language is not None
    return language, bytes(source)


@FAST
@given(mutated_sample())
def test_mutated_real_sources(case: tuple[str, bytes]) -> None:
    _check(*case)


@FAST
@given(st.sampled_from(SOURCES), st.data())
def test_truncated_sources(path: Path, data: st.DataObject) -> None:
    source = path.read_bytes()
    cut = data.draw(st.integers(0, len(source)))
    language = language_for_path(path.name)
    assert language is not None
    _check(language, source[:cut])
