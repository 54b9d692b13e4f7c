"""JavaScript/TypeScript: specifiers → files, the way TypeScript and Node resolve them.

Order, as in TypeScript's ``bundler``/``node16`` resolution: relative specifiers against the
importing file; then tsconfig ``paths`` (longest matching prefix wins, each substitution
tried in turn); then ``baseUrl``; then packages that live in this repository (workspaces
and the package's own name) through package.json ``exports``/``imports``/``types``/
``module``/``main``. A file specifier tries the exact path, the TypeScript source for a
written ``.js`` (``./a.js`` → ``a.ts``), the extensions, then ``index.*``.

When a package's entry points at build output that is not in the repository
(``dist/index.js``), the sources are guessed: the same path under ``src/`` and with a
TypeScript extension. Everything else (node_modules, Node built-ins) is external.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from repoctx.graph.resolve.base import ResolveContext, join, parent_dir
from repoctx.graph.resolve.js_config import Package, Packages, PathAliases, TsConfigs
from repoctx.types import ImportRef

_TS_FIRST = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts", ".cts", ".json")
_JS_FIRST = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".d.ts", ".mts", ".cts", ".json")
_TS_FOR_JS = {
    ".js": (".ts", ".tsx", ".d.ts"),
    ".jsx": (".tsx",),
    ".mjs": (".mts", ".d.mts"),
    ".cjs": (".cts", ".d.cts"),
}
_IMPORT_CONDITIONS = ("import", "module", "node", "default", "require", "browser")
_REQUIRE_CONDITIONS = ("require", "node", "default", "import", "module", "browser")
_ENTRY_FIELDS = ("types", "typings", "module", "main")
_BUILD_DIRS = ("dist", "lib", "build", "out", "esm", "cjs", "es", "types")


@dataclass(frozen=True, slots=True)
class Mode:
    """How one importer resolves: extension order and package.json condition order.

    TypeScript files look for types first (``types`` condition, .ts before .js); JavaScript
    files for what Node runs (.js first; ``require`` or ``import`` by the kind of reference,
    ``types`` last).
    """

    exts: tuple[str, ...]
    conditions: tuple[str, ...]


def _mode(typescript: bool, require: bool) -> Mode:
    conditions = _REQUIRE_CONDITIONS if require else _IMPORT_CONDITIONS
    if typescript:
        return Mode(_TS_FIRST, ("types", *conditions))
    return Mode(_JS_FIRST, (*conditions, "types"))


_MODES = {(ts, req): _mode(ts, req) for ts in (True, False) for req in (True, False)}


class JsResolver:
    def __init__(self, ctx: ResolveContext) -> None:
        self._ctx = ctx
        self._index = ctx.index
        self._tsconfigs = TsConfigs(ctx)
        self._packages = Packages(ctx)

    def resolve(self, path: str, ref: ImportRef) -> list[str]:
        spec = ref.module.split("?", 1)[0]
        if not spec:
            return []
        typescript = self._ctx.files.get(path) != "javascript"
        mode = _MODES[(typescript, ref.kind == "require")]
        if spec.startswith(("./", "../")) or spec in (".", ".."):
            directory = parent_dir(path)
            found = self._file_or_dir(join(directory, spec), mode)
        elif spec.startswith("/"):
            found = None
        elif spec.startswith("#"):
            found = self._package_imports(path, spec, mode)
        else:
            found = self._bare(path, spec, mode)
        return [found] if found else []

    def _bare(self, path: str, spec: str, mode: Mode) -> str | None:
        aliases = self._tsconfigs.for_file(path)
        if aliases is not None:
            found = self._via_paths(aliases, spec, mode)
            if found is None and aliases.base_url is not None:
                found = self._file_or_dir(join(aliases.base_url, spec), mode)
            if found is not None:
                return found
        if spec.startswith("node:"):
            return None
        name, subpath = _split_package(spec)
        package = self._packages.by_name.get(name)
        if package is None:
            return None
        return self._package_entry(package, subpath, mode)

    def _via_paths(self, aliases: PathAliases, spec: str, mode: Mode) -> str | None:
        """tsconfig ``paths``: the pattern with the longest prefix before ``*`` wins."""
        best: tuple[int, str, tuple[str, ...]] | None = None
        for pattern, targets in aliases.paths:
            star = _match(pattern, spec)
            if star is None:
                continue
            prefix_len = len(pattern.split("*", 1)[0])
            if best is None or prefix_len > best[0]:
                best = (prefix_len, star, targets)
        if best is None:
            return None
        _, star, targets = best
        for target in targets:
            found = self._file_or_dir(join(aliases.paths_base, target.replace("*", star)), mode)
            if found is not None:
                return found
        return None

    def _package_entry(self, package: Package, subpath: str, mode: Mode) -> str | None:
        """A workspace package's file for ``name`` + ``subpath`` ("." or "./x")."""
        exports = package.data.get("exports")
        if exports is not None:
            for target in _export_targets(exports, subpath, mode.conditions):
                found = self._package_file(package, target, mode)
                if found is not None:
                    return found
        if subpath == ".":
            for entry in _ENTRY_FIELDS:
                value = package.data.get(entry)
                if isinstance(value, str):
                    found = self._package_file(package, value, mode)
                    if found is not None:
                        return found
            return self._source_guess(package.directory, "index", mode)
        found = self._file_or_dir(join(package.directory, subpath), mode)
        return found or self._source_guess(package.directory, subpath, mode)

    def _package_imports(self, path: str, spec: str, mode: Mode) -> str | None:
        """Subpath imports (``#internal/x``) from the nearest package.json ``imports``."""
        package = self._packages.nearest(path)
        if package is None or not isinstance(package.data.get("imports"), dict):
            return None
        for target in _subpath_targets(package.data["imports"], spec, mode.conditions):
            if target.startswith("./"):
                found = self._package_file(package, target, mode)
            else:
                found = self._bare(path, target, mode)
            if found is not None:
                return found
        return None

    def _package_file(self, package: Package, target: str, mode: Mode) -> str | None:
        found = self._file_or_dir(join(package.directory, target), mode)
        return found or self._source_guess(package.directory, target, mode)

    def _source_guess(self, directory: str, target: str, mode: Mode) -> str | None:
        """Build output named by package.json but not committed → the source it came from."""
        parts = [p for p in target.split("/") if p not in ("", ".")]
        if parts and parts[0] in _BUILD_DIRS:
            parts = parts[1:]
        if not parts:
            return None
        stem = "/".join(parts)
        for suffix in (".d.ts", ".js", ".mjs", ".cjs", ".d.mts", ".d.cts"):
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        for base in ("src", ""):
            found = self._file_or_dir(join(directory, f"{base}/{stem}"), mode)
            if found is not None:
                return found
        return None

    def _file_or_dir(self, base: str | None, mode: Mode) -> str | None:
        """Exact file, then TS source for a written .js, then extensions, then index.*."""
        if base is None:
            return None
        index = self._index
        if base in index:
            return base
        dot = base.rfind(".")
        if dot > base.rfind("/"):
            for ext in _TS_FOR_JS.get(base[dot:], ()):
                if base[:dot] + ext in index:
                    return base[:dot] + ext
        for ext in mode.exts:
            if base + ext in index:
                return base + ext
        if not index.is_dir(base):
            return None
        package = self._packages.by_dir.get(base)
        if package is not None:
            for entry in _ENTRY_FIELDS:
                value = package.data.get(entry)
                target = join(base, value) if isinstance(value, str) else None
                if target is not None and target != base:
                    found = self._file_or_dir(target, mode)
                    if found is not None:
                        return found
        prefix = f"{base}/" if base else ""
        for ext in mode.exts:
            if f"{prefix}index{ext}" in index:
                return f"{prefix}index{ext}"
        return None


def _split_package(spec: str) -> tuple[str, str]:
    """"@scope/pkg/a/b" → ("@scope/pkg", "./a/b"); "pkg" → ("pkg", ".")."""
    parts = spec.split("/")
    count = 2 if spec.startswith("@") and len(parts) > 1 else 1
    name = "/".join(parts[:count])
    rest = "/".join(parts[count:])
    return name, f"./{rest}" if rest else "."


def _match(pattern: str, spec: str) -> str | None:
    """What ``*`` stands for when ``spec`` matches ``pattern`` ("" for an exact match)."""
    if "*" not in pattern:
        return "" if pattern == spec else None
    prefix, _, suffix = pattern.partition("*")
    if spec.startswith(prefix) and spec.endswith(suffix) and len(spec) >= len(prefix) + len(
        suffix
    ):
        return spec[len(prefix) : len(spec) - len(suffix)]
    return None


def _export_targets(exports: Any, subpath: str, conditions: tuple[str, ...]) -> list[str]:
    """Target strings package.json ``exports`` offers for ``subpath``, best condition first."""
    if isinstance(exports, dict) and any(str(k).startswith(".") for k in exports):
        return _subpath_targets(exports, subpath, conditions)
    return _condition_targets(exports, conditions) if subpath == "." else []


def _subpath_targets(
    mapping: dict[str, Any], subpath: str, conditions: tuple[str, ...]
) -> list[str]:
    """Exact key first, then ``*`` patterns by longest prefix (Node's PATTERN_KEY_COMPARE)."""
    if subpath in mapping:
        return _condition_targets(mapping[subpath], conditions)
    matches: list[tuple[int, str, Any]] = []
    for key, value in mapping.items():
        star = _match(key, subpath) if "*" in key else None
        if star is not None:
            matches.append((len(key.split("*", 1)[0]), star, value))
    matches.sort(key=lambda m: -m[0])
    return [
        t.replace("*", star)
        for _, star, value in matches
        for t in _condition_targets(value, conditions)
    ]


def _condition_targets(value: Any, conditions: tuple[str, ...]) -> list[str]:
    """Flatten conditional exports (nested objects, fallback arrays) in a fixed order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for item in value for t in _condition_targets(item, conditions)]
    if not isinstance(value, dict):
        return []
    keys = [k for k in conditions if k in value]
    keys += sorted(k for k in value if k not in conditions)
    return [t for k in keys for t in _condition_targets(value[k], conditions)]
