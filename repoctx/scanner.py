"""scan: walk → parse → tokens → graph, with every per-file result served from the cache.

The orchestrator behind ``repoctx.scan``. Stages are plain functions over plain records;
the only side channel is the ``progress`` callback, so the CLI can draw a progress bar and
the TUI a status line without the core knowing about either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from repoctx.cache import Cache, content_hash, parsed_from_json, parsed_to_json
from repoctx.content import decode, defang
from repoctx.errors import RepoctxError
from repoctx.languages import has_grammar
from repoctx.tokens import TokenCounter, qwen35
from repoctx.types import Graph, ParsedFile, Problem
from repoctx.walk import Skip, SourceFile, WalkOptions, walk


@dataclass(frozen=True, slots=True)
class Progress:
    stage: str  # "walk", "read", "parse", "graph"
    done: int
    total: int


ProgressCallback = Callable[[Progress], None]


@dataclass(slots=True)
class RepoFile:
    """One walked file and what the pipeline learned about it."""

    path: str
    language: str | None
    size: int
    skip: Skip | None
    digest: str | None = None
    parsed: ParsedFile | None = None
    tokens: int | None = None  # tokens of the text as packed (normalised, defanged)
    skeleton_tokens: int | None = None
    lines: int = 0
    note: str | None = None  # decoding note, shown in the manifest

    @property
    def packable(self) -> bool:
        return self.skip is None and self.tokens is not None


@dataclass(slots=True)
class Repo:
    """A scanned repository: the input of every packing, review and question."""

    root: Path
    is_git: bool
    files: dict[str, RepoFile]
    graph: Graph
    counter: TokenCounter
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.root.name

    def text(self, path: str) -> str:
        """The file's text as packed; re-counted if it changed since the scan."""
        entry = self.files[path]
        data = (self.root / path).read_bytes()
        text = defang(decode(data).text)
        digest = content_hash(data)
        if digest != entry.digest:
            entry.digest, entry.tokens = digest, self.counter.count(text)
        return text


def scan(
    root: Path,
    *,
    options: WalkOptions | None = None,
    counter: TokenCounter | None = None,
    cache: Cache | None = None,
    progress: ProgressCallback | None = None,
) -> Repo:
    report = progress or (lambda _: None)
    counter = counter or qwen35()
    own_cache = cache is None
    cache = cache or Cache()
    try:
        report(Progress("walk", 0, 1))
        walked = walk(root, options)
        report(Progress("walk", 1, 1))
        files = {f.path: RepoFile(f.path, f.language, f.size, f.skip) for f in walked.files}
        packable = [f for f in walked.files if f.skip is None]
        problems = list(walked.problems)
        problems += _analyse(walked.root, packable, files, counter, cache, report)
        graph = _graph(walked.root, files, report)
        warnings = [w for w in (cache.warning,) if w]
        return Repo(walked.root, walked.is_git, files, graph, counter, problems, warnings)
    finally:
        if own_cache:
            cache.close()


def _analyse(
    root: Path,
    packable: Sequence[SourceFile],
    files: dict[str, RepoFile],
    counter: TokenCounter,
    cache: Cache,
    report: ProgressCallback,
) -> list[Problem]:
    """Fill digest, parse facts and token counts; read only files the cache cannot vouch for."""
    root_key = str(root)
    known = cache.known_hashes(root_key)
    for source in packable:
        seen = known.get(source.path)
        if seen and seen[0] == source.size and seen[1] == source.mtime_ns:
            files[source.path].digest = seen[2]
    cached_facts = cache.facts(f.digest for f in files.values() if f.digest)
    full_counts = cache.counts(counter.name, "full", cached_facts)
    skeleton_counts = cache.counts(counter.name, "skeleton", cached_facts)
    todo: list[SourceFile] = []
    for source in packable:
        entry = files[source.path]
        digest = entry.digest
        if digest and digest in cached_facts and digest in full_counts \
                and digest in skeleton_counts:
            _apply_facts(entry, cached_facts[digest])
            entry.tokens, entry.skeleton_tokens = full_counts[digest], skeleton_counts[digest]
        else:
            todo.append(source)
    problems = _read_and_parse(todo, files, counter, cache, report)
    cache.remember_hashes(root_key, [
        (s.path, s.size, s.mtime_ns, files[s.path].digest or "") for s in packable
        if files[s.path].digest
    ])
    reparsed = {source.path for source in todo}
    for source in packable:
        entry = files[source.path]
        if source.path not in reparsed and entry.note:
            problems.append(Problem(entry.path, entry.note))
    return problems


def _read_and_parse(
    todo: Sequence[SourceFile],
    files: dict[str, RepoFile],
    counter: TokenCounter,
    cache: Cache,
    report: ProgressCallback,
) -> list[Problem]:
    from repoctx.parse import parse_source

    problems: list[Problem] = []
    new_facts: list[tuple[str, dict[str, object]]] = []
    texts: list[str] = []
    skeletons: list[str] = []
    digests: list[str] = []
    for done, source in enumerate(todo):
        if done % 64 == 0:
            report(Progress("parse", done, len(todo)))
        entry = files[source.path]
        try:
            data = source.abspath.read_bytes()
        except OSError as exc:
            entry.skip = Skip("excluded", f"unreadable ({exc.strerror or exc})")
            problems.append(Problem(entry.path, entry.skip.reason))
            continue
        decoded = decode(data)
        language = entry.language if has_grammar(entry.language) else None
        parsed = (parse_source(language, decoded.text.encode("utf-8"), entry.path)
                  if language else ParsedFile(entry.language or "text"))
        entry.digest = content_hash(data)
        facts: dict[str, object] = {
            "parsed": parsed_to_json(parsed), "note": decoded.note,
            "lines": decoded.text.count("\n") + (0 if decoded.text.endswith("\n") else 1),
        }
        _apply_facts(entry, facts)
        new_facts.append((entry.digest, facts))
        texts.append(defang(decoded.text))
        skeletons.append(defang(parsed.skeleton))
        digests.append(entry.digest)
        if entry.note:
            problems.append(Problem(entry.path, entry.note))
    report(Progress("tokens", 0, len(texts)))
    full = counter.count_many(texts)
    skeleton = counter.count_many(skeletons)
    by_digest = {d: (t, s) for d, t, s in zip(digests, full, skeleton, strict=True)}
    for source in todo:
        entry = files[source.path]
        if entry.digest in by_digest:
            entry.tokens, entry.skeleton_tokens = by_digest[entry.digest]
    cache.store_facts(new_facts)
    cache.store_counts(counter.name, "full", zip(digests, full, strict=True))
    cache.store_counts(counter.name, "skeleton", zip(digests, skeleton, strict=True))
    report(Progress("parse", len(todo), len(todo)))
    return problems


def _apply_facts(entry: RepoFile, facts: dict[str, object]) -> None:
    parsed_data = facts["parsed"]
    assert isinstance(parsed_data, dict)
    entry.parsed = parsed_from_json(parsed_data)
    note = facts.get("note")
    errors = [str(note)] if note else []
    if entry.parsed.error:
        errors.append(entry.parsed.error)
    entry.note = "; ".join(errors) or None
    lines = facts.get("lines", 0)
    entry.lines = lines if isinstance(lines, int) else 0


def _graph(root: Path, files: dict[str, RepoFile], report: ProgressCallback) -> Graph:
    from repoctx.graph import build_graph

    report(Progress("graph", 0, 1))
    languages = {path: f.language for path, f in files.items()
                 if not (f.skip and f.skip.tier == "excluded")}
    parsed = {path: f.parsed for path, f in files.items() if f.parsed is not None}
    try:
        graph = build_graph(root, languages, parsed)
    except RecursionError as exc:  # defensive: a resolver bug must not lose the whole run
        raise RepoctxError(f"dependency graph failed: {exc}") from exc
    report(Progress("graph", 1, 1))
    return graph
