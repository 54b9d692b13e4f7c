"""Ruby: ``require_relative`` against the requiring file, ``require`` against load paths.

The load path is guessed the way Bundler and test runners set it up: every ``lib/``
directory of the repo (gems in a monorepo each have one), the ``test/``/``spec/`` folders
and roots of every gem (a directory with a .gemspec or Gemfile), and the repo root; the
root nearest to the requiring file wins. parse marks ``require_relative "x"`` as "./x", so
a specifier starting with ``./``/``../`` is file-relative; any other is looked up on the
load path only (``require`` never searches the requiring file's directory).
"""

from __future__ import annotations

from repoctx.graph.resolve.base import ResolveContext, join, parent_dir
from repoctx.types import ImportRef

_EXTRA_ROOTS = ("test", "spec", "")


class RubyResolver:
    def __init__(self, ctx: ResolveContext) -> None:
        self._index = ctx.index
        libs = sorted(d for d in ctx.index.dirs if d == "lib" or d.endswith("/lib"))
        roots = [d for d in libs if "vendor" not in d.split("/")]
        for gem in sorted({parent_dir(p) for p in ctx.index.paths
                           if p.endswith(".gemspec") or p.rpartition("/")[2] == "Gemfile"}):
            roots += [d for d in (_joined(gem, "test"), _joined(gem, "spec"), gem)
                      if ctx.index.is_dir(d)]
        roots += [r for r in _EXTRA_ROOTS if r == "" or ctx.index.is_dir(r)]
        self._roots = list(dict.fromkeys(roots))

    def resolve(self, path: str, ref: ImportRef) -> list[str]:
        spec = ref.module.strip()
        if not spec:
            return []
        here = parent_dir(path)
        if spec.startswith(("./", "../")):
            found = self._file(join(here, spec))
        else:
            found = self._on_load_path(path, spec)
        return [found] if found else []

    def _on_load_path(self, path: str, spec: str) -> str | None:
        ranked = sorted(self._roots, key=lambda root: -_shared_prefix(root, path))
        for root in ranked:
            found = self._file(join(root, spec))
            if found:
                return found
        return None

    def _file(self, base: str | None) -> str | None:
        if base is None:
            return None
        for candidate in (base + ".rb", base):
            if candidate in self._index and candidate.endswith((".rb", ".rake")):
                return candidate
        return None


def _joined(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _shared_prefix(directory: str, path: str) -> int:
    """How many leading directories ``directory`` shares with ``path``'s location."""
    count = 0
    for a, b in zip(directory.split("/"), path.split("/")[:-1], strict=False):
        if a != b:
            break
        count += 1
    return count
