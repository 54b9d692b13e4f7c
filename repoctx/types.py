"""The records that flow between pipeline stages.

Every stage hands the next one plain, frozen data so that stages can be run, cached and
tested in isolation (walk → parse → graph → order → tokens → budget → pack → llm).
Paths are always repo-relative POSIX strings; absolute paths never leave ``walk``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# ParsedFile.error of a file whose parse was stopped by its bounds (repoctx.parsing.parse): the scan
# lists such a file instead of packing it
PARSE_TOO_SLOW = "parse took too long"

Tier = Literal["full", "skeleton", "listed", "excluded"]

# The llama.cpp KV cache types every command accepts (--kv-type of budget, doctor, review,
# tui, serve): the planner sizes them (budget/memory.py) and the loader maps them to ggml
# types (llm/runtime.py). One list, so a type one command takes is never refused by another.
KV_CACHE_TYPES: tuple[str, ...] = ("f16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl", "f32")

# How one file depends on another. "import" is the plain case; the others let users and
# the ranking tell weaker or special dependencies apart:
#   type       – type-only (TypeScript ``import type``, Python under ``TYPE_CHECKING``)
#   re-export  – ``export … from`` (the importer passes names through)
#   lazy       – an import inside a function body (runs only when called), Ruby ``autoload``
#   include    – C/C++ ``#include "…"``
#   mod        – Rust ``mod x;`` (the parent owns the child module)
#   dynamic    – ``import("…")``, ``importlib.import_module("…")`` with a literal path
#   require    – Ruby ``require``/``require_relative``, CommonJS ``require("…")``
#   use        – namespace imports that name a type (Java/Kotlin/C#/PHP ``use``/``using``)
EdgeKind = Literal[
    "import", "type", "re-export", "lazy", "include", "mod", "dynamic", "require", "use"
]

# The kinds that load their target when the importing file itself loads. Only these order
# files strictly and make import cycles; "type", "lazy" and "dynamic" edges stay in the graph
# (users see them) but never force an order inside a cycle (repoctx.graph.order).
RUNTIME_KINDS: frozenset[EdgeKind] = frozenset(
    {"import", "re-export", "include", "mod", "require", "use"}
)

ImportScope = Literal["module", "function", "type-checking"]


@dataclass(frozen=True, slots=True)
class ImportRef:
    """One import-like statement exactly as written; resolve/ turns it into edges.

    ``module`` is the specifier text with surrounding quotes/brackets stripped but otherwise
    untouched ("..pkg.mod", "./util", "crate::a::{b, c}", "foo/bar.h", "App\\Models\\User"),
    because only the language's resolver knows how to read it.
    """

    module: str
    kind: EdgeKind
    line: int
    names: tuple[str, ...] = ()
    scope: ImportScope = "module"
    system: bool = False  # C/C++ ``<angle>`` include: usually outside the repo


@dataclass(frozen=True, slots=True)
class Definition:
    """A named definition, used for skeletons, static analysis and file:line grounding."""

    kind: str  # "class", "function", "method", "interface", "struct", "enum", "module", ...
    name: str
    line: int  # 1-based first line
    end_line: int  # 1-based last line


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """What parse learned about one file's content (cached by content hash)."""

    language: str
    imports: tuple[ImportRef, ...] = ()
    definitions: tuple[Definition, ...] = ()
    skeleton: str = ""
    error: str | None = None  # e.g. "syntax errors at lines 3, 17" – reported, never fatal


@dataclass(frozen=True, slots=True)
class Edge:
    """``source`` depends on ``target`` (``source`` imports ``target``)."""

    source: str
    target: str
    kind: EdgeKind


@dataclass(frozen=True, slots=True)
class Problem:
    """A file the run could not use fully, with the one-line reason shown to the user."""

    path: str
    reason: str


@dataclass(slots=True)
class Graph:
    """The file dependency graph: nodes are repo paths, edges point from importer to imported."""

    files: dict[str, str | None] = field(default_factory=dict)  # path → language
    edges: list[Edge] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)  # SCCs with >1 file, sorted
