"""PHP: ``use A\\B\\C`` → the class file by Composer's PSR-4/PSR-0 maps; includes by path.

composer.json ``autoload`` and ``autoload-dev`` (``psr-4``: namespace prefix → directories,
``psr-0``: the namespace is part of the path) say where a class lives, exactly as the
autoloader finds it. Classes outside those maps (or repos without composer.json) are found
through an index of ``namespace`` lines and class definitions read from the sources.
``require``/``include`` with a literal path resolve against the including file's directory,
then the repo root (``__DIR__ . '/x.php'`` arrives as "/x.php").
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from repoctx.graph.resolve.base import (
    ResolveContext,
    join,
    parent_dir,
    prefer_stem,
    top_level_names,
)
from repoctx.types import ImportRef

_NAMESPACE = re.compile(r"^[ \t]*namespace[ \t]+([\w\\]+)[ \t]*[;{]", re.MULTILINE)
_ALIAS = re.compile(r"\s+as\s+\w+$", re.IGNORECASE)
_CLASS_KINDS = frozenset({"class", "interface", "trait", "enum", "function"})
_PATH_SUFFIXES = (".php", ".inc", ".phtml")


class PhpResolver:
    def __init__(self, ctx: ResolveContext) -> None:
        self._index = ctx.index
        self._psr4: list[tuple[str, str]] = []  # (namespace prefix, directory), longest first
        self._psr0: list[tuple[str, str]] = []
        for composer in ctx.files_named("composer.json"):
            data = ctx.read_json(composer)
            if isinstance(data, dict):
                self._add_autoload(parent_dir(composer), data)
        self._psr4.sort(key=lambda item: (-len(item[0]), item[1]))
        self._psr0.sort(key=lambda item: (-len(item[0]), item[1]))
        self._classes: dict[str, list[str]] = defaultdict(list)
        for path in sorted(p for p, lang in ctx.files.items() if lang == "php"):
            match = _NAMESPACE.search(ctx.read_text(path, 64 * 1024) or "")
            space = match.group(1) if match else ""
            names = {path.rpartition("/")[2].rpartition(".")[0]}
            names.update(top_level_names(ctx.parsed.get(path), _CLASS_KINDS))
            for name in sorted(names):
                self._classes[f"{space}\\{name}".lstrip("\\").lower()].append(path)

    def _add_autoload(self, directory: str, data: dict[str, Any]) -> None:
        for section in ("autoload", "autoload-dev"):
            autoload = data.get(section)
            if not isinstance(autoload, dict):
                continue
            for kind, target in (("psr-4", self._psr4), ("psr-0", self._psr0)):
                mapping = autoload.get(kind)
                for prefix, dirs in (mapping.items() if isinstance(mapping, dict) else []):
                    subs = [dirs] if isinstance(dirs, str) else dirs
                    for sub in subs if isinstance(subs, list) else []:
                        if isinstance(sub, str):
                            target.append((prefix.lstrip("\\"), join(directory, sub) or ""))

    def resolve(self, path: str, ref: ImportRef) -> list[str]:
        spec = ref.module.strip()
        if not spec:
            return []
        if "/" in spec or spec.endswith(_PATH_SUFFIXES):
            found = self._include(path, spec)
            return [found] if found else []
        targets: list[str] = []
        names = _expand_group(spec)
        if ref.names and names:  # ``use A\{B, C as D}`` arrives as "A" + names (aliases too)
            names = [names[0] + "\\" + n.lstrip("\\") for n in ref.names]
        for name in names:
            for found in self._class_files(name):
                if found not in targets:
                    targets.append(found)
        return targets

    def _include(self, path: str, spec: str) -> str | None:
        relative = spec.lstrip("/") if spec.startswith("/") else spec
        for base in (parent_dir(path), ""):
            found = join(base, relative)
            if found is not None and found in self._index:
                return found
        return None

    def _class_files(self, fqn: str) -> list[str]:
        for prefix, directory in self._psr4:
            if fqn.startswith(prefix):
                candidate = join(directory, fqn[len(prefix) :].replace("\\", "/") + ".php")
                if candidate is not None and candidate in self._index:
                    return [candidate]
        for prefix, directory in self._psr0:
            if fqn.startswith(prefix):
                relative = fqn.replace("\\", "/")
                head, _, cls = relative.rpartition("/")
                candidate = join(directory, f"{head}/{cls.replace('_', '/')}.php".lstrip("/"))
                if candidate is not None and candidate in self._index:
                    return [candidate]
        return prefer_stem(self._classes.get(fqn.lower(), []), fqn.rpartition("\\")[2])


def _expand_group(spec: str) -> list[str]:
    """``A\\{B, C as D}`` → ["A\\B", "A\\C"]; leading ``\\``, aliases and ``function`` dropped."""
    spec = re.sub(r"^(function|const)\s+", "", spec.strip()).lstrip("\\")
    if "{" not in spec:
        return [_ALIAS.sub("", spec).strip()]
    head, _, rest = spec.partition("{")
    items = rest.rstrip("}; ").split(",")
    names = [_ALIAS.sub("", item.strip()).strip() for item in items]
    names = [re.sub(r"^(function|const)\s+", "", n) for n in names if n]
    return [head + n for n in names]
