"""C/C++: ``#include`` → header files inside the repo.

``#include "x.h"`` is looked up next to the including file, then on the include path;
``#include <x.h>`` only on the include path (it is usually a system or third-party
header, and only counts when the repo itself provides it). The include path is what
compile_commands.json says (``-I``, ``-iquote``, ``-isystem`` inside the repo), then every
``include/`` directory, ``src/`` and the repo root. Build systems add more directories than
can be known statically, so a quoted include that still did not resolve falls back to the
files whose path ends with it, taking the one nearest to the includer.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from repoctx.graph.resolve.base import ResolveContext, is_vendored, join, parent_dir
from repoctx.types import ImportRef

_FLAGS = ("-I", "-iquote", "-isystem", "/I")


class CResolver:
    def __init__(self, ctx: ResolveContext) -> None:
        self._index = ctx.index
        dirs = self._from_compile_commands(ctx)
        dirs += sorted(d for d in ctx.index.dirs if d.rpartition("/")[2] in ("include", "inc"))
        dirs += [d for d in ("src", "") if ctx.index.is_dir(d)]
        self._include_dirs = list(dict.fromkeys(d for d in dirs if not is_vendored(d + "/x")))

    @staticmethod
    def _from_compile_commands(ctx: ResolveContext) -> list[str]:
        """Include directories of compile_commands.json entries that point into the repo."""
        root = ctx.root.resolve()
        found: list[str] = []
        for path in ctx.files_named("compile_commands.json"):
            entries = ctx.read_json(path)
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, dict):
                    continue
                # a relative "directory" (hand-written files) is relative to the json's folder
                cwd = root / parent_dir(path) / str(entry.get("directory", "."))
                for directory in _include_flags(entry):
                    absolute = (cwd / directory).resolve() if not Path(directory).is_absolute() \
                        else Path(directory)
                    try:
                        relative = absolute.relative_to(root).as_posix()
                    except ValueError:
                        continue
                    found.append("" if relative == "." else relative)
        return found

    def resolve(self, path: str, ref: ImportRef) -> list[str]:
        spec = ref.module.strip().strip('"<>')
        if not spec:
            return []
        if not ref.system:
            found = join(parent_dir(path), spec)
            if found is not None and found in self._index:
                return [found]
        for directory in self._include_dirs:
            found = join(directory, spec)
            if found is not None and found in self._index:
                return [found]
        if ref.system:
            return []
        nearest = self._by_suffix(path, spec)
        return [nearest] if nearest else []

    def _by_suffix(self, path: str, spec: str) -> str | None:
        """The file ending in ``/spec`` that shares the most leading directories with ``path``."""
        clean = join("", spec)
        if not clean:
            return None
        name = clean.rpartition("/")[2]
        candidates = [
            p for p in self._index.by_name.get(name, []) if p == clean or p.endswith("/" + clean)
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda c: (_shared_dirs(c, path), -len(c), c))


def _include_flags(entry: dict[str, object]) -> list[str]:
    arguments = entry.get("arguments")
    if isinstance(arguments, list):
        args = [str(a) for a in arguments]
    else:
        try:
            args = shlex.split(str(entry.get("command", "")))
        except ValueError:
            return []
    dirs: list[str] = []
    for i, arg in enumerate(args):
        for flag in _FLAGS:
            if arg == flag and i + 1 < len(args):
                dirs.append(args[i + 1])
            elif arg.startswith(flag) and len(arg) > len(flag):
                dirs.append(arg[len(flag) :])
    return dirs


def _shared_dirs(a: str, b: str) -> int:
    count = 0
    for x, y in zip(a.split("/")[:-1], b.split("/")[:-1], strict=False):
        if x != y:
            break
        count += 1
    return count
