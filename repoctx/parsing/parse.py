"""Parse: what tree-sitter says about one file — its imports, definitions and skeleton.

Every language fact lives in a query file, ``repoctx/parsing/languages/queries/<language>.scm``;
this module only reads the captures, so adding a language touches no Python. One query
per language, compiled once per process, runs once per file; captures do the per-node
work in C, and Python only sorts the (few) captured nodes. UI-free: never prints, and
never raises on content — a broken file still yields whatever could be read, with
``ParsedFile.error`` saying what went wrong.

Capture vocabulary (documented for query authors in docs/languages.md):

``@import`` / ``@import.<kind>``
    The whole import-like statement; its first line is ``ImportRef.line``. ``<kind>`` is
    an EdgeKind (``type``, ``reexport`` for "re-export", ``include``, ``mod``, ``dynamic``,
    ``require``, ``use``, ``lazy``); plain ``@import`` is "import".
``@import.module``
    The specifier. Quotes, backticks and ``<>`` are stripped (``<>`` → ``system=True``);
    everything else stays as written. Several nodes in one match span first to last.
``@import.relative``
    A specifier relative to the importing file though not written so (Ruby
    ``require_relative "x"``, PHP ``__DIR__ . '/x'``): it gets a ``./`` prefix.
``@import.name``
    Imported names (0..n), merged over every match of the same statement and specifier.
``@scope.function`` / ``@scope.type_checking``
    Nodes whose imports run late (scope "function"; a plain import becomes "lazy", and
    so does the edge of a ``require``/``include`` there) or never (scope
    "type-checking", kind "type").
``@definition.<kind>``, ``@name``, ``@body``, ``@members``, ``@doc``, ``@keep``, ``@wrapper``
    Definitions and the skeleton; see ``repoctx.parsing.skeleton``.
``@syntax.valid``
    An ERROR node that is valid syntax the newest grammar wheel predates (TypeScript 5's
    ``export type *``, variance annotations, ``static accessor``): not reported as a
    syntax error. Patterns must pin the exact shape, so a real mistake still is.
Captures starting with ``_`` only feed predicates. When patterns disagree about one
statement, the later pattern's kind wins; a specifier containing another specifier
captured in the same statement is dropped (the inner, more specific capture wins).
"""

from __future__ import annotations

import importlib
import re
import threading
import time
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from typing import cast

import tree_sitter as ts

from repoctx.parsing import skeleton
from repoctx.parsing.languages import LANGUAGES, get_language, has_grammar, query_source
from repoctx.types import PARSE_TOO_SLOW, EdgeKind, ImportRef, ImportScope, ParsedFile

__all__ = ["parse_source"]

_MAX_ERROR_LINES = 5
# Bounds on one file's parse (issue 16): tree-sitter takes minutes on some inputs (163 KB of
# ``[[[[`` in Lua: 496 s; 124 KB of nested brackets: 20-38 s in most grammars, mostly in the
# query, whose time grows with the square of the nesting). A file past a bound gets no parse
# at all (``TOO_SLOW``): the scan lists it, with the reason.
PARSE_CPU_SECONDS = 10.0  # the parse of one file, CPU time of the parsing thread
MAX_NESTING = 1000  # brackets open at once (counted over the bytes, strings included)
TOO_SLOW = PARSE_TOO_SLOW
# openers → 1, closers → -1 (as a signed byte), everything else deleted: see _nesting
_BRACKETS = bytes.maketrans(b"([{)]}", b"\x01\x01\x01\xff\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"([{)]}")
_CHUNK = 1 << 16
_KNOWN = {lang.name for lang in LANGUAGES}
_CAPTURE = re.compile(rb"@([\w.]+)")
_IMPORT_KINDS: dict[str, EdgeKind] = {
    "import": "import", "import.type": "type", "import.reexport": "re-export",
    "import.include": "include", "import.mod": "mod", "import.dynamic": "dynamic",
    "import.require": "require", "import.use": "use", "import.lazy": "lazy",
}


@dataclass(frozen=True, slots=True)
class _Grammar:
    language: ts.Language
    query: ts.Query
    elision: str
    lean: bool  # patterns only the skeleton text needs are disabled (see _lean)
    definitions: bool  # False: the definition patterns are disabled too
    import_word: bytes | None  # set for imports-only queries of such languages (_shallow)
    roles: dict[int, tuple[str, str]] = field(default_factory=dict)  # pattern → role, lazily


@dataclass(slots=True)
class _ImportGroup:
    """One (statement, specifier) pair, merged over every match that mentions it."""

    statement: ts.Node
    start: int
    end: int
    kind: EdgeKind
    pattern: int
    relative: bool
    names: dict[int, ts.Node] = field(default_factory=dict)  # start byte → name node


@dataclass(slots=True)
class _Captures:
    """A file's query matches, sorted by role."""

    imports: dict[tuple[int, int, int], _ImportGroup] = field(default_factory=dict)
    function_scopes: set[int] = field(default_factory=set)  # node ids
    type_checking: set[int] = field(default_factory=set)
    valid: set[int] = field(default_factory=set)  # ERROR nodes that are valid syntax
    defs: skeleton.Collector = field(default_factory=skeleton.Collector)


_local = threading.local()  # tree-sitter parsers are not thread-safe: one per thread


def parse_source(language: str, source: bytes, path: str = "", *,
                 skeleton_text: bool = True, lean: bool = False,
                 definitions: bool = True) -> ParsedFile:
    """Imports, definitions and skeleton of ``source``; languages without a grammar get none.

    ``path`` only labels errors. Never raises: an internal failure comes back as a
    ParsedFile with ``error`` set (and whatever was extracted before it).
    ``skeleton_text=False`` skips rendering the skeleton (a third of the work): the result's
    ``skeleton`` is then "" whatever the file holds, and the caller must know it is unset.
    ``lean`` (with ``skeleton_text=False``) also runs the query without its skeleton-only
    patterns. That query is compiled on its own, so it is for processes that never render
    a skeleton (scan workers): some languages' queries take most of a second to compile.
    ``definitions=False`` (with ``lean``) disables the definition patterns as well, for
    scans that only feed the graph: the result has no definitions, whatever the file holds.
    """
    if language not in _KNOWN or not has_grammar(language):
        return ParsedFile(language)
    lean = lean and not skeleton_text
    grammar = _grammar(language, lean, definitions or not lean)
    if isinstance(grammar, str):
        return ParsedFile(language, error=grammar)
    too_deep = _too_deep(source)
    if too_deep:
        return ParsedFile(language, error=f"{TOO_SLOW}: {too_deep} (not parsed)")
    clock = _Clock(time.thread_time() + PARSE_CPU_SECONDS)
    try:
        grammar, tree = _tree(language, grammar, source, clock)
        caps = _shallow(grammar, tree.root_node, source)
        if caps is None:
            caps = _collect(grammar, tree.root_node)
        imports, import_nodes = _import_refs(caps, source)
    except _TooSlow:
        return ParsedFile(language, error=f"{TOO_SLOW}: over {PARSE_CPU_SECONDS:g} s "
                                          "(not parsed)")
    except Exception as exc:  # fail soft: one bad file must never stop a run
        return ParsedFile(language, error=_describe(exc, path))
    error = _syntax_error(tree.root_node, caps.valid)
    try:
        defined, skel = skeleton.build(caps.defs, import_nodes, source, grammar.elision,
                                       text=skeleton_text)
    except Exception as exc:
        return ParsedFile(language, imports, error=_describe(exc, path))
    return ParsedFile(language, imports, defined, skel or "", error)


def _too_deep(source: bytes) -> str:
    """Why ``source`` is nested too deeply to parse in bounded time ("" when it is not).

    The query has no usable time bound (a progress callback on ``QueryCursor.matches``
    crashes py-tree-sitter 0.26), and its time grows with the square of the nesting: the
    nesting is bounded before parsing instead, counted over the bytes at C speed (~2 ms a
    MB of code). Brackets in strings count too, so the bound is far above real code."""
    steps = source.translate(_BRACKETS, _NOT_BRACKETS)
    if steps.count(1) > MAX_NESTING and \
            max(accumulate(memoryview(steps).cast("b")), default=0) > MAX_NESTING:
        return f"brackets nested over {MAX_NESTING} deep"
    return ""


class _TooSlow(Exception):
    """The file's parse ran past ``PARSE_CPU_SECONDS``."""


@dataclass(slots=True)
class _Clock:
    """One file's deadline, in the parsing thread's CPU time (a busy machine does not make
    a normal file time out); tree-sitter's parse polls it through its progress callback."""

    deadline: float
    expired: bool = False

    def over(self, *_: object) -> bool:
        """The progress callback: True stops tree-sitter."""
        if not self.expired and time.thread_time() > self.deadline:
            self.expired = True
        return self.expired


def _parse(parser: ts.Parser, source: bytes, clock: _Clock) -> ts.Tree:
    """``parser.parse(source)`` stopped at the clock's deadline (only the read-callback form
    of parse takes a progress callback; it costs nothing measurable)."""
    try:
        return parser.parse(lambda offset, _: source[offset:offset + _CHUNK],
                            progress_callback=clock.over)
    except ValueError:
        if not clock.expired:
            raise
        parser.reset()  # else the next parse would resume this one
        raise _TooSlow from None


def _tree(language: str, grammar: _Grammar, source: bytes,
          clock: _Clock) -> tuple[_Grammar, ts.Tree]:
    """Parse, retrying a broken file with the registry's fallback grammar when the source
    carries its markers (``.h`` headers written in C++ parse as C first)."""
    tree = _parse(_parser(language, grammar.language), source, clock)
    lang = get_language(language)
    if (not tree.root_node.has_error or lang.fallback is None
            or not any(marker in source for marker in lang.fallback_markers)):
        return grammar, tree
    other = _grammar(lang.fallback, grammar.lean, grammar.definitions)
    if isinstance(other, str):
        return grammar, tree
    other_tree = _parse(_parser(lang.fallback, other.language), source, clock)
    if _damage(other_tree.root_node) < _damage(tree.root_node):
        return other, other_tree
    return grammar, tree


def _damage(root: ts.Node) -> int:
    """How much of a tree is broken: its top-level children that contain errors."""
    return sum(1 for child in root.children if child.has_error)


def _describe(exc: Exception, path: str) -> str:
    where = f" in {path}" if path else ""
    return f"parse failed{where}: {type(exc).__name__}: {exc}"


@cache
def _grammar(language: str, lean: bool = False, definitions: bool = True) -> _Grammar | str:
    """The compiled grammar and query, or why there is none (cached either way).

    ``lean``: the query for parses without skeleton text, compiled on its own (a query
    cannot be copied, and some take most of a second to compile: a process compiles
    only the ones it uses). ``definitions=False`` (lean only): without definitions too."""
    lang = get_language(language)
    module_name = cast(str, lang.grammar_module)
    try:
        module = importlib.import_module(module_name)
        ts_language = ts.Language(getattr(module, lang.grammar_function)())
    except Exception as exc:
        return f"grammar {module_name} unavailable: {type(exc).__name__}: {exc}"
    text = query_source(language) or ""
    try:
        query = ts.Query(ts_language, text)
    except Exception as exc:
        return f"query for {language} does not compile: {exc}"
    if lean:
        _lean(query, text.encode("utf-8"), definitions)
    imports_only = lean and not definitions
    return _Grammar(ts_language, query, lang.elision, lean, not imports_only,
                    lang.import_word if imports_only else None)


def _lean(query: ts.Query, text: bytes, definitions: bool) -> None:
    """Disable the patterns with no definition, import or scope capture (``@keep``,
    ``@wrapper``, stand-alone ``@doc``): only the skeleton text reads them; without
    ``definitions``, those with no import or scope capture. Read from each pattern's
    source, comments included, so a pattern is kept whenever in doubt."""
    wanted = ("definition.", "scope.", "syntax.") if definitions else ("scope.", "syntax.")
    for index in range(query.pattern_count):
        source = text[query.start_byte_for_pattern(index):query.end_byte_for_pattern(index)]
        names = [name.decode() for name in _CAPTURE.findall(source)]
        if not any(name.startswith(wanted) or name in _IMPORT_KINDS for name in names):
            query.disable_pattern(index)


def _parser(language: str, ts_language: ts.Language) -> ts.Parser:
    parsers: dict[str, ts.Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(language)
    if parser is None:
        parser = parsers[language] = ts.Parser(ts_language)
    return parser


def _shallow(grammar: _Grammar, root: ts.Node, source: bytes) -> _Captures | None:
    """The captures of an imports-only query matched at the top level alone, when that
    provably finds them all; else None (match the whole tree).

    Matching is most of a lean parse's query time, and it walks the whole tree although
    most files import at the top level only. Every import form of the language contains its
    ``import_word`` (``importlib.import_module``, ``__import__`` too), so when each
    occurrence of the word lies inside a captured top-level statement there is no other
    import anywhere; and a top-level import has no enclosing function or type-checking
    block, so the deeper scope captures could not change it. A tree with errors is matched
    whole: ``@syntax.valid`` patterns may match anywhere in it.
    """
    word = grammar.import_word
    if word is None or root.has_error:
        return None
    if word not in source:
        return _Captures()  # no import at all
    caps = _collect(grammar, root, max_start_depth=1)
    statements = {group.statement.id: group.statement for group in caps.imports.values()}
    covered = sum(source.count(word, node.start_byte, node.end_byte)
                  for node in statements.values())
    return caps if covered == source.count(word) else None


def _collect(grammar: _Grammar, root: ts.Node, max_start_depth: int | None = None) -> _Captures:
    """Sort every match into imports, scopes and definition records."""
    caps = _Captures()
    roles = grammar.roles
    cursor = ts.QueryCursor(grammar.query)
    if max_start_depth is not None:
        cursor.set_max_start_depth(max_start_depth)
    for pattern, match in cursor.matches(root):
        role = roles.get(pattern)
        if role is None:
            role = roles[pattern] = _role(match)
        what, name = role
        if what == "definition":
            caps.defs.add_definition(pattern, name[11:], match)
        elif what == "import":
            _add_import(caps, pattern, _IMPORT_KINDS[name], match[name][0], match)
        elif what == "scope":
            scopes = caps.function_scopes if name == "scope.function" else caps.type_checking
            scopes.update(n.id for n in match[name])
        elif what == "syntax":
            caps.valid.update(n.id for n in match[name])
        else:
            caps.defs.add_other(match)
    return caps


def _role(match: dict[str, list[ts.Node]]) -> tuple[str, str]:
    """What a pattern is for, from the capture on its outer node (never optional)."""
    for name in match:
        if name.startswith("definition."):
            return "definition", name
        if name in _IMPORT_KINDS:
            return "import", name
        if name.startswith("scope."):
            return "scope", name
        if name == "syntax.valid":
            return "syntax", name
    return "other", ""


def _add_import(caps: _Captures, pattern: int, kind: EdgeKind, statement: ts.Node,
                match: dict[str, list[ts.Node]]) -> None:
    relative = "import.relative" in match
    modules = match.get("import.relative" if relative else "import.module")
    if not modules:
        return
    start, end = modules[0].start_byte, modules[-1].end_byte
    key = (statement.id, start, end)
    group = caps.imports.get(key)
    if group is None:
        group = caps.imports[key] = _ImportGroup(statement, start, end, kind, pattern, relative)
    elif pattern >= group.pattern:
        group.kind, group.pattern = kind, pattern
    for name in match.get("import.name", ()):
        group.names[name.start_byte] = name


def _specific(groups: list[_ImportGroup]) -> list[_ImportGroup]:
    """Drop groups whose specifier contains another one of the same statement.

    Captured spans are tree nodes (or runs of siblings), so they nest or are disjoint:
    sorted by start and then longest first, a span contains another exactly when it
    contains the next one.
    """
    ordered = sorted(groups, key=lambda g: (g.start, -g.end))
    return [g for g, after in zip(ordered, [*ordered[1:], None], strict=True)
            if after is None or after.end > g.end]


def _import_refs(caps: _Captures,
                 source: bytes) -> tuple[tuple[ImportRef, ...], list[ts.Node]]:
    """The ImportRefs in source order, and the statements the skeleton may show."""
    by_statement: dict[int, list[_ImportGroup]] = {}
    for group in caps.imports.values():
        by_statement.setdefault(group.statement.id, []).append(group)
    refs: list[tuple[int, ImportRef]] = []
    shown: list[ts.Node] = []
    for groups in by_statement.values():
        for group in _specific(groups) if len(groups) > 1 else groups:
            ref = _import_ref(group, caps, source)
            if ref is not None:
                refs.append((group.start, ref))
                if ref.scope != "function" and (not shown or shown[-1] != group.statement):
                    shown.append(group.statement)
    refs.sort(key=lambda item: (item[1].line, item[0]))
    return tuple(dict.fromkeys(ref for _, ref in refs)), shown


def _import_ref(group: _ImportGroup, caps: _Captures, source: bytes) -> ImportRef | None:
    module, system = _specifier(source[group.start:group.end].decode("utf-8", "replace"))
    if not module:
        return None
    if group.relative:
        module = _relative(module)
    names = tuple(dict.fromkeys(
        source[n.start_byte:n.end_byte].decode("utf-8", "replace").strip()
        for _, n in sorted(group.names.items())))
    scope = _scope(group.statement, caps)
    kind: EdgeKind = group.kind
    if scope == "type-checking":
        kind = "type"
    elif scope == "function" and kind == "import":
        kind = "lazy"
    line = group.statement.start_point.row + 1
    return ImportRef(module, kind, line, names, scope, system)


def _specifier(text: str) -> tuple[str, bool]:
    """Strip quotes/backticks (repeatedly: '''x''') or <angle brackets> from a specifier."""
    text = text.strip()
    if len(text) >= 2 and text[0] == "<" and text[-1] == ">":
        return text[1:-1].strip(), True
    while len(text) >= 2 and text[0] in "\"'`" and text[-1] == text[0]:
        text = text[1:-1]
    return text, False


def _relative(module: str) -> str:
    if module.startswith(("./", "../")) or module in (".", ".."):
        return module
    return "." + module if module.startswith("/") else "./" + module


def _scope(statement: ts.Node, caps: _Captures) -> ImportScope:
    """Type-checking beats function (such an import never runs at all)."""
    if not caps.function_scopes and not caps.type_checking:
        return "module"
    scope: ImportScope = "module"
    node = statement.parent
    while node is not None:
        if node.id in caps.type_checking:
            return "type-checking"
        if node.id in caps.function_scopes:
            scope = "function"
        node = node.parent
    return scope


def _syntax_error(root: ts.Node, valid: set[int] | None = None) -> str | None:
    """``"syntax errors at lines 3, 17"`` for the first few ERROR/MISSING nodes, or None.

    ERROR nodes in ``valid`` (``@syntax.valid``) are valid syntax the grammar predates."""
    if not root.has_error:
        return None
    valid = valid or set()
    lines: set[int] = set()
    stack = [root]
    while stack and len(lines) <= _MAX_ERROR_LINES:
        node = stack.pop()
        broken = [child for child in node.children if child.has_error or child.is_missing]
        blamed = [child for child in broken if child.id not in valid]
        if node.is_error or node.is_missing or not broken:  # no child to blame: this node
            lines.add(node.start_point.row + 1)
            continue
        stack.extend(reversed(blamed))
    if not lines:
        return None
    shown = sorted(lines)[:_MAX_ERROR_LINES]
    more = " and more" if len(lines) > _MAX_ERROR_LINES else ""
    if len(shown) == 1:
        return f"syntax error at line {shown[0]}"
    return f"syntax errors at lines {', '.join(map(str, shown))}{more}"
