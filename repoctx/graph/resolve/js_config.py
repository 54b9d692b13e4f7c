"""JavaScript/TypeScript project config: tsconfig/jsconfig ``paths`` and package.json files.

Read once per graph, tolerating what real repositories contain: comments and trailing
commas in tsconfig, ``extends`` chains (a string or, since TS 5, a list), project
``references`` that hold the real ``paths``, unreadable or half-written package.json files.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from repoctx.graph.resolve.base import ResolveContext, join, parent_dir

_CONFIG_NAMES = ("tsconfig.json", "jsconfig.json")
_MAX_EXTENDS = 10


@dataclass(frozen=True, slots=True)
class PathAliases:
    """The effective ``baseUrl``/``paths`` of one tsconfig, with repo-relative directories."""

    base_url: str | None = None
    paths: tuple[tuple[str, tuple[str, ...]], ...] = ()
    paths_base: str = ""  # what ``paths`` substitutions are relative to


@dataclass(slots=True)
class _Options:
    base_url: str | None = None
    paths: dict[str, list[str]] | None = None
    paths_dir: str = ""


class TsConfigs:
    """The tsconfig.json / jsconfig.json that governs each directory (the nearest one up)."""

    def __init__(self, ctx: ResolveContext) -> None:
        self._ctx = ctx
        self._config_dirs: dict[str, str] = {}
        for name in _CONFIG_NAMES[::-1]:  # tsconfig wins over jsconfig in the same dir
            for path in ctx.files_named(name):
                self._config_dirs[parent_dir(path)] = path
        self._by_dir: dict[str, PathAliases | None] = {}
        self._loaded: dict[str, PathAliases] = {}

    def for_file(self, path: str) -> PathAliases | None:
        return self._for_dir(parent_dir(path))

    def _for_dir(self, directory: str) -> PathAliases | None:
        if directory in self._by_dir:
            return self._by_dir[directory]
        config = self._config_dirs.get(directory)
        if config is not None:
            result: PathAliases | None = self._load(config)
        elif directory:
            result = self._for_dir(parent_dir(directory))
        else:
            result = None
        self._by_dir[directory] = result
        return result

    def _load(self, config: str) -> PathAliases:
        if config not in self._loaded:
            options = self._options(config, 0)
            if options.paths is None and options.base_url is None:
                options = self._from_references(config) or options
            self._loaded[config] = _aliases(options)
        return self._loaded[config]

    def _options(self, config: str, depth: int) -> _Options:
        """compilerOptions after applying ``extends`` (parents first, own values win)."""
        data = self._ctx.read_json(config)
        if not isinstance(data, dict) or depth > _MAX_EXTENDS:
            return _Options()
        options = _Options()
        extends = data.get("extends")
        parents = [extends] if isinstance(extends, str) else extends
        for parent in parents if isinstance(parents, list) else []:  # "extends": 1 → none
            parent_path = self._extends_path(config, parent) if isinstance(parent, str) else None
            if parent_path is not None:
                _merge(options, self._options(parent_path, depth + 1))
        compiler = data.get("compilerOptions")
        if isinstance(compiler, dict):
            directory = parent_dir(config)
            own = _Options(paths_dir=directory)
            if isinstance(compiler.get("baseUrl"), str):
                own.base_url = join(directory, compiler["baseUrl"])
            if isinstance(compiler.get("paths"), dict):
                own.paths = _clean_paths(compiler["paths"])
            _merge(options, own)
        return options

    def _extends_path(self, config: str, spec: str) -> str | None:
        """A relative ``extends`` inside the repo (package extends live in node_modules)."""
        if not spec.startswith("."):
            return None
        base = join(parent_dir(config), spec)
        if base is None:
            return None
        for candidate in (base, base + ".json", base + "/tsconfig.json"):
            if candidate in self._ctx.index:
                return candidate
        return None

    def _from_references(self, config: str) -> _Options | None:
        """Solution-style configs (``files: []`` + references): use the first with paths."""
        data = self._ctx.read_json(config)
        refs = data.get("references") if isinstance(data, dict) else None
        for ref in refs if isinstance(refs, list) else []:
            target = ref.get("path") if isinstance(ref, dict) else None
            if not isinstance(target, str):
                continue
            base = join(parent_dir(config), target)
            if base is None:
                continue
            for candidate in (base, base + "/tsconfig.json"):
                if candidate in self._ctx.index and candidate != config:
                    options = self._options(candidate, 1)
                    if options.paths is not None or options.base_url is not None:
                        return options
        return None


def _merge(into: _Options, other: _Options) -> None:
    if other.base_url is not None:
        into.base_url = other.base_url
    if other.paths is not None:
        into.paths = other.paths
        into.paths_dir = other.paths_dir


def _clean_paths(raw: dict[Any, Any]) -> dict[str, list[str]]:
    return {
        str(key): [v for v in value if isinstance(v, str)]
        for key, value in raw.items()
        if isinstance(value, list)
    }


def _aliases(options: _Options) -> PathAliases:
    paths = tuple(sorted((k, tuple(v)) for k, v in (options.paths or {}).items()))
    base = options.base_url if options.base_url is not None else options.paths_dir
    return PathAliases(options.base_url, paths, base)


@dataclass(slots=True)
class Package:
    """One package.json inside the repo (its directory and the fields resolution reads)."""

    directory: str
    name: str | None
    data: dict[str, Any] = field(default_factory=dict)


class Packages:
    """Every non-vendored package.json: by name (workspace packages first) and by directory."""

    def __init__(self, ctx: ResolveContext) -> None:
        self.by_dir: dict[str, Package] = {}
        for path in ctx.files_named("package.json"):
            data = ctx.read_json(path)
            if isinstance(data, dict):
                name = data.get("name")
                self.by_dir[parent_dir(path)] = Package(
                    parent_dir(path), name if isinstance(name, str) else None, data
                )
        globs = self._workspace_globs(ctx)
        ranked = sorted(
            self.by_dir.values(),
            key=lambda p: (not _in_workspace(p.directory, globs), p.directory.count("/"),
                           p.directory),
        )
        self.by_name: dict[str, Package] = {}
        for package in ranked:
            if package.name and package.name not in self.by_name:
                self.by_name[package.name] = package
        self._nearest: dict[str, Package | None] = {}

    def _workspace_globs(self, ctx: ResolveContext) -> list[str]:
        """Workspace globs from package.json ``workspaces`` and a simple pnpm-workspace.yaml."""
        globs: list[str] = []
        for package in self.by_dir.values():
            spaces = package.data.get("workspaces")
            if isinstance(spaces, dict):
                spaces = spaces.get("packages")
            for pattern in spaces if isinstance(spaces, list) else []:
                if isinstance(pattern, str):
                    globs.append(join(package.directory, pattern) or "")
        for path in ctx.files_named("pnpm-workspace.yaml"):
            text = ctx.read_text(path) or ""
            for line in text.splitlines():
                item = line.strip()
                if item.startswith("- "):
                    pattern = item[2:].strip().strip("'\"")
                    if pattern and not pattern.startswith("!"):
                        globs.append(join(parent_dir(path), pattern) or "")
        return globs

    def nearest(self, path: str) -> Package | None:
        """The package.json governing a file: the closest one in its directory or above."""
        directory = parent_dir(path)
        chain: list[str] = []
        found: Package | None = None
        while True:
            if directory in self._nearest:
                found = self._nearest[directory]
                break
            chain.append(directory)
            if directory in self.by_dir:
                found = self.by_dir[directory]
                break
            if not directory:
                break
            directory = parent_dir(directory)
        for visited in chain:
            self._nearest[visited] = found
        return found


def _in_workspace(directory: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatch(directory, g.rstrip("/")) for g in globs)
