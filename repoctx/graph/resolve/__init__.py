"""Import resolution: ImportRefs (what parse saw written) → edges between repo files.

One module per language family, each a class with ``resolve(path, ref) -> targets``, built
lazily the first time a file of that family needs it (so a Go repo never reads tsconfigs).
Only targets inside the walked file set are produced; anything else is external.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from repoctx.graph.resolve.base import PathIndex, ResolveContext, Resolver, effective_kind
from repoctx.types import Edge, ImportRef, ParsedFile

# language name (repoctx.parsing.languages) → resolver family module
FAMILIES: dict[str, str] = {
    "python": "python",
    "javascript": "js",
    "typescript": "js",
    "tsx": "js",
    "go": "go",
    "rust": "rust",
    "java": "jvm",
    "kotlin": "jvm",
    "c": "c",
    "cpp": "c",
    "csharp": "csharp",
    "ruby": "ruby",
    "php": "php",
}


# families whose resolvers read the files' definitions (top-level type names), not only their
# imports: a scan that only feeds the graph extracts definitions for these alone
_READ_DEFINITIONS = frozenset({"jvm", "csharp", "php"})


def reads_definitions(language: str | None) -> bool:
    """Whether resolving imports needs ``language``'s definitions (see ``top_level_names``)."""
    return FAMILIES.get(language or "") in _READ_DEFINITIONS


def _factories() -> dict[str, Callable[[ResolveContext], Resolver]]:
    """Family name → resolver class; imported here so that each module stays independent."""
    # on first use: the resolvers cost tens of ms to import, and parse workers import this
    # package only for reads_definitions
    from repoctx.graph.resolve.c import CResolver
    from repoctx.graph.resolve.csharp import CSharpResolver
    from repoctx.graph.resolve.go import GoResolver
    from repoctx.graph.resolve.js import JsResolver
    from repoctx.graph.resolve.jvm import JvmResolver
    from repoctx.graph.resolve.php import PhpResolver
    from repoctx.graph.resolve.python import PythonResolver
    from repoctx.graph.resolve.ruby import RubyResolver
    from repoctx.graph.resolve.rust import RustResolver

    return {
        "python": PythonResolver,
        "js": JsResolver,
        "go": GoResolver,
        "rust": RustResolver,
        "jvm": JvmResolver,
        "c": CResolver,
        "csharp": CSharpResolver,
        "ruby": RubyResolver,
        "php": PhpResolver,
    }


@dataclass(slots=True)
class Resolution:
    """Raw edges (duplicates allowed) and the references that led nowhere inside the repo."""

    edges: list[Edge] = field(default_factory=list)
    unresolved: list[tuple[str, ImportRef]] = field(default_factory=list)


def resolve_imports(
    root: Path, files: Mapping[str, str | None], parsed: Mapping[str, ParsedFile]
) -> Resolution:
    """Resolve every import of every parsed file; unknown languages contribute nothing."""
    ctx = ResolveContext(root=root, files=files, parsed=parsed, index=PathIndex(files))
    factories = _factories()
    resolvers: dict[str, Resolver] = {}
    result = Resolution()
    for path in sorted(parsed):
        family = FAMILIES.get(parsed[path].language or "")
        if family is None or path not in files:
            continue
        resolver = resolvers.get(family)
        if resolver is None:
            resolver = resolvers[family] = factories[family](ctx)
        for ref in parsed[path].imports:
            targets = list(resolver.resolve(path, ref))
            if not targets:
                result.unresolved.append((path, ref))
            kind = effective_kind(ref)
            result.edges.extend(Edge(path, t, kind) for t in targets if t != path)
    return result


__all__ = ["FAMILIES", "Resolution", "reads_definitions", "resolve_imports"]
