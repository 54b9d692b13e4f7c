"""Findings: the one typed model of a review's JSON answer (review, hook, whole-repo merge).

``Finding`` and ``Findings`` are typed dicts that pydantic validates, so one definition gives
three things: the JSON schema that constrains the model (a llama.cpp grammar, or an OpenAI
``response_format``: :func:`findings_schema`), the validation of whatever came back
(:func:`validate_findings`, :func:`parse_findings`), and the static types of the code that
reads findings. They stay dicts, not model instances, on purpose: a validated answer is the
model's own JSON object, so its keys reach ``--format json`` and SARIF in the order the model
wrote them, byte for byte.

Two readings of an answer: :func:`parse_findings` is strict (``repoctx review --format
json`` fails with one line on a bad answer), :func:`read_answer` is lenient for callers that
must keep what they can — llama.cpp's schema grammar lets raw control characters into
strings (strict JSON rejects them), and an answer cut off at its token limit still holds the
findings completed before the cut.

pydantic is imported here and only here, so the hook's cheap path never pays for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, cast, get_args

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict

from repoctx.errors import ModelError

Severity = Literal["high", "medium", "low", "info"]
Category = Literal["bug", "risk", "design", "refactor", "test", "performance", "security", "docs"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)  # worst first
CATEGORIES: tuple[Category, ...] = get_args(Category)
MAX_SCHEMA_PATHS = 1000  # beyond this the path enum makes the grammar too large
_NOT_CONSTRAINTS = ("title", "description", "$defs")  # dropped from the schema sent out


@with_config(ConfigDict(extra="forbid", strict=True))
class Finding(TypedDict):
    """One problem at one line: strict types, no other keys (``line`` 1-based)."""

    path: str
    line: Annotated[int, Field(ge=1)]
    severity: Severity
    category: Category
    message: str
    suggestion: str


@with_config(ConfigDict(extra="forbid", strict=True))
class Findings(TypedDict):
    """The whole answer: the findings and a one-paragraph summary."""

    findings: list[Finding]
    summary: str


FINDING_FIELDS: tuple[str, ...] = tuple(Finding.__annotations__)


@cache
def _document() -> TypeAdapter[Findings]:
    """Built on first use (tens of ms): importing this module stays cheap."""
    return TypeAdapter(Findings)


@cache
def _finding() -> TypeAdapter[Finding]:
    return TypeAdapter(Finding)


def findings_schema(
    paths: Sequence[str] = (), *, max_findings: int = 20, max_chars: int | None = None
) -> dict[str, Any]:
    """The JSON schema of :class:`Findings`, with this call's bounds; ``paths`` (when few
    enough) pins ``path`` to real files.

    Self-contained (no ``$ref``, no titles): some servers' schema-to-grammar converters do
    not follow references. ``max_chars`` bounds the text fields (for the tiny fallback
    model, which otherwise fills its token budget with one string). Keep it small:
    llama.cpp's GBNF expresses a length bound as nested optional rules and rejects grammars
    with very deep ones.
    """
    schema = _inline(_document().json_schema())
    finding = schema["properties"]["findings"]["items"]
    schema["properties"]["findings"]["maxItems"] = max_findings
    if 0 < len(paths) <= MAX_SCHEMA_PATHS:
        finding["properties"]["path"] = {"enum": sorted(set(paths))}
    if max_chars is not None:
        for key in ("message", "suggestion"):
            finding["properties"][key]["maxLength"] = max_chars
        schema["properties"]["summary"]["maxLength"] = max_chars * 3
    return schema


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every ``#/$defs/`` reference replaced by its definition, titles and
    descriptions (docstrings, not constraints) gone."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:  # a schema node: its "properties" map names to nodes
        if not isinstance(node, dict):
            return [walk(v) for v in node] if isinstance(node, list) else node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return walk(defs[ref.removeprefix("#/$defs/")])
        out = {k: walk(v) for k, v in node.items() if k not in _NOT_CONSTRAINTS}
        if "properties" in node:
            out["properties"] = {name: walk(sub) for name, sub in node["properties"].items()}
        return out

    result: dict[str, Any] = walk(schema)
    return result


def _where(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "top level"


def validate_findings(doc: Any) -> list[str]:
    """Problems with ``doc`` against :class:`Findings`, one line each (empty list: valid)."""
    try:
        _document().validate_python(doc)
    except ValidationError as exc:
        return [f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors()]
    return []


def is_finding(item: Any) -> bool:
    """Whether ``item`` is one valid :class:`Finding`."""
    try:
        _finding().validate_python(item)
    except ValidationError:
        return False
    return True


def valid_findings(items: Iterable[Any]) -> list[Finding]:
    """The valid findings among ``items`` (copies, in order); the rest are dropped."""
    return [cast(Finding, dict(item)) for item in items if is_finding(item)]


def parse_findings(text: str) -> Findings:
    """The model's JSON answer as a validated findings document, or a one-line ModelError."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        hint = " (the answer was cut off: raise --max-tokens)" if text.strip() else ""
        raise ModelError(f"the model's answer is not valid JSON{hint}: {exc}") from exc
    errors = validate_findings(doc)
    if errors:
        raise ModelError(f"the model's JSON does not match the findings schema: {errors[0]}")
    return cast(Findings, doc)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a lenient reading found: the whole document when it validates; else the
    complete objects at the start of its ``findings`` array (unvalidated) and whether that
    array was closed."""

    doc: Findings | None
    objects: list[dict[str, Any]]
    closed: bool


def read_answer(text: str) -> Answer:
    """The answer read leniently: raw control characters allowed, a cut-off tolerated."""
    try:
        doc = json.loads(text, strict=False)
    except ValueError:
        doc = None
    if doc is not None and not validate_findings(doc):
        return Answer(cast(Findings, doc), [], True)
    objects, closed = complete_objects(text)
    return Answer(None, objects, closed)


def complete_objects(text: str) -> tuple[list[dict[str, Any]], bool]:
    """(the complete objects at the start of the ``"findings"`` array, whether the array was
    closed) from a possibly cut-off answer."""
    start = text.find('"findings"')
    bracket = text.find("[", start) if start >= 0 else -1
    if bracket < 0:
        return [], False
    decoder = json.JSONDecoder(strict=False)
    found: list[dict[str, Any]] = []
    pos = bracket + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] != "{":
            return found, pos < len(text) and text[pos] == "]"
        try:
            item, pos = decoder.raw_decode(text, pos)
        except ValueError:
            return found, False
        if isinstance(item, dict):
            found.append(item)


def severity_rank(severity: str) -> int:
    """0 for the worst severity; unknown severities rank after every known one."""
    known: tuple[str, ...] = SEVERITIES
    return known.index(severity) if severity in known else len(known)
