"""Go: import paths → package directories, through the module paths of go.mod files.

An import names a package, i.e. a directory; the importer depends on the whole package, so
the edge goes to every non-test ``.go`` file in it. Every go.mod in the repo declares a
module rooted at its directory (nested modules and go.work workspaces are covered by
indexing them all); ``replace`` directives with a local path add aliases; a ``vendor/``
directory next to a go.mod serves the imports no module of the repo claims.
"""

from __future__ import annotations

import re

from repoctx.graph.resolve.base import ResolveContext, join, parent_dir
from repoctx.types import ImportRef

_MODULE_LINE = re.compile(r"^\s*module\s+\"?([^\s\"]+)\"?", re.MULTILINE)
_REPLACE = re.compile(r"^\s*(?:replace\s+)?(\S+)(?:\s+\S+)?\s+=>\s+(\.{1,2}/\S*)", re.MULTILINE)


class GoResolver:
    def __init__(self, ctx: ResolveContext) -> None:
        self._index = ctx.index
        self._modules: dict[str, str] = {}  # module path → repo directory
        self._vendors: list[str] = []
        for gomod in sorted(ctx.index.by_name.get("go.mod", []), key=lambda p: (p.count("/"), p)):
            directory = parent_dir(gomod)
            text = ctx.read_text(gomod) or ""
            match = _MODULE_LINE.search(text)
            if match and match.group(1) not in self._modules:
                self._modules[match.group(1)] = directory
            for module, target in _REPLACE.findall(_strip_comments(text)):
                local = join(directory, target)
                if local is not None and module not in self._modules:
                    self._modules[module] = local
            vendor = f"{directory}/vendor" if directory else "vendor"
            if ctx.index.is_dir(vendor):
                self._vendors.append(vendor)

    def resolve(self, path: str, ref: ImportRef) -> list[str]:
        directory = self._package_dir(ref.module.strip())
        if directory is None:
            return []
        return [
            f
            for f in self._index.files_in(directory)
            if f.endswith(".go") and not f.endswith("_test.go")
        ]

    def _package_dir(self, import_path: str) -> str | None:
        """Longest module path that prefixes the import, else a vendored copy."""
        parts = import_path.split("/")
        for cut in range(len(parts), 0, -1):
            module_dir = self._modules.get("/".join(parts[:cut]))
            if module_dir is not None:
                rest = "/".join(parts[cut:])
                return join(module_dir, rest) if rest else module_dir
        for vendor in self._vendors:
            candidate = f"{vendor}/{import_path}"
            if self._index.is_dir(candidate):
                return candidate
        return None


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*", "", text)
