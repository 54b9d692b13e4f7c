"""scan: walk → parse → tokens → graph, with every per-file result served from the cache.

The orchestrator behind ``repoctx.scan``. Stages are plain functions over plain records;
the only side channel is the ``progress`` callback, so the CLI can draw a progress bar and
the TUI a status line without the core knowing about either.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from repoctx import stages
from repoctx.analyse import Job, Unreadable, analyse_again, analyse_all, render_skeleton
from repoctx.cache import Cache, is_complete, parsed_from_json
from repoctx.content import content_hash, decode, defang
from repoctx.errors import RepoctxError
from repoctx.history import Churn, PendingChurn, churn
from repoctx.history import start as start_churn
from repoctx.tokens import QwenCounter, TokenCounter, qwen35
from repoctx.types import Graph, ParsedFile, Problem
from repoctx.walk import Listing, Skip, SourceFile, WalkOptions, listing, walk


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
    # False: ``parsed`` is lean, without its skeleton text and maybe its definitions
    complete: bool = True  # (see Repo.complete)

    @property
    def packable(self) -> bool:
        """Readable text the pack may include (its tokens may not be counted yet)."""
        return self.skip is None and self.digest is not None


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
    _churn: dict[str, Churn] | None = None
    _pending_churn: PendingChurn | None = None  # started by the scan, read on first use
    _rendered: list[tuple[str, str]] = field(default_factory=list)  # (digest, facts JSON)

    @property
    def name(self) -> str:
        return self.root.name

    def ensure_counts(self, paths: Iterable[str] | None = None) -> None:
        """Count the tokens of ``paths`` (default: every packable file) not counted yet,
        and remember the counts in the cache for the next run."""
        wanted = [p for p in (self.files if paths is None else paths)
                  if self.files[p].packable and (self.files[p].tokens is None
                                                 or self.files[p].skeleton_tokens is None)]
        if not wanted:
            return
        cache = Cache()
        try:
            wanted = self._analyse_again(wanted, cache)
            self.complete(wanted)
            cache.store_facts(self._rendered)
            self._rendered = []
            texts = [self.text(p) for p in wanted]
            skeletons = [defang(self.skeleton(p)) for p in wanted]
            full = self.counter.count_many(texts)
            skeleton = self.counter.count_many(skeletons)
            rows = []
            for path, tokens, skeleton_tokens in zip(wanted, full, skeleton, strict=True):
                entry = self.files[path]
                entry.tokens, entry.skeleton_tokens = tokens, skeleton_tokens
                if entry.digest:
                    rows.append((entry.digest, tokens, skeleton_tokens))
            cache.store_counts(self.counter.name, "full", [(d, t) for d, t, _ in rows])
            cache.store_counts(self.counter.name, "skeleton", [(d, s) for d, _, s in rows])
        finally:
            cache.close()

    def _analyse_again(self, wanted: list[str], cache: Cache) -> list[str]:
        """Complete and count ``wanted`` in workers if that pays (see ``analyse_again``);
        the paths left for the caller: all of them if not, else the unreadable ones."""
        outcomes = analyse_again([Job(p, self.root / p, self.files[p].language,
                                      self.files[p].size) for p in wanted], self.counter)
        if outcomes is None:
            return wanted
        facts: list[tuple[str, dict[str, object] | str]] = []
        counts: dict[str, list[tuple[str, int]]] = {"full": [], "skeleton": []}
        for outcome in outcomes:
            if isinstance(outcome, Unreadable):
                continue  # the caller reads it again, and fails as a pack always would
            entry, digest = self.files[outcome.path], outcome.digest
            parsed = outcome.facts["parsed"]
            assert isinstance(parsed, dict) and entry.parsed is not None
            found = parsed_from_json(parsed)
            entry.parsed = replace(entry.parsed, skeleton=found.skeleton,
                                   definitions=found.definitions)
            entry.complete, entry.digest = True, digest
            entry.tokens, entry.skeleton_tokens = outcome.tokens, outcome.skeleton_tokens
            facts.append((digest, outcome.encoded))
            counts["full"].append((digest, outcome.tokens or 0))
            counts["skeleton"].append((digest, outcome.skeleton_tokens or 0))
        cache.store_facts(facts)
        for kind, rows in counts.items():
            cache.store_counts(self.counter.name, kind, rows)
        return [p for p in wanted if self.files[p].tokens is None]

    def churn(self) -> dict[str, Churn]:
        """How often each file changes (git history), read once per scanned repo."""
        if self._churn is None:
            pending, self._pending_churn = self._pending_churn, None
            if pending is not None:
                self._churn = pending.result(set(self.files))
            else:
                self._churn = churn(self.root, set(self.files)) if self.is_git else {}
        return self._churn

    def text(self, path: str) -> str:
        """The file's text as packed; re-counted if it changed since the scan."""
        entry = self.files[path]
        data = (self.root / path).read_bytes()
        text = defang(decode(data).text)
        digest = content_hash(data)
        if digest != entry.digest:
            entry.digest, entry.tokens = digest, self.counter.count(text)
        return text

    def skeleton(self, path: str) -> str:
        """The file's skeleton as parsed (not defanged), rendered now if the scan skipped it."""
        self.complete([path])
        entry = self.files[path]
        return entry.parsed.skeleton if entry.parsed is not None else ""

    def complete(self, paths: Iterable[str]) -> None:
        """Give ``paths`` the skeletons (and definitions) a lazy scan left out.

        The file is parsed again: a pack needs a few dozen skeletons, a scan would have
        rendered thousands. Its content is read now, as ``text`` reads it for full text.
        Its imports stay as scanned: the graph was built from them.
        The now complete facts wait in ``_rendered`` for ``ensure_counts`` to cache them:
        it opens the cache anyway, and opening it for one file costs more than a render.
        """
        for path in paths:
            entry = self.files[path]
            if entry.complete:
                continue
            entry.complete = True
            found = render_skeleton(Job(path, self.root / path, entry.language, entry.size))
            if found is not None and entry.parsed is not None:
                digest, parsed, facts = found
                entry.parsed = replace(entry.parsed, skeleton=parsed.skeleton,
                                       definitions=parsed.definitions)
                self._rendered.append((digest, facts))


def scan(
    root: Path,
    *,
    options: WalkOptions | None = None,
    counter: TokenCounter | None = None,
    cache: Cache | None = None,
    progress: ProgressCallback | None = None,
    count: bool = True,
    listed: Listing | None = None,
) -> Repo:
    """Walk, parse (from the cache where it can) and build the graph.

    ``count=False`` leaves token counts that the cache does not already hold for later:
    ``Repo.ensure_counts`` fills them for the files a caller needs (a 64K pack of a
    10M-token repository touches a few hundred files), which is most of a cold scan's work.
    It may also leave files' ``parsed`` lean (``RepoFile.complete`` False): no skeleton text,
    and no definitions where the graph does not read them; ``Repo.complete`` fills them in.
    A counting scan's files are always complete.
    ``listed``: the listing of ``root`` the caller already made (the pack memo's).
    """
    report = _staged(progress or (lambda _: None))
    counter = counter or qwen35()
    own_cache = cache is None
    cache = cache or Cache()
    try:
        report(Progress("walk", 0, 1))
        listed = listed if listed is not None else listing(root)
        # git log/status run on a core the (single-threaded) walk leaves idle
        pending = start_churn(listed.root, worktree=listed.worktree) if listed.is_git else None
        walked = walk(root, options, listed)
        report(Progress("walk", 1, 1))
        files = {f.path: RepoFile(f.path, f.language, f.size, f.skip) for f in walked.files}
        packable = [f for f in walked.files if f.skip is None]
        problems = list(walked.problems)
        problems += _analyse(walked.root, packable, files, counter, cache, report, count)
        graph = _graph(walked.root, files, report)
        warnings = [w for w in (cache.warning,) if w]
        return Repo(walked.root, walked.is_git, files, graph, counter, problems, warnings,
                    _pending_churn=pending)
    finally:
        if own_cache:
            cache.close()


def _staged(report: ProgressCallback) -> ProgressCallback:
    """``report``, also marking each new stage for repoctx.stages (tests, bench)."""
    current = [""]

    def staged(event: Progress) -> None:
        if event.stage != current[0]:
            current[0] = event.stage
            stages.enter(event.stage)
        report(event)

    return staged


def _analyse(
    root: Path,
    packable: Sequence[SourceFile],
    files: dict[str, RepoFile],
    counter: TokenCounter,
    cache: Cache,
    report: ProgressCallback,
    count: bool,
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
        counted = digest in full_counts and digest in skeleton_counts
        facts = cached_facts.get(digest) if digest else None
        if digest and facts is not None and (not count or (counted and _is_complete(facts))):
            _apply_facts(entry, facts)
            entry.tokens = full_counts.get(digest)
            entry.skeleton_tokens = skeleton_counts.get(digest)
        else:
            todo.append(source)
    # counting later: build the counter while the workers parse, not after them
    idle = _prepare_for_pack(counter) if isinstance(counter, QwenCounter) and not count \
        else None
    problems = _read_and_parse(todo, files, counter if count else None, cache, report, idle)
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


def _prepare_for_pack(counter: QwenCounter) -> Callable[[], None]:
    """Work for the parent while its workers parse: a lazily counting scan is a pack's, which
    then needs the counter, numpy (the ranking) and detect-secrets (redaction). Built or
    imported after the parse they cost a cold Django pack ~0.5 s of wall time."""

    def prepare() -> None:
        counter.prepare()
        for module in ("numpy", "detect_secrets.core.scan", "detect_secrets.settings"):
            try:
                importlib.import_module(module)
            except ImportError:  # optional here: whoever needs it reports its absence
                continue

    return prepare


def _read_and_parse(
    todo: Sequence[SourceFile],
    files: dict[str, RepoFile],
    counter: TokenCounter | None,
    cache: Cache,
    report: ProgressCallback,
    idle: Callable[[], None] | None,
) -> list[Problem]:
    jobs = [Job(s.path, s.abspath, files[s.path].language, s.size) for s in todo]
    problems: list[Problem] = []
    new_facts: list[tuple[str, dict[str, object] | str]] = []
    full: list[tuple[str, int]] = []
    skeleton: list[tuple[str, int]] = []
    on_progress = lambda done, total: report(Progress("parse", done, total))  # noqa: E731
    for outcome in analyse_all(jobs, counter, on_progress, idle):
        entry = files[outcome.path]
        if isinstance(outcome, Unreadable):
            entry.skip = Skip("excluded", outcome.reason)
            problems.append(Problem(entry.path, outcome.reason))
            continue
        entry.digest = outcome.digest
        _apply_facts(entry, outcome.facts)
        entry.tokens, entry.skeleton_tokens = outcome.tokens, outcome.skeleton_tokens
        new_facts.append((outcome.digest, outcome.encoded or outcome.facts))
        if outcome.tokens is not None and outcome.skeleton_tokens is not None:
            full.append((outcome.digest, outcome.tokens))
            skeleton.append((outcome.digest, outcome.skeleton_tokens))
        if entry.note:
            problems.append(Problem(entry.path, entry.note))
    cache.store_facts(new_facts)
    if counter is not None:
        cache.store_counts(counter.name, "full", full)
        cache.store_counts(counter.name, "skeleton", skeleton)
    problems.sort(key=lambda problem: problem.path)
    return problems


def _apply_facts(entry: RepoFile, facts: dict[str, object]) -> None:
    parsed_data = facts["parsed"]
    assert isinstance(parsed_data, dict)
    entry.parsed = parsed_from_json(parsed_data)
    entry.complete = is_complete(parsed_data)
    note = facts.get("note")
    errors = [str(note)] if note else []
    if entry.parsed.error:
        errors.append(entry.parsed.error)
    entry.note = "; ".join(errors) or None
    lines = facts.get("lines", 0)
    entry.lines = lines if isinstance(lines, int) else 0


def _is_complete(facts: dict[str, object]) -> bool:
    """A counting scan serves cached facts only when complete: whoever reads a scanned
    file's ``parsed`` (multi-pack plans, review, the hook) may expect all of it."""
    parsed = facts.get("parsed")
    return isinstance(parsed, dict) and is_complete(parsed)


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
