"""Static facts that ground the review: computed by repoctx itself, identical on every run.

The model is asked to explain and prioritise, not to discover structure it may hallucinate:
dependency cycles, the files most depended upon (a change there breaks the most), the files
that depend on the most, the largest functions and the files nothing imports come from the
dependency graph and the parsed definitions. They are printed as their own section even when
no model runs, and handed to the model inside the prompt.

Each list leads with what a reviewer would act on. Fixtures and test data are left out of
every fact (they are inputs, not the system); source files rank before benchmarks, examples
and scripts, and those before tests. Cycles are runtime import cycles (``Graph.cycles``),
larger ones first, each shown as a real chain of imports. Fan-in counts dependents among
source files only, and a module that imports nothing in the repository (errors, types,
constants) ranks after the modules that have dependencies of their own: those carry a change
onward, a leaf definition file rarely does.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from repoctx.graph.build import cycle_path, runtime_edges
from repoctx.scanning.walk import FIXTURE_RE
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
# inputs of tests, never part of the system: left out of every fact (the same pattern a
# review leaves out of its pack)
_FIXTURE_RE = FIXTURE_RE
# code run on its own rather than imported: never a dead-code suspect, ranked after source
_STANDALONE_RE = re.compile(
    r"(^|/)(examples?|samples?|demos?|bench|benchmarks?|docs?|scripts?)/"
)
SOURCE, STANDALONE, TEST, FIXTURE = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class FileCount:
    path: str
    count: int
    leaf: bool = False  # imports nothing in the repository


@dataclass(frozen=True, slots=True)
class Cycle:
    """A runtime import cycle: its files (sorted) and one real chain of imports through it."""

    files: list[str]
    path: list[str]  # [a, b, c]: a imports b, b imports c, c imports a


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
    cycles: list[Cycle] = field(default_factory=list)
    more_cycles: int = 0  # cycles beyond the limit
    fixtures: int = 0  # fixture and test-data files left out of the facts
    fan_in: list[FileCount] = field(default_factory=list)
    fan_out: list[FileCount] = field(default_factory=list)
    largest_functions: list[LongFunction] = field(default_factory=list)
    unimported: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "edges": self.edges,
            "cycles": [c.files for c in self.cycles],
            "cycle_paths": [c.path for c in self.cycles],
            "more_cycles": self.more_cycles,
            "fixtures_left_out": self.fixtures,
            "fan_in": [{"path": f.path, "dependents": f.count, "leaf": f.leaf}
                       for f in self.fan_in],
            "fan_out": [{"path": f.path, "dependencies": f.count} for f in self.fan_out],
            "largest_functions": [
                {"path": f.path, "name": f.name, "line": f.line, "lines": f.lines}
                for f in self.largest_functions
            ],
            "unimported": self.unimported,
        }

    def to_markdown(self) -> str:
        left_out = (f" Fixtures and test data ({_n(self.fixtures, 'file')}) are left out below."
                    if self.fixtures else "")
        out = [
            "## Static facts (computed by repoctx)",
            "",
            f"{self.files} files, {self.edges} internal dependencies.{left_out}",
            "",
        ]
        cycles = [_cycle_line(c) for c in self.cycles]
        if self.more_cycles:
            cycles.append(f"… and {_n(self.more_cycles, 'smaller cycle')}")
        out += _section("Dependency cycles (runtime imports, largest first)", cycles, "none")
        out += _section(
            "Most depended-upon files (fan-in from source files; modules that import nothing "
            "come last)",
            [f"`{f.path}` — {_n(f.count, 'dependent')}{' (imports nothing)' if f.leaf else ''}"
             for f in self.fan_in],
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
            "Files nothing imports (entry points, tests, examples, benchmarks and scripts "
            "excluded)",
            [f"`{p}`" for p in self.unimported],
        )
        return "\n".join(out).rstrip() + "\n"


def _cycle_line(cycle: Cycle) -> str:
    chain = " → ".join(f"`{p}`" for p in [*cycle.path, cycle.path[0]])
    rest = len(cycle.files) - len(cycle.path)
    if not rest:
        return chain
    return f"{_n(len(cycle.files), 'file')}, e.g. {chain} (and {_n(rest, 'other file')})"


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
    fan_out = Counter(source for source, _ in pairs)
    kept = {(s, t) for s, t in pairs if path_class(s) != FIXTURE and path_class(t) != FIXTURE}
    fan_in = Counter(t for s, t in kept if path_class(s) == SOURCE)
    cycles, total = _cycles(graph, limit)
    return StaticFacts(
        files=len(graph.files),
        edges=len(pairs),
        cycles=cycles,
        more_cycles=total - len(cycles),
        fixtures=sum(1 for path in graph.files if path_class(path) == FIXTURE),
        fan_in=_fan_in(fan_in, fan_out, limit),
        fan_out=_top(Counter(s for s, _ in kept), limit),
        largest_functions=_largest(definitions, limit),
        unimported=_unimported(graph, Counter(t for _, t in pairs),
                               _code_files(definitions, fan_out), limit * 2),
    )


def path_class(path: str) -> int:
    """What a path is to a reviewer: SOURCE, STANDALONE (examples, benchmarks, scripts,
    docs), TEST, or FIXTURE (fixtures and test data, left out of every fact)."""
    if _FIXTURE_RE.search(path):
        return FIXTURE
    if is_test_path(path):
        return TEST
    if _STANDALONE_RE.search(path):
        return STANDALONE
    return SOURCE


def _cycles(graph: Graph, limit: int) -> tuple[list[Cycle], int]:
    """The first ``limit`` runtime cycles outside fixtures — source before tests, larger
    first, then by path — and how many there are in all."""
    edges = runtime_edges(graph.edges)
    kept = [c for c in graph.cycles if not any(path_class(p) == FIXTURE for p in c)]
    kept.sort(key=lambda c: (max(path_class(p) for p in c), -len(c), c))
    return [Cycle(list(c), cycle_path(c, edges)) for c in kept[:limit]], len(kept)


def _fan_in(counts: Counter[str], fan_out: Counter[str], limit: int) -> list[FileCount]:
    """Most dependents first, but a module that imports nothing after every one that does."""
    ranked = sorted(counts.items(), key=lambda kv: (fan_out[kv[0]] == 0, -kv[1], kv[0]))
    return [FileCount(path, n, fan_out[path] == 0) for path, n in ranked[:limit] if n > 0]


def _top(counts: Counter[str], limit: int) -> list[FileCount]:
    """Largest counts first, source files before standalone code and tests."""
    ranked = sorted(counts.items(), key=lambda kv: (path_class(kv[0]), -kv[1], kv[0]))
    return [FileCount(path, n) for path, n in ranked[:limit] if n > 0]


def _largest(definitions: Mapping[str, Sequence[Definition]], limit: int) -> list[LongFunction]:
    funcs = [
        LongFunction(path, d.name, d.line, d.end_line - d.line + 1)
        for path, defs in definitions.items()
        if path_class(path) != FIXTURE
        for d in defs
        if d.kind in FUNCTION_KINDS and d.end_line >= d.line
    ]
    funcs.sort(key=lambda f: (path_class(f.path), -f.lines, f.path, f.line))
    return funcs[:limit]


def is_test_path(path: str) -> bool:
    return bool(_TEST_RE.search(path))


def _code_files(definitions: Mapping[str, Sequence[Definition]], fan_out: Counter[str]) -> set[str]:
    """Files that define or import something (READMEs and data files are not suspects)."""
    return {p for p, defs in definitions.items() if defs} | {p for p, n in fan_out.items() if n}


def _unimported(graph: Graph, fan_in: Counter[str], code: set[str], limit: int) -> list[str]:
    """Source files no other file imports, minus entry points: dead-code suspects."""
    out = [
        path
        for path, language in sorted(graph.files.items())
        if language is not None
        and path in code
        and fan_in[path] == 0
        and PurePosixPath(path).name.lower() not in _ENTRY_NAMES
        and path_class(path) == SOURCE
    ]
    return out[:limit]


def facts_for_repo(repo: Repo, *, limit: int = 10) -> StaticFacts:
    """:func:`analyse` over a scanned repository."""
    definitions = {
        path: f.parsed.definitions for path, f in repo.files.items() if f.parsed is not None
    }
    return analyse(repo.graph, definitions, limit=limit)
