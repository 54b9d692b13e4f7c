"""Static facts that ground the review: computed by repoctx itself, identical on every run.

The model is asked to explain and prioritise, not to discover structure it may hallucinate:
dependency cycles, the files most depended upon (a change there breaks the most), the files
that depend on the most, the largest functions and the files nothing imports come from the
dependency graph and the parsed definitions. They are printed as their own section even when
no model runs, and handed to the model inside the prompt.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from repoctx.types import Definition, Graph

if TYPE_CHECKING:
    from repoctx.scanning.repo import Repo

FUNCTION_KINDS = {"function", "method", "constructor", "closure", "lambda", "fn"}
_ENTRY_NAMES = {
    "__main__.py", "__init__.py", "main.py", "setup.py", "conftest.py", "manage.py",
    "main.go", "main.rs", "lib.rs", "build.rs", "mod.rs", "index.js", "index.ts", "index.tsx",
    "main.c", "main.cpp", "program.cs", "app.py", "wsgi.py", "asgi.py",
}  # fmt: skip
_TEST_RE = re.compile(
    r"(^|/)(tests?|spec|__tests__)/|(^|/)(test_[^/]*|[^/]*_test\.\w+|[^/]*\.(test|spec)\.\w+)$"
)


@dataclass(frozen=True, slots=True)
class FileCount:
    path: str
    count: int


@dataclass(frozen=True, slots=True)
class LongFunction:
    path: str
    name: str
    line: int
    lines: int


@dataclass(slots=True)
class StaticFacts:
    files: int = 0
    edges: int = 0
    cycles: list[list[str]] = field(default_factory=list)
    fan_in: list[FileCount] = field(default_factory=list)
    fan_out: list[FileCount] = field(default_factory=list)
    largest_functions: list[LongFunction] = field(default_factory=list)
    unimported: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "edges": self.edges,
            "cycles": self.cycles,
            "fan_in": [{"path": f.path, "dependents": f.count} for f in self.fan_in],
            "fan_out": [{"path": f.path, "dependencies": f.count} for f in self.fan_out],
            "largest_functions": [
                {"path": f.path, "name": f.name, "line": f.line, "lines": f.lines}
                for f in self.largest_functions
            ],
            "unimported": self.unimported,
        }

    def to_markdown(self) -> str:
        out = [
            "## Static facts (computed by repoctx)",
            "",
            f"{self.files} source files, {self.edges} internal dependencies.",
            "",
        ]
        out += _section(
            "Dependency cycles",
            [" → ".join([*c, c[0]]) for c in self.cycles],
            "none",
        )
        out += _section(
            "Most depended-upon files (fan-in)",
            [f"`{f.path}` — {_n(f.count, 'dependent')}" for f in self.fan_in],
        )
        out += _section(
            "Files with the most dependencies (fan-out)",
            [f"`{f.path}` — {_n(f.count, 'dependency', 'dependencies')}" for f in self.fan_out],
        )
        out += _section(
            "Largest functions",
            [f"`{f.path}:{f.line}` {f.name} — {f.lines} lines" for f in self.largest_functions],
        )
        out += _section(
            "Files nothing imports (entry points, tests excluded)",
            [f"`{p}`" for p in self.unimported],
        )
        return "\n".join(out).rstrip() + "\n"


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _section(title: str, items: Sequence[str], empty: str = "none found") -> list[str]:
    body = [f"- {item}" for item in items] or [f"- {empty}"]
    return [f"### {title}", "", *body, ""]


def analyse(
    graph: Graph, definitions: Mapping[str, Sequence[Definition]], *, limit: int = 10
) -> StaticFacts:
    """Facts from the dependency graph and each file's definitions (deterministic order)."""
    pairs = {(e.source, e.target) for e in graph.edges if e.source != e.target}
    fan_in = Counter(target for _, target in pairs)
    fan_out = Counter(source for source, _ in pairs)
    return StaticFacts(
        files=len(graph.files),
        edges=len(pairs),
        cycles=[list(c) for c in graph.cycles],
        fan_in=_top(fan_in, limit),
        fan_out=_top(fan_out, limit),
        largest_functions=_largest(definitions, limit),
        unimported=_unimported(graph, fan_in, _code_files(definitions, fan_out), limit * 2),
    )


def _top(counts: Counter[str], limit: int) -> list[FileCount]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [FileCount(path, n) for path, n in ranked[:limit] if n > 0]


def _largest(definitions: Mapping[str, Sequence[Definition]], limit: int) -> list[LongFunction]:
    funcs = [
        LongFunction(path, d.name, d.line, d.end_line - d.line + 1)
        for path, defs in definitions.items()
        for d in defs
        if d.kind in FUNCTION_KINDS and d.end_line >= d.line
    ]
    funcs.sort(key=lambda f: (-f.lines, f.path, f.line))
    return funcs[:limit]


def is_test_path(path: str) -> bool:
    return bool(_TEST_RE.search(path))


def _code_files(definitions: Mapping[str, Sequence[Definition]], fan_out: Counter[str]) -> set[str]:
    """Files that define or import something (READMEs and data files are not suspects)."""
    return {p for p, defs in definitions.items() if defs} | {p for p, n in fan_out.items() if n}


def _unimported(graph: Graph, fan_in: Counter[str], code: set[str], limit: int) -> list[str]:
    """Code files no other file imports, minus entry points and tests: dead-code suspects."""
    out = [
        path
        for path, language in sorted(graph.files.items())
        if language is not None
        and path in code
        and fan_in[path] == 0
        and PurePosixPath(path).name.lower() not in _ENTRY_NAMES
        and not is_test_path(path)
    ]
    return out[:limit]


def facts_for_repo(repo: Repo, *, limit: int = 10) -> StaticFacts:
    """:func:`analyse` over a scanned repository."""
    definitions = {
        path: f.parsed.definitions for path, f in repo.files.items() if f.parsed is not None
    }
    return analyse(repo.graph, definitions, limit=limit)
