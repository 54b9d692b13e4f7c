"""signals: how each file of the repository relates to the focus, as numbers with reasons.

Every signal is cheap to compute per request from what the scan already holds (the import
graph, the definitions, the paths) plus the mined history (``cochange``). A signal is 0 for
a file it says nothing about; ``Signals.values`` keeps only the files with some signal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from repoctx.graph.order import SUPPORT_PATH, TEST_PATH
from repoctx.packing.relevance.cochange import Coupling
from repoctx.types import Edge

NAMES = ("imports", "imported_by", "barrel", "uses_focus", "cochange", "cochange_conf",
         "cochange_reverse", "cochange_recent", "cochange_top", "recent", "test_pair", "test_uses",
         "sibling", "twin", "is_test", "support", "tiny")
RECENT = 30  # commits: files changed this recently are where the work is going on
RECENT_SCALE = 10.0  # commits: how fast "recent" fades
BARREL_STEMS = frozenset({"index", "__init__", "mod", "lib", "main", "package"})
TEST_AFFIX = re.compile(r"^(test_|tests_)|(_test|_tests|_spec|\.test|\.spec|test|tests|spec)$",
                        re.IGNORECASE)
MIN_NAME = 4  # shorter definition names match too much text to mean a use
MAX_NAMES = 60  # names of the focus searched for (the first ones: the file's top level)
TINY = 24  # tokens: an empty __init__.py or .nojekyll tells the model nothing


@dataclass(slots=True)
class Signals:
    """path → signal name → value, plus what the reasons need to name."""

    values: dict[str, dict[str, float]] = field(default_factory=dict)
    partner: dict[str, dict[str, str]] = field(default_factory=dict)  # signal → focus file
    count: dict[str, int] = field(default_factory=dict)  # co-change commits
    used: dict[str, str] = field(default_factory=dict)  # a name of the focus the file uses

    def set(self, path: str, name: str, value: float, partner: str = "") -> None:
        row = self.values.setdefault(path, {})
        if value > row.get(name, 0.0):
            row[name] = value
            if partner:
                self.partner.setdefault(path, {})[name] = partner


def stem(path: str) -> str:
    """``src/index.d.ts`` → ``index``: the name without directory or any extension."""
    name = path.rsplit("/", 1)[-1]
    return name.split(".", 1)[0] if not name.startswith(".") else name


def core_stem(path: str) -> str:
    """The stem without test affixes, lower case: ``test_app.py`` and ``app.py`` → ``app``."""
    name = path.rsplit("/", 1)[-1]
    for suffix in (".test", ".spec"):  # x.test.ts: the affix is inside the extensions
        head = name.split(".")
        if len(head) > 2 and f".{head[-2]}" == suffix:
            name = ".".join(head[:-2] + head[-1:])
    core = TEST_AFFIX.sub("", stem(name)) or stem(name)
    return core.lower().replace("-", "_")


def is_test(path: str) -> bool:
    return TEST_PATH.search(path) is not None


def mirrored(a: str, b: str) -> int:
    """Directory names the two paths share from the end (``lib/adapters/x.js`` and
    ``test/unit/adapters/x.js`` share ``adapters``)."""
    da, db = a.split("/")[:-1], b.split("/")[:-1]
    shared = 0
    while da and db and da[-1] == db[-1]:
        shared += 1
        da.pop()
        db.pop()
    return shared


def graph_signals(found: Signals, edges: Sequence[Edge], focus: Sequence[str],
                  barrels: set[str]) -> set[str]:
    """Direct import edges both ways, and two steps through a barrel (a file that
    re-exports: ``index.js``, ``__init__.py``, ``mod.rs``) — the way tests reach code through
    the public API. Returns the files that reach the focus (candidates for ``uses_focus``)."""
    out: dict[str, set[str]] = {}
    into: dict[str, set[str]] = {}
    for edge in edges:
        out.setdefault(edge.source, set()).add(edge.target)
        into.setdefault(edge.target, set()).add(edge.source)
    focus_set = set(focus)
    reach: set[str] = set()
    for f in focus:
        for target in out.get(f, ()):
            found.set(target, "imports", 1.0, f)
        for source in into.get(f, ()):
            found.set(source, "imported_by", 1.0, f)
            reach.add(source)
            if source in barrels:  # importers of a barrel that exports the focus
                for user in into.get(source, ()):
                    found.set(user, "barrel", 1.0, f)
                    reach.add(user)
        for target in out.get(f, ()):
            if target in barrels:  # what the focus reaches through a barrel it imports
                for inner in out.get(target, ()):
                    found.set(inner, "barrel", 0.5, f)
    return reach - focus_set


def barrel_files(edges: Iterable[Edge], paths: Iterable[str]) -> set[str]:
    """Files that pass names through: a re-export edge, or a package entry file."""
    out = {e.source for e in edges if e.kind == "re-export"}
    out.update(p for p in paths if stem(p) in BARREL_STEMS)
    return out


def path_signals(found: Signals, paths: Sequence[str], focus: Sequence[str]) -> None:
    """Test ↔ source pairing by name and mirrored path, siblings, twins."""
    by_core: dict[str, list[str]] = {}
    by_stem: dict[str, list[str]] = {}
    by_dir: dict[str, list[str]] = {}
    for path in paths:
        by_core.setdefault(core_stem(path), []).append(path)
        by_stem.setdefault(stem(path), []).append(path)
        by_dir.setdefault(_dir(path), []).append(path)
    for f in focus:
        f_test, f_core, f_dir = is_test(f), core_stem(f), _dir(f)
        for other in by_core.get(f_core, ()):
            if other != f and is_test(other) != f_test:
                found.set(other, "test_pair", 1.0 + 0.5 * min(mirrored(f, other), 2), f)
        siblings = by_dir.get(f_dir, [])
        if len(siblings) <= 60:  # a directory of hundreds says nothing about one file
            for other in siblings:
                if other != f:
                    found.set(other, "sibling", 1.0, f)
        for other in by_stem.get(stem(f), ()):
            same_dir = _dir(other) == f_dir  # index.d.ts and index.d.cts
            if other == f or (stem(f) in BARREL_STEMS and not same_dir):
                continue
            near = same_dir or _dir(_dir(other)) == _dir(f_dir)  # sibling folders
            if is_test(other) == f_test and near:
                found.set(other, "twin", 1.0, f)


def kind_signals(found: Signals, paths: Sequence[str], tokens: Mapping[str, int | None]) -> None:
    """What a file is, whatever the focus: a test, support code (examples, docs), tiny."""
    for path in paths:
        if path not in found.values:
            continue
        if is_test(path):
            found.set(path, "is_test", 1.0)
        if SUPPORT_PATH.search(path):
            found.set(path, "support", 1.0)
        count = tokens.get(path)
        if count is not None and count < TINY:
            found.set(path, "tiny", 1.0)


def history_signals(found: Signals, coupled: Mapping[str, Coupling],
                    paths: set[str]) -> None:
    """Logical coupling: support, confidence both ways, how recent, and the place among the
    focus's partners (the first few partners matter most, whatever the numbers)."""
    ranked = sorted((p for p in coupled if p in paths), key=lambda p: (-coupled[p].support, p))
    for place, path in enumerate(ranked):
        link = coupled[path]
        found.set(path, "cochange_top", 1.0 / (1 + place))
        if path in paths:
            found.set(path, "cochange", min(link.support, 8.0) / 8.0)
            found.set(path, "cochange_conf", link.confidence)
            found.set(path, "cochange_reverse", link.reverse)
            found.set(path, "cochange_recent", math.exp(-link.last / RECENT_SCALE))
            found.count[path] = link.count


def recent_signals(found: Signals, commits: Sequence[Sequence[str]], paths: set[str]) -> None:
    """Files the newest commits changed, whatever they changed with."""
    for index, files in enumerate(commits[:RECENT]):
        for path in files:
            if path in paths:
                found.set(path, "recent", math.exp(-index / RECENT_SCALE))


def definition_names(names: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for name in names:
        if len(name) >= MIN_NAME and not name.startswith("__") and name not in seen:
            seen[name] = None
    return list(seen)[:MAX_NAMES]


def use_signals(found: Signals, texts: Mapping[str, str], names: Mapping[str, list[str]],
                signal: str = "uses_focus") -> None:
    """A file that names a definition of the focus uses it (the aider map's edge, found by
    word match in the few files that reach the focus through imports, or in the tests)."""
    for focus, defined in names.items():
        if not defined:
            continue
        for path, text in texts.items():
            present = [name for name in defined if name in text]  # substring: C speed
            if not present:
                continue
            match = re.search(r"(?<![\w$])(" + "|".join(map(re.escape, present)) + r")(?![\w$])",
                              text)
            if match is not None:
                found.set(path, signal, 1.0, focus)
                found.used.setdefault(path, match.group(1))


def _dir(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""
