"""The skeleton's text: slices of the source around the items ``repoctx.parsing.skeleton`` chose.

Package-private to ``repoctx.parsing.skeleton``; see its docstring for the captures and the rules.
Everything here works on bytes and only slices the source, so the output is deterministic.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import tree_sitter as ts

if TYPE_CHECKING:
    from repoctx.parsing.skeleton import Record

_LEADING = frozenset({"attribute_item", "decorator", "annotation", "attribute"})
_MAX_KEEP_LINES = 3
_MAX_DOC_LINES = 8  # longer docs are cut to their first paragraph
_DOC_PREFIX = re.compile(rb"[ \t]*(?:(?:///?|//!|#+|--+|\*)[ \t]?)?")
_DOC_CLOSERS = (b'"""', b"'''", b"*/", b"]]")
_NEWLINE = re.compile(b"\n")
_BLANKS = frozenset(b" \t\r\f\v")


@dataclass(slots=True)
class Item:
    """Something the skeleton may show: a record, a kept node or an import statement."""

    node: ts.Node
    record: Record | None = None
    is_import: bool = False
    is_doc: bool = False
    children: list[Item] = field(default_factory=list)


class Renderer:
    """Slices the source into skeleton text; every method returns bytes."""

    def __init__(self, source: bytes, wrappers: dict[int, ts.Node], elision: bytes) -> None:
        self.src = source
        self._starts: list[int] | None = None
        self.wrappers = wrappers
        self.elision = elision

    def items(self, items: list[Item], indent: bytes) -> bytes:
        """Render siblings in order, keeping a blank line where the source has one."""
        parts: list[bytes] = []
        prev_end: int | None = None
        for item in items:
            start, text = self.item(item, indent)
            if not text:
                continue
            if prev_end is not None:
                gap = self.src[prev_end:start]
                parts.append(b"\n\n" if gap.count(b"\n") >= 2 else b"\n")
            parts.append(text)
            prev_end = self._end(item.node)
        return b"".join(parts)

    def item(self, item: Item, indent: bytes) -> tuple[int, bytes]:
        """Where the item's text starts in the source, and the text."""
        if item.is_import:
            return item.node.start_byte, self._import(item.node)
        lead, head = self._lead(item.node)
        text = _trim_doc(self.src[lead:head]) if head > lead else b""
        if item.is_doc:
            text += _trim_doc(self.src[head:self._end(item.node)])
        elif item.record is None:
            text += self._keep(head, item.node)
        else:
            text += self._record(head, item)
        if lead != self._line_begin(lead):
            text = indent + text  # a crowded line: give it its nesting indentation
        return lead, text

    def _import(self, node: ts.Node) -> bytes:
        """The import's whole lines collapsed to one (its own text if the line is crowded)."""
        start = self._line_begin(node.start_byte)
        end = self._line_end(self._end(node))
        text = self.src[start:end]
        if len(text) > node.end_byte - node.start_byte + 80:
            text = self.src[node.start_byte:self._end(node)]
        return b" ".join(text.split())

    def _keep(self, lead: int, node: ts.Node) -> bytes:
        text = self.src[lead:self._end(node)]
        lines = text.split(b"\n")
        if len(lines) > _MAX_KEEP_LINES:
            return lines[0].rstrip() + b" " + self.elision
        return text

    def _record(self, lead: int, item: Item) -> bytes:
        record = item.record
        assert record is not None
        outer_end = self._end(record.node)
        if record.body is not None:
            body = record.body
            return (self.src[lead:body.start_byte] + self._elide(body, record.doc)
                    + self.src[body.end_byte:outer_end])
        if record.members is not None and record.node.start_point.row != record.node.end_point.row:
            return self._container(lead, item, outer_end)
        return self.src[lead:outer_end]

    def _container(self, lead: int, item: Item, outer_end: int) -> bytes:
        """Header, then the doc and shown members in order, then the closing token/line."""
        record = item.record
        assert record is not None and record.members is not None
        members = record.members
        kids = list(item.children)
        if record.doc is not None:
            kids.insert(0, Item(record.doc, is_doc=True))
        if not kids:
            return (self.src[lead:members.start_byte] + self._elide(members, None)
                    + self.src[members.end_byte:outer_end])
        opening, closing = _delimiters(members)
        head_end = opening.end_byte if opening is not None else members.start_byte
        indent = self._indent(lead)
        text = self.src[lead:head_end].rstrip() + b"\n" + self.items(kids, indent + b"  ")
        tail_start = closing.start_byte if closing is not None else members.end_byte
        tail = self.src[tail_start:outer_end].strip()
        return text + (b"\n" + indent + tail if tail else b"")

    def _elide(self, body: ts.Node, doc: ts.Node | None) -> bytes:
        opening, closing = _delimiters(body)
        if opening is not None and body.named_child_count == 0:
            return self.src[body.start_byte:body.end_byte]  # `{}`: nothing to elide
        inner = self.elision
        if doc is not None:
            inner = (_trim_doc(self.src[doc.start_byte:doc.end_byte]) + b"\n"
                     + self._indent(doc.start_byte) + self.elision)
        if opening is None:
            return inner
        text = self.src[opening.start_byte:opening.end_byte] + b" " + inner
        return text + (b" " + self.src[closing.start_byte:closing.end_byte] if closing else b"")

    def _outer(self, node: ts.Node) -> ts.Node:
        """The outermost wrapper (decorated_definition, export_statement…) around a node."""
        parent = node.parent
        while parent is not None and parent.id in self.wrappers:
            node, parent = parent, parent.parent
        return node

    def _end(self, node: ts.Node) -> int:
        """Where the item ends: its outermost wrapper, plus a ``;``/``:`` token right after,
        minus trailing whitespace (preprocessor nodes own their newline)."""
        node = self._outer(node)
        end = node.end_byte
        after = node.next_sibling
        if after is not None and after.type in (";", ":") and not after.is_named:
            end = after.end_byte
        while end > node.start_byte and self.src[end - 1:end] in (b"\n", b"\r", b" ", b"\t"):
            end -= 1
        return end

    def _lead(self, node: ts.Node) -> tuple[int, int]:
        """Where the item's text starts (adjacent leading comments and attributes included)
        and where its header proper starts (after the comments, which may be trimmed)."""
        node = self._outer(node)
        start, row, head = node.start_byte, node.start_point.row, node.start_byte
        prev = node.prev_named_sibling
        while (prev is not None and ("comment" in prev.type or prev.type in _LEADING)
               and prev.end_point.row >= row - 1 and self._starts_line(prev.start_byte)):
            start, row = prev.start_byte, prev.start_point.row
            if "comment" not in prev.type:
                head = start
            prev = prev.prev_named_sibling
        lead = self._line_start(start)
        return lead, (self._line_start(head) if head > start else lead)

    def _line_begin(self, pos: int) -> int:
        """Start of the line holding ``pos`` (a bisect: minified files are one huge line)."""
        starts = self._line_starts()
        return starts[bisect.bisect_right(starts, pos) - 1]

    def _line_end(self, pos: int) -> int:
        """The newline ending the line holding ``pos`` (or the end of the source)."""
        starts = self._line_starts()
        index = bisect.bisect_right(starts, pos)
        return starts[index] - 1 if index < len(starts) else len(self.src)

    def _line_starts(self) -> list[int]:
        if self._starts is None:
            self._starts = [0, *(m.end() for m in _NEWLINE.finditer(self.src))]
        return self._starts

    def _line_start(self, pos: int) -> int:
        """``pos`` moved back over indentation to its line start (if only blanks precede)."""
        return self._line_begin(pos) if self._starts_line(pos) else pos

    def _starts_line(self, pos: int) -> bool:
        """Whether only blanks precede ``pos`` on its line (scanning back over them only)."""
        line, src = self._line_begin(pos), self.src
        while pos > line and src[pos - 1] in _BLANKS:
            pos -= 1
        return pos == line

    def _indent(self, pos: int) -> bytes:
        """The blanks that open the line holding ``pos``."""
        line = self._line_begin(pos)
        text = self.src[line:line + 256]
        return text[:len(text) - len(text.lstrip(b" \t"))]


def _trim_doc(text: bytes) -> bytes:
    """A long docstring or doc comment cut to its first paragraph: the summary is what a
    skeleton needs; examples and parameter tables are what makes docs long."""
    lines = text.split(b"\n")
    tail = b""
    if lines and not lines[-1].strip():  # a comment run ends with the header's indentation
        tail = b"\n" + lines.pop()
    if len(lines) <= _MAX_DOC_LINES:
        return text
    keep = [lines[0]]
    for line in lines[1:_MAX_DOC_LINES]:
        if not line.strip(b" \t/*#!-\"'"):
            break
        keep.append(line)
    sample = keep[-1] if len(keep) > 1 else next((x for x in lines[1:] if x.strip()), b"")
    prefix = _DOC_PREFIX.match(sample)
    marker = (prefix.group() if prefix else b"") + "…".encode()
    last = lines[-1].rstrip()
    closing = next((c for c in _DOC_CLOSERS if last.endswith(c)), None)
    end = [last[:len(last) - len(last.lstrip())] + closing] if closing else []
    return b"\n".join([*keep, marker, *end]) + tail


def _delimiters(node: ts.Node) -> tuple[ts.Node | None, ts.Node | None]:
    """The anonymous first/last children of a body: ``{``/``}``, ``=``, ``=>``…"""
    children = node.children
    if not children or children[0].is_named:
        return None, None
    last = children[-1]
    return children[0], (last if len(children) > 1 and not last.is_named else None)
