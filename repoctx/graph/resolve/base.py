"""What every language resolver shares: the path index, config reading, the edge kind rule.

Resolution must stay cheap on 100k-file repositories, so nothing here touches the
filesystem per import: the walked paths are indexed once (set membership, directory
listings, file names) and config files are read once per resolver, tolerating damage.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from repoctx.rooted import read_file
from repoctx.types import EdgeKind, ImportRef, ParsedFile


class PathIndex:
    """The walked repo paths, indexed for O(1) "does this file exist" and directory listings."""

    def __init__(self, paths: Iterable[str]) -> None:
        self.paths: frozenset[str] = frozenset(paths)
        children: dict[str, list[str]] = defaultdict(list)
        dirs: set[str] = {""}
        by_name: dict[str, list[str]] = defaultdict(list)
        subdirs: dict[str, set[str]] = defaultdict(set)
        for path in sorted(self.paths):
            parent, _, name = path.rpartition("/")
            children[parent].append(path)
            by_name[name].append(path)
            while parent and parent not in dirs:
                dirs.add(parent)
                grand, _, dir_name = parent.rpartition("/")
                subdirs[grand].add(dir_name)
                parent = grand
        self.children: dict[str, list[str]] = dict(children)
        self.subdirs: dict[str, set[str]] = dict(subdirs)
        self.dirs: frozenset[str] = frozenset(dirs)
        self.by_name: dict[str, list[str]] = dict(by_name)

    def __contains__(self, path: object) -> bool:
        return path in self.paths

    def files_in(self, directory: str) -> list[str]:
        """Files directly inside ``directory`` ("" is the root), sorted."""
        return self.children.get(directory, [])

    def is_dir(self, directory: str) -> bool:
        return directory in self.dirs


def parent_dir(path: str) -> str:
    """The directory of a repo path ("" for a top-level file)."""
    return path.rpartition("/")[0]


def join(directory: str, relative: str) -> str | None:
    """Join and normalise POSIX path parts; None when ``..`` climbs out of the repo."""
    parts: list[str] = [p for p in directory.split("/") if p]
    for part in relative.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts)


_TYPE_KINDS: frozenset[EdgeKind] = frozenset({"import", "lazy"})
# Kinds that load their target where they stand: inside a function body, when it is called.
_LOADING_KINDS: frozenset[EdgeKind] = frozenset({"import", "require", "include"})


def effective_kind(ref: ImportRef) -> EdgeKind:
    """The edge kind for a reference: its scope refines a loading statement.

    A plain import under ``if TYPE_CHECKING:`` only exists for the type checker (→ "type");
    an import, ``require`` or ``include``/``source`` inside a function body runs only when
    called (→ "lazy"); other kinds already say more. The reference itself keeps the kind as
    written (the JS resolver picks ``require`` conditions by it).
    """
    if ref.scope == "type-checking" and ref.kind in _TYPE_KINDS:
        return "type"
    if ref.scope == "function" and ref.kind in _LOADING_KINDS:
        return "lazy"
    return ref.kind


@dataclass(slots=True)
class ResolveContext:
    """Everything a resolver may look at; built once per graph."""

    root: Path
    files: Mapping[str, str | None]
    parsed: Mapping[str, ParsedFile]
    index: PathIndex
    _text_cache: dict[str, str | None] = field(default_factory=dict)

    def read_text(self, path: str, limit: int = 1 << 20) -> str | None:
        """A repo file's text (first ``limit`` bytes), or None if it can't be read."""
        key = f"{path}\0{limit}"
        if key not in self._text_cache:
            try:  # never through a symlink (repoctx.rooted): a config may link out
                data = read_file(self.root / path, limit)
                self._text_cache[key] = data.decode("utf-8", "replace")
            except OSError:
                self._text_cache[key] = None
        return self._text_cache[key]

    def read_json(self, path: str) -> Any:
        """Parse a JSON config leniently (comments, trailing commas); None when unusable."""
        text = self.read_text(path)
        return None if text is None else loads_lenient_json(text)

    def files_named(self, name: str) -> list[str]:
        """Every walked file with this exact basename, skipping vendored dependency trees."""
        return [p for p in self.index.by_name.get(name, []) if not is_vendored(p)]


_VENDOR_PARTS = frozenset({"node_modules", "bower_components", "vendor", "third_party"})


def is_vendored(path: str) -> bool:
    """True for paths inside third-party trees whose configs must not define the project."""
    return any(part in _VENDOR_PARTS for part in path.split("/")[:-1])


class Resolver(Protocol):
    """Turns one import reference of one file into the repo files it points at."""

    def resolve(self, path: str, ref: ImportRef) -> Iterable[str]: ...


_JSON_TOKEN = re.compile(
    r'"(?:[^"\\]|\\.)*"'  # strings stay intact (they may contain // or /*)
    r"|//[^\n]*"  # line comment
    r"|/\*.*?\*/",  # block comment
    re.DOTALL,
)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def loads_lenient_json(text: str) -> Any:
    """JSON as tsconfig.json writes it: with comments and trailing commas; None if broken."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    stripped = _JSON_TOKEN.sub(lambda m: m.group(0) if m.group(0)[0] == '"' else "", text)
    stripped = _strip_trailing_commas(stripped)
    try:
        return json.loads(stripped)
    except ValueError:
        return None


def _strip_trailing_commas(text: str) -> str:
    """Remove ``,`` before ``}``/``]`` outside strings (strings are skipped token by token)."""
    out: list[str] = []
    pos = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"', text):
        out.append(_TRAILING_COMMA.sub(r"\1", text[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_TRAILING_COMMA.sub(r"\1", text[pos:]))
    return "".join(out)


_TRANSPARENT = frozenset({"namespace", "module", "package"})


def top_level_names(parsed: ParsedFile | None, kinds: frozenset[str]) -> list[str]:
    """Names of definitions of ``kinds`` not nested in another definition.

    Definitions carry no parent, only line spans, so nesting is read from the spans;
    namespace blocks do not count as nesting (C# classes live inside them).
    """
    if parsed is None:
        return []
    spans = sorted(
        (d for d in parsed.definitions if d.kind not in _TRANSPARENT),
        key=lambda d: (d.line, -d.end_line),
    )
    names: list[str] = []
    open_end = 0  # last line of the outermost definition seen so far
    for definition in spans:
        if definition.line > open_end:
            if definition.kind in kinds:
                names.append(definition.name)
            open_end = definition.end_line
    return names


def prefer_stem(files: list[str], name: str) -> list[str]:
    """Files named after ``name`` (``User.java`` for ``User``) if any, else all of them."""
    named = [f for f in files if f.rpartition("/")[2].rpartition(".")[0] == name]
    return named or files


def first_existing(index: PathIndex, candidates: Iterable[str | None]) -> str | None:
    """The first candidate path that is a walked file."""
    for candidate in candidates:
        if candidate is not None and candidate in index:
            return candidate
    return None
