"""Python: dotted module names → files, the way grimp and the import system see them.

Conventions (issue 2): ``import a.b.c`` points at ``a/b/c.py`` (or ``a/b/c/__init__.py``),
never at the parents' ``__init__``; ``from pkg import sub`` points at the submodule when
``sub`` is one, else at ``pkg/__init__.py`` (re-exports are not followed). A ``.py`` file
wins over a ``.pyi`` stub of the same module, because the stub is not what runs.

Import roots are guessed from the layout, since ``sys.path`` is not knowable statically:
the repo root, every ``src/``, every directory holding a project file (pyproject.toml,
setup.py, setup.cfg) and every directory that holds a top-level package (an
``__init__.py`` directory whose parent has none). Namespace packages need no
``__init__.py``: a dotted name just has to lead to a file under some root.
"""

from __future__ import annotations

from repoctx.graph.resolve.base import PathIndex, ResolveContext, join, parent_dir
from repoctx.types import ImportRef

_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


class PythonResolver:
    def __init__(self, ctx: ResolveContext) -> None:
        self._index = ctx.index
        self._roots = _find_roots(ctx.index)
        self._module_cache: dict[str, str | None] = {}
        self._cache: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
        self._roots_memo: dict[tuple[str, str], list[str]] = {}

    @property
    def roots(self) -> list[str]:
        return list(self._roots)

    def resolve(self, path: str, ref: ImportRef) -> list[str]:
        """Targets of one import; memoised per (directory, module, names) since files in one
        directory resolve a name identically and real repos repeat imports a lot."""
        key = (parent_dir(path), ref.module, ref.names)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._resolve(path, ref)
        return list(found)

    def _resolve(self, path: str, ref: ImportRef) -> list[str]:
        module = ref.module
        dots = len(module) - len(module.lstrip("."))
        if dots:
            base = self._relative_base(path, dots, module[dots:])
            if base is None:
                return []
            return self._resolve_from(base, ref.names)
        parts = [p for p in module.split(".") if p]
        if not parts:
            return []
        if ref.names:
            base = self._absolute_base(path, parts)
            return [] if base is None else self._resolve_from(base, ref.names)
        found = self._longest_module(path, parts)
        return [found] if found else []

    def _relative_base(self, path: str, dots: int, rest: str) -> str | None:
        """``from ..a import b`` in ``p/q/m.py`` → location "p/a" (one dot = own package)."""
        directory: str | None = parent_dir(path)
        for _ in range(dots - 1):
            if not directory:
                return None
            directory = parent_dir(directory)
        if rest:
            directory = join(directory or "", rest.replace(".", "/"))
        return directory

    def _absolute_base(self, path: str, parts: list[str]) -> str | None:
        """The location of a dotted name under the first root where it is a module or dir."""
        relative = "/".join(parts)
        for root in self._roots_for(path, parts[0]):
            location = join(root, relative)
            if location is not None and (
                self._module_file(location) or self._index.is_dir(location)
            ):
                return location
        return None

    def _resolve_from(self, base: str, names: tuple[str, ...]) -> list[str]:
        """``from base import names``: submodules where they exist, else the package itself."""
        targets: list[str] = []
        need_package = not names
        for name in names:
            sub = self._module_file(_prefixed(base, name)) if name != "*" else None
            if sub:
                targets.append(sub)
            else:
                need_package = True
        if need_package:
            package = self._module_file(base)
            if package:
                targets.append(package)
        return targets

    def _longest_module(self, path: str, parts: list[str]) -> str | None:
        """``import a.b.c``: the deepest prefix that is a module file (``c`` may be compiled)."""
        roots = self._roots_for(path, parts[0])
        for depth in range(len(parts), 0, -1):
            relative = "/".join(parts[:depth])
            for root in roots:
                location = join(root, relative)
                found = self._module_file(location) if location is not None else None
                if found:
                    return found
        return None

    def _roots_for(self, path: str, top: str) -> list[str]:
        """Roots that have ``top`` as a module or directory; the importer's own roots first.
        Memoised per (directory, top): a large repo asks this thousands of times."""
        key = (parent_dir(path), top)
        found = self._roots_memo.get(key)
        if found is None:
            found = self._roots_memo[key] = self._roots_for_uncached(path, top)
        return found

    def _roots_for_uncached(self, path: str, top: str) -> list[str]:
        index = self._index
        have = [
            root
            for root in self._roots
            if top in index.subdirs.get(root, ())
            or _prefixed(root, top + ".py") in index
            or _prefixed(root, top + ".pyi") in index
        ]
        own = [r for r in have if r == "" or path.startswith(r + "/")]
        own.sort(key=len, reverse=True)
        return own + [r for r in have if r not in own]

    def _module_file(self, location: str) -> str | None:
        """The file implementing the module at ``location`` ("a/b/c"), .py before .pyi."""
        if not location:
            return None
        cached = self._module_cache.get(location, "")
        if cached != "":
            return cached
        index = self._index
        found = None
        for candidate in (
            f"{location}.py",
            f"{location}/__init__.py",
            f"{location}.pyi",
            f"{location}/__init__.pyi",
        ):
            if candidate in index:
                found = candidate
                break
        self._module_cache[location] = found
        return found


def _prefixed(root: str, name: str) -> str:
    return f"{root}/{name}" if root else name


def _find_roots(index: PathIndex) -> list[str]:
    """Directories that plausibly sit on ``sys.path`` (see the module docstring)."""
    roots: set[str] = {""}
    for path in index.paths:
        directory, _, name = path.rpartition("/")
        if name in _PROJECT_FILES:
            roots.add(directory)
            src = _prefixed(directory, "src")
            if index.is_dir(src):
                roots.add(src)
        elif name == "__init__.py" and directory:
            above = parent_dir(directory)
            if _prefixed(above, "__init__.py") not in index:
                roots.add(above)
    if index.is_dir("src"):
        roots.add("src")
    return sorted(roots)
