"""Java and Kotlin: fully qualified names → the files that declare them.

A file's package comes from its ``package`` line (read once from the source: cheap and
exact), or, without one, from its path under a conventional source root
(``src/main/java`` …). Its classes are the file stem (Java's public class) plus the
top-level definitions parse found, and for Kotlin (whose files may declare several classes,
functions and properties) the column-0 declarations read from the source, plus the
``@file:JvmName`` facade class Java code imports.
``import a.b.C.Inner`` and ``import static a.b.C.m`` resolve to the longest qualified name
that is a known class, i.e. ``C``'s file; ``import a.b.*`` → every file of package ``a.b``
(or the class ``a.b`` for a static wildcard on a class).
"""

from __future__ import annotations

import re
from collections import defaultdict

from repoctx.graph.resolve.base import ResolveContext, top_level_names
from repoctx.types import ImportRef

_PACKAGE = re.compile(r"^[ \t]*package[ \t]+([\w.`]+)", re.MULTILINE)
_ALIAS = re.compile(r"\s+as\s+\S+$")
# Kotlin top-level declarations start in column 0: ``fun User.loud()``, ``val x``, ``object O``
_KOTLIN_TOP = re.compile(
    r"^(?:@\w+(?:\([^)\n]*\))?\s+|[a-z]+\s+)*"
    r"(?:fun|val|var|class|interface|object|typealias)\s+(?:<[^>\n]*>\s*)?(?:[\w.]+(?:<[^>\n]*>)?\??\.)?(\w+)",
    re.MULTILINE,
)
_SOURCE_ROOTS = (
    "src/main/java/", "src/main/kotlin/", "src/test/java/", "src/test/kotlin/",
    "src/jvmMain/kotlin/", "src/commonMain/kotlin/", "src/androidMain/kotlin/", "src/",
)
# ``@file:JvmName("Okio")``: Java sees the file's top-level functions as class ``Okio``
_JVM_NAME = re.compile(r'^@file:JvmName\(\s*"(\w+)"\s*\)', re.MULTILINE)
_CLASS_KINDS = frozenset({
    "class", "interface", "enum", "record", "annotation", "object", "trait", "type",
    "typealias", "function",
})
_LANGUAGES = ("java", "kotlin")
_HEAD_BYTES = 16 * 1024


class JvmResolver:
    def __init__(self, ctx: ResolveContext) -> None:
        self._classes: dict[str, list[str]] = defaultdict(list)
        self._packages: dict[str, list[str]] = defaultdict(list)
        for path in sorted(p for p, lang in ctx.files.items() if lang in _LANGUAGES):
            package = self._package_of(ctx, path)
            self._packages[package].append(path)
            for name in self._declared(ctx, path):
                fqn = f"{package}.{name}" if package else name
                if path not in self._classes[fqn]:
                    self._classes[fqn].append(path)

    def _package_of(self, ctx: ResolveContext, path: str) -> str:
        match = _PACKAGE.search(ctx.read_text(path, _HEAD_BYTES) or "")
        if match:
            return match.group(1).replace("`", "")
        for root in _SOURCE_ROOTS:
            at = path.find(root)
            if at == 0 or (at > 0 and path[at - 1] == "/"):
                return path[at + len(root) :].rpartition("/")[0].replace("/", ".")
        return ""

    def _declared(self, ctx: ResolveContext, path: str) -> list[str]:
        """The stem first (Java's one public class), then top-level definitions from parse."""
        names = [path.rpartition("/")[2].rpartition(".")[0]]
        names += top_level_names(ctx.parsed.get(path), _CLASS_KINDS)
        if ctx.files.get(path) == "kotlin":
            text = ctx.read_text(path) or ""
            names += _KOTLIN_TOP.findall(text) + _JVM_NAME.findall(text)
        return names

    def resolve(self, path: str, ref: ImportRef) -> list[str]:
        module = _ALIAS.sub("", ref.module.strip()).removeprefix("static ").strip()
        wildcard = module.endswith(".*") or ref.names == ("*",)
        module = module.removesuffix(".*").rstrip(";")
        parts = [p for p in module.replace("`", "").split(".") if p]
        if not parts:
            return []
        if wildcard:
            package = ".".join(parts)
            if package in self._packages:
                return list(self._packages[package])
        for cut in range(len(parts), min(len(parts), 2) - 1, -1):
            files = self._classes.get(".".join(parts[:cut]))
            if files:  # several files: Kotlin expect/actual declarations, duplicate modules
                return list(files)
        return []
