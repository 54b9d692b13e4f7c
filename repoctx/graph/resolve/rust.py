"""Rust: ``mod x;`` and ``use`` paths → module files, from the file layout and Cargo.toml.

A module's children live in ``<dir>/x.rs`` or ``<dir>/x/mod.rs`` where ``<dir>`` is the
module's own directory: the file's directory for crate roots (lib.rs, main.rs, bins,
tests) and ``mod.rs``, else ``<file dir>/<file stem>``. ``use`` paths start at ``crate``
(the nearest directory up with lib.rs/main.rs), ``self``/``super`` (the module's own
directory and the ones above it), a workspace crate's name (Cargo.toml ``[package] name``
or ``[lib] name``, ``-`` read as ``_``), or, as 2018 "uniform paths" allow, a child module
of the current one. The edge goes to the longest prefix of the path that is a module file,
falling back to the module the path starts from (``use crate::Item`` → lib.rs).
Use trees (``crate::a::{b, c::d}``) are expanded into every path they name.
"""

from __future__ import annotations

import re
import tomllib

from repoctx.graph.resolve.base import ResolveContext, join, parent_dir
from repoctx.types import ImportRef

_ROOT_NAMES = ("lib.rs", "main.rs")
_ROOT_DIRS = ("tests", "examples", "benches")
_ALIAS = re.compile(r"\s+as\s+\w+")
_PATH_ATTR = re.compile(r'#\[\s*path\s*=\s*"([^"]+)"\s*\]')
_INLINE_MOD = re.compile(r"^[ \t]*(?:pub(?:\([^)]*\))?[ \t]+)?mod[ \t]+\w+[ \t]*\{", re.MULTILINE)


class RustResolver:
    def __init__(self, ctx: ResolveContext) -> None:
        self._ctx = ctx
        self._index = ctx.index
        self._crates: dict[str, str] = {}  # crate name → directory of its root file
        self._declared_roots: dict[str, str] = {}  # directory → [[test]]/[[bin]]… root file
        self._inline: dict[str, list[tuple[int, int]]] = {}
        for cargo in sorted(ctx.files_named("Cargo.toml"), key=lambda p: (p.count("/"), p)):
            self._add_crate(ctx, cargo)

    def _add_crate(self, ctx: ResolveContext, cargo: str) -> None:
        try:
            data = tomllib.loads(ctx.read_text(cargo) or "")
        except tomllib.TOMLDecodeError:
            return
        package = data.get("package")
        name = package.get("name") if isinstance(package, dict) else None
        lib = data.get("lib")
        lib = lib if isinstance(lib, dict) else {}
        lib_path = lib.get("path")
        candidates = (lib_path if isinstance(lib_path, str) else "src/lib.rs", "src/main.rs")
        roots = [join(parent_dir(cargo), c) for c in candidates]
        root_file = next((r for r in roots if r is not None and r in self._index), None)
        lib_name = lib.get("name") if isinstance(lib.get("name"), str) else name
        if isinstance(lib_name, str) and root_file is not None:
            self._crates.setdefault(lib_name.replace("-", "_"), parent_dir(root_file))
        for section in ("test", "bin", "example", "bench"):
            targets = data.get(section)
            for target in targets if isinstance(targets, list) else []:
                declared = target.get("path") if isinstance(target, dict) else None
                file = join(parent_dir(cargo), declared) if isinstance(declared, str) else None
                if file is not None and file in self._index:
                    self._declared_roots.setdefault(parent_dir(file), file)

    def resolve(self, path: str, ref: ImportRef) -> list[str]:
        if ref.kind == "mod":
            return self._resolve_mod(path, ref.module.strip(), ref.line)
        depth = sum(start < ref.line <= end for start, end in self._inline_blocks(path))
        targets: list[str] = []
        for segments in expand_use_tree(ref.module):
            found = self._resolve_path(path, segments, depth)
            if found and found not in targets:
                targets.append(found)
        return targets

    def _resolve_mod(self, path: str, name: str, line: int) -> list[str]:
        """``mod x;`` → the child module file, or the file a ``#[path = "…"]`` above names."""
        attribute = name if name.endswith(".rs") else self._path_attribute(path, line)
        if attribute is not None:
            target = join(parent_dir(path), attribute)
            return [target] if target is not None and target in self._index else []
        found = self._module_file(_joined(self._own_dir(path), name))
        return [found] if found else []

    def _path_attribute(self, path: str, line: int) -> str | None:
        """The ``#[path = "x.rs"]`` among the attribute lines right above ``mod`` (1-based)."""
        lines = (self._ctx.read_text(path) or "").splitlines()
        index = line - 2
        while 0 <= index < len(lines) and lines[index].lstrip().startswith(("#[", "//")):
            match = _PATH_ATTR.search(lines[index])
            if match:
                return match.group(1)
            index -= 1
        return None

    def _inline_blocks(self, path: str) -> list[tuple[int, int]]:
        """Line spans of inline ``mod x { … }`` blocks, whose ``super`` is this very file."""
        if path not in self._inline:
            self._inline[path] = inline_module_spans(self._ctx.read_text(path) or "")
        return self._inline[path]

    def _resolve_path(self, path: str, segments: list[str], depth: int = 0) -> str | None:
        if not segments:
            return None
        head = segments[0]
        if head == "crate":
            start: str | None = self._crate_dir(path)
            rest = segments[1:]
        elif head in ("self", "super"):
            if head == "self" and depth:
                return None  # an inline module's own items live in this file
            start = self._own_dir(path)
            rest = segments
            while rest and rest[0] in ("self", "super"):
                if rest[0] == "super" and depth:
                    depth -= 1  # leaves an inline module, still inside this file
                elif rest[0] == "super":
                    start = parent_dir(start) if start else None
                rest = rest[1:]
                if start is None:
                    return None
        elif head in self._crates:
            start, rest = self._crates[head], segments[1:]
        else:
            own = self._own_dir(path)
            if self._module_file(join(own, head) or "") is None:
                return None
            start, rest = own, segments
        return None if start is None else self._longest(start, rest)

    def _longest(self, start: str, rest: list[str]) -> str | None:
        for cut in range(len(rest), 0, -1):
            found = self._module_file(join(start, "/".join(rest[:cut])) or "")
            if found:
                return found
        return self._dir_module(start)

    def _module_file(self, base: str) -> str | None:
        for candidate in (f"{base}.rs", f"{base}/mod.rs"):
            if candidate in self._index:
                return candidate
        return None

    def _dir_module(self, directory: str) -> str | None:
        """The file that owns a module directory: its mod.rs, the sibling .rs, or a root."""
        prefix = f"{directory}/" if directory else ""
        for candidate in (f"{prefix}mod.rs", f"{directory}.rs", *(prefix + n for n in _ROOT_NAMES)):
            if candidate in self._index:
                return candidate
        return self._declared_roots.get(directory)

    def _own_dir(self, path: str) -> str:
        """Where the children of the module in ``path`` live."""
        directory, _, name = path.rpartition("/")
        if name in ("mod.rs", *_ROOT_NAMES) or self._is_root_dir(directory):
            return directory
        return f"{directory}/{name[:-3]}" if directory else name[:-3]

    def _is_root_dir(self, directory: str) -> bool:
        """src/bin, tests, examples, benches of a package: each file there is a crate root."""
        above, _, name = directory.rpartition("/")
        if name == "bin":
            above, _, name = above.rpartition("/")
            return name == "src" and _joined(above, "Cargo.toml") in self._index
        return name in _ROOT_DIRS and _joined(above, "Cargo.toml") in self._index

    def _crate_dir(self, path: str) -> str | None:
        directory: str | None = parent_dir(path)
        while directory is not None:
            prefix = f"{directory}/" if directory else ""
            if any(prefix + n in self._index for n in _ROOT_NAMES):
                return directory
            if directory in self._declared_roots:
                return directory
            directory = parent_dir(directory) if directory else None
        return None


def _joined(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def expand_use_tree(text: str) -> list[list[str]]:
    """``crate::a::{self, b, c::{d, e as f}}`` → [[crate,a], [crate,a,b], [crate,a,c,d], …]."""
    cleaned = re.sub(r"\s+", "", _ALIAS.sub("", text)).rstrip(";")
    return _expand(cleaned.removeprefix("::"), [])


def _expand(text: str, prefix: list[str]) -> list[list[str]]:
    brace = text.find("{")
    if brace == -1:
        segments = [s for s in text.split("::") if s and s != "*"]
        if segments == ["self"]:
            return [prefix] if prefix else [["self"]]
        return [prefix + segments]
    head = [s for s in text[:brace].split("::") if s]
    inner = text[brace + 1 : text.rfind("}")] if "}" in text else text[brace + 1 :]
    paths: list[list[str]] = []
    for item in _split_top_level(inner):
        paths.extend(_expand(item, prefix + head))
    return paths


def _split_top_level(text: str) -> list[str]:
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "," and depth == 0:
            items.append("".join(current))
            current = []
            continue
        depth += (char == "{") - (char == "}")
        current.append(char)
    items.append("".join(current))
    return [i for i in items if i]


def inline_module_spans(text: str) -> list[tuple[int, int]]:
    """(first line, last line) of each ``mod x { … }`` block, by brace counting.

    Strings, char literals and comments are skipped well enough for real code; a block
    whose end is never found extends to the end of the file.
    """
    spans: list[tuple[int, int]] = []
    for match in _INLINE_MOD.finditer(text):
        start_line = text.count("\n", 0, match.start()) + 1
        end = _block_end(text, match.end() - 1)
        spans.append((start_line, text.count("\n", 0, end) + 1))
    return spans


def _block_end(text: str, open_brace: int) -> int:
    depth = 0
    i = open_brace
    while i < len(text):
        char = text[i]
        if char == "/" and text.startswith("//", i):
            i = text.find("\n", i)
            if i == -1:
                return len(text)
        elif char == '"':
            i = _string_end(text, i)
        elif char == "'" and text[i + 1 : i + 2] != "\\" and text[i + 2 : i + 3] == "'":
            i += 2  # 'x' char literal (lifetimes such as 'a have no closing quote)
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return len(text)


def _string_end(text: str, quote: int) -> int:
    i = quote + 1
    while i < len(text) and text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return i
