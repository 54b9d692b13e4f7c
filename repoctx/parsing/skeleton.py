"""Definitions and the signature skeleton of one parsed file (package-private to parse).

A skeleton is what the packer shows for files that do not fit in full: every class,
function, method, struct, interface, enum and typedef with its header lines verbatim
(decorators, annotations, doc comments and original indentation included) and its body
replaced by the language's elision marker (``...`` in Python, ``{ … }`` in brace
languages, ``…`` before ``end`` in Ruby/Lua). Containers keep their members in order.
Module-level imports are kept, one collapsed line each: they tell the model where the
names in the signatures come from, for a few tokens.

Captures used (see docs/languages.md):
``@definition.<kind>`` the definition node; ``@name`` its name; ``@body`` the part to elide;
``@members`` the part of a container to descend into; ``@doc`` a docstring kept from the
body or members; ``@keep`` a node kept verbatim wherever its container is shown (fields);
``@wrapper`` a parent that belongs to the header of the definition it wraps (decorators,
``export``). Adjacent comments and attributes just above a definition are its header too.
Everything is sliced from the source bytes, so the output is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tree_sitter as ts

from repoctx.parsing.skeleton_text import Item, Renderer
from repoctx.types import Definition

_NAMESPACES = frozenset({"module", "namespace", "package"})  # their functions aren't methods


@dataclass(slots=True)
class Record:
    """One definition node, merged over every pattern that matched it."""

    node: ts.Node
    kind: str
    pattern: int
    names: dict[int, ts.Node] = field(default_factory=dict)  # start byte → name node
    body: ts.Node | None = None
    members: ts.Node | None = None
    doc: ts.Node | None = None


@dataclass(slots=True)
class Collector:
    """Definition, keep and wrapper captures, filled match by match."""

    records: dict[int, Record] = field(default_factory=dict)  # node id → record
    keeps: dict[int, ts.Node] = field(default_factory=dict)
    docs: dict[int, ts.Node] = field(default_factory=dict)  # docs outside definitions
    wrappers: dict[int, ts.Node] = field(default_factory=dict)

    def add_definition(self, pattern: int, kind: str,
                       match: dict[str, list[ts.Node]]) -> None:
        """A ``@definition.<kind>`` match: merge it into the record for its node."""
        node = match[f"definition.{kind}"][0]
        record = self.records.get(node.id)
        if record is None:
            record = self.records[node.id] = Record(node, kind, pattern)
        elif pattern >= record.pattern:
            record.kind, record.pattern = kind, pattern
        names = match.get("name")
        if names:
            record.names.update((n.start_byte, n) for n in names)
        if len(match) > (2 if names else 1):  # more than definition + name: body, members…
            record.body = _first(match, "body") or record.body
            record.members = _first(match, "members") or record.members
            record.doc = _first(match, "doc") or record.doc

    def add_other(self, match: dict[str, list[ts.Node]]) -> None:
        """``@keep``, ``@wrapper`` and stand-alone ``@doc`` matches."""
        for name, nodes in match.items():
            if name == "keep":
                self.keeps.update((n.id, n) for n in nodes)
            elif name == "wrapper":
                self.wrappers.update((n.id, n) for n in nodes)
            elif name == "doc":
                self.docs.update((n.id, n) for n in nodes)


def _first(match: dict[str, list[ts.Node]], name: str) -> ts.Node | None:
    nodes = match.get(name)
    return nodes[0] if nodes else None


def build(collector: Collector, imports: list[ts.Node], source: bytes, elision: str,
          text: bool = True) -> tuple[tuple[Definition, ...], str | None]:
    """The file's definitions (all of them, nested ones included) and its skeleton.

    ``text=False`` leaves the skeleton out (None): rendering it is a third of a file's
    parse, and a budgeted pack shows the skeletons of a few dozen files at most. Nesting
    still runs, since it decides which functions are methods (imports never do: they
    are not records, and tree nodes nest or are disjoint).
    """
    top = _nest(collector, imports if text else [])
    definitions = _definitions(collector, source)
    if not text:
        return definitions, None
    return definitions, _render(collector, top, source, elision)


def _render(collector: Collector, top: list[Item], source: bytes, elision: str) -> str:
    """The skeleton text of the nested ``top`` items (the source itself if not shorter)."""
    out = Renderer(source, collector.wrappers, elision.encode()).items(top, b"")
    out = out.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")  # BOM, CRLF
    out = out + b"\n" if out else out
    if len(out) >= len(source):
        out = source
    return out.decode("utf-8", "replace")


def _nest(collector: Collector, imports: list[ts.Node]) -> list[Item]:
    """Top-level items, each holding the items shown inside it (only containers show any).

    A record whose parent is a container and lies inside its ``@members`` becomes a child
    (a function there is renamed "method", unless the container is a module or namespace);
    anything inside a body is hidden.
    """
    items = [Item(r.node, r) for r in collector.records.values()]
    seen = {item.node.id for item in items}
    items += [Item(n) for n in collector.keeps.values() if n.id not in seen]
    items += [Item(n, is_doc=True) for n in collector.docs.values() if n.id not in seen]
    for node in imports:
        node = _import_group(node)
        if node.id not in seen:
            seen.add(node.id)
            items.append(Item(node, is_import=True))
    items.sort(key=lambda it: (it.node.start_byte, -it.node.end_byte, it.record is None))
    top: list[Item] = []
    stack: list[tuple[Item, bool]] = []  # open records, and whether their members show
    kept: tuple[list[Item], Item] | None = None  # the last keep shown, and where
    for item in items:
        while stack and not _within(item.node, stack[-1][0].node):
            stack.pop()
        parent, parent_shown = stack[-1] if stack else (None, True)
        members = parent.record.members if parent and parent.record else None
        in_members = members is not None and _within(item.node, members)
        if (in_members and parent and parent.record and parent.record.kind not in _NAMESPACES
                and item.record and item.record.kind == "function"):
            item.record.kind = "method"
        siblings = parent.children if parent else top
        if item.record is not None and kept is not None and _within(item.node, kept[1].node):
            kept[0].remove(kept[1])  # a definition inside a kept node renders instead
            kept = None
        if parent_shown and (parent is None or in_members):
            siblings.append(item)
            if item.record is None and not item.is_import and not item.is_doc:
                kept = (siblings, item)
        if item.record is not None:
            stack.append((item, parent_shown and (parent is None or in_members)))
    return top


def _within(node: ts.Node, outer: ts.Node) -> bool:
    return outer.start_byte <= node.start_byte and node.end_byte <= outer.end_byte


def _import_group(node: ts.Node) -> ts.Node:
    """Go's ``import ( … )``: show the grouping statement, not each spec on its own."""
    parent = node.parent
    while parent is not None and parent.parent is not None and "import" in parent.type:
        node, parent = parent, parent.parent
    return node


def _definitions(collector: Collector, source: bytes) -> tuple[Definition, ...]:
    found: list[tuple[int, Definition]] = []
    for record in collector.records.values():
        node = record.node
        start_row, (end_row, end_col) = node.start_point.row, node.end_point
        if end_col == 0 and end_row > start_row:
            end_row -= 1  # the node ends with its line's newline
        for start, name in sorted(record.names.items()):
            text = source[name.start_byte:name.end_byte].decode("utf-8", "replace").strip()
            if text:
                found.append((start, Definition(record.kind, text, start_row + 1, end_row + 1)))
    found.sort(key=lambda item: (item[1].line, item[0]))
    return tuple(d for _, d in found)
