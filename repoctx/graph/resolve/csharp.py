"""C#: ``using A.B;`` → every file that declares namespace ``A.B``.

C# has no file-level imports, only namespaces, so a namespace → files index is built from
the sources (``namespace X.Y { … }`` and file-scoped ``namespace X.Y;``, read once with a
regex). ``using static A.B.C;`` and aliases ``using D = A.B.C;`` name a type: the file(s)
declaring ``C`` in ``A.B`` (by file stem or the definitions parse found; a nested type
``A.B.C.Inner`` → ``C``'s file).
"""

from __future__ import annotations

import re
from collections import defaultdict

from repoctx.graph.resolve.base import ResolveContext, top_level_names
from repoctx.types import ImportRef

_NAMESPACE = re.compile(r"^[ \t]*namespace[ \t]+([\w.@]+)", re.MULTILINE)
_TYPE_KINDS = frozenset({"class", "struct", "interface", "enum", "record", "delegate", "type"})


class CSharpResolver:
    def __init__(self, ctx: ResolveContext) -> None:
        self._namespaces: dict[str, list[str]] = defaultdict(list)
        self._types: dict[str, list[str]] = defaultdict(list)
        for path in sorted(p for p, lang in ctx.files.items() if lang == "csharp"):
            spaces = sorted(set(_NAMESPACE.findall(ctx.read_text(path) or ""))) or [""]
            names = {path.rpartition("/")[2].removesuffix(".cs")}
            names.update(top_level_names(ctx.parsed.get(path), _TYPE_KINDS))
            for space in spaces:
                self._namespaces[space].append(path)
                for name in sorted(names):
                    self._types[f"{space}.{name}" if space else name].append(path)

    def resolve(self, path: str, ref: ImportRef) -> list[str]:
        module = ref.module.strip().rstrip(";")
        if "=" in module:
            module = module.split("=", 1)[1]
        module = module.replace("global::", "").removeprefix("static ").strip()
        module = re.sub(r"<.*>$", "", module)  # using X = A.B.List<int>;
        if not module:
            return []
        if module in self._namespaces:
            return list(self._namespaces[module])
        parts = module.split(".")
        for cut in range(len(parts), 1, -1):  # A.B.Outer.Nested → Outer's file
            files = self._types.get(".".join(parts[:cut]))
            if files:
                return list(files)  # partial classes span several files
        return []
