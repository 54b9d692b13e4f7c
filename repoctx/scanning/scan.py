"""scan: walk → parse → tokens → graph, with every per-file result served from the cache.

The orchestrator behind ``repoctx.scan``. Stages are plain functions over plain records;
the only side channel is the ``progress`` callback, so the CLI can draw a progress bar and
the TUI a status line without the core knowing about either.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from repoctx import stages
from repoctx.errors import RepoctxError
from repoctx.graph.build import build_graph
from repoctx.scanning.cache import Cache, is_complete, parsed_from_json
from repoctx.scanning.history import start as start_churn
from repoctx.scanning.repo import Repo, RepoFile
from repoctx.scanning.tokens import QWEN35, QwenCounter, TokenCounter, qwen35
from repoctx.scanning.walk import (
    Listing,
    Skip,
    SourceFile,
    WalkOptions,
    ignore_spec,
    listing,
    walk,
    walk_problem,
)
from repoctx.scanning.workers import (
    Job,
    Outcome,
    Unreadable,
    analyse_all,
    walk_and_analyse,
    worker_count,
)
from repoctx.types import PARSE_TOO_SLOW, Graph, Problem


@dataclass(frozen=True, slots=True)
class Progress:
    stage: str  # "walk", "read", "parse", "graph"
    done: int
    total: int


ProgressCallback = Callable[[Progress], None]


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
        known = cache.known_hashes(str(listed.root))
        if not known and _cold_in_workers(listed, counter, count):
            report(Progress("walk", 1, 1))  # the workers walk as they parse
            files, problems = _walk_and_analyse(listed, options or WalkOptions(), counter,
                                                cache, report, count)
        else:
            walked = walk(root, options, listed)
            report(Progress("walk", 1, 1))
            files = {f.path: RepoFile(f.path, f.language, f.size, f.skip) for f in walked.files}
            packable = [f for f in walked.files if f.skip is None]
            problems = list(walked.problems)
            problems += _analyse(listed.root, packable, files, counter, cache, report, count,
                                 known)
        graph = _graph(listed.root, files, report)
        warnings = [w for w in (cache.warning,) if w]
        return Repo(listed.root, listed.is_git, files, graph, counter, problems, warnings,
                    _pending_churn=pending, _cache_dir=cache.directory,
                    _cache_enabled=cache.enabled)
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


def _cold_in_workers(listed: Listing, counter: TokenCounter, count: bool) -> bool:
    """Whether a scan the cache knows nothing about walks in its parse workers: a listing
    large enough for workers, whose counter (if it counts now) the workers can use."""
    return worker_count(len(listed.paths)) > 1 and (not count or counter.name == QWEN35)


def _walk_and_analyse(
    listed: Listing,
    options: WalkOptions,
    counter: TokenCounter,
    cache: Cache,
    report: ProgressCallback,
    count: bool,
) -> tuple[dict[str, RepoFile], list[Problem]]:
    """A cold scan's walk, parse and counts, in workers (``walk_and_analyse``): the files in
    listing order as ``walk`` gives them, and the problems as ``_analyse`` reports them."""
    on_progress = lambda done, total: report(Progress("parse", done, total))  # noqa: E731
    files: dict[str, RepoFile] = {}  # in listing order: the workers' chunks come back in order
    sources: list[SourceFile] = []

    def outcomes() -> Iterator[Outcome]:  # applied as they arrive, while workers go on
        for source, outcome in walk_and_analyse(listed, options, counter if count else None,
                                                on_progress, _idle_work(counter, count)):
            sources.append(source)
            files[source.path] = RepoFile(source.path, source.language, source.size,
                                          source.skip)
            if outcome is not None:
                yield outcome

    found = _apply_outcomes(outcomes(), files, counter if count else None, cache)
    problems = list(listed.problems)
    ignore_spec(listed.root, options.extra_ignore, problems)  # its bad lines (workers: silent)
    problems += [problem for s in sources if (problem := walk_problem(s)) is not None]
    _remember_hashes(cache, listed.root, [s for s in sources if s.skip is None], files)
    return files, problems + found


def _analyse(
    root: Path,
    packable: Sequence[SourceFile],
    files: dict[str, RepoFile],
    counter: TokenCounter,
    cache: Cache,
    report: ProgressCallback,
    count: bool,
    known: dict[str, tuple[int, int, str]],
) -> list[Problem]:
    """Fill digest, parse facts and token counts; read only files the cache cannot vouch for
    (``known``: the cache's (size, mtime, digest) for this root's paths)."""
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
    problems = _read_and_parse(todo, files, counter if count else None, cache, report,
                               _idle_work(counter, count))
    _remember_hashes(cache, root, packable, files)
    reparsed = {source.path for source in todo}
    for source in packable:
        entry = files[source.path]
        if source.path not in reparsed and (problem := _file_problem(entry)):
            problems.append(Problem(entry.path, problem))
    return problems


def _remember_hashes(cache: Cache, root: Path, packable: Iterable[SourceFile],
                     files: dict[str, RepoFile]) -> None:
    """(size, mtime) → digest of the packable files read, so the next scan need not read."""
    cache.remember_hashes(str(root), [
        (s.path, s.size, s.mtime_ns, digest) for s in packable
        if (digest := files[s.path].digest)
    ])


def _idle_work(counter: TokenCounter, count: bool) -> Callable[[], None] | None:
    """A lazily counting scan counts later: build the counter while the workers parse."""
    return _prepare_for_pack(counter) if isinstance(counter, QwenCounter) and not count \
        else None


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
    on_progress = lambda done, total: report(Progress("parse", done, total))  # noqa: E731
    return _apply_outcomes(analyse_all(jobs, counter, on_progress, idle), files, counter,
                           cache)


def _apply_outcomes(
    outcomes: Iterable[Outcome],
    files: dict[str, RepoFile],
    counter: TokenCounter | None,
    cache: Cache,
) -> list[Problem]:
    """Give the files what analysis found and cache it; the problems, sorted by path."""
    problems: list[Problem] = []
    new_facts: list[tuple[str, str]] = []
    full: list[tuple[str, int]] = []
    skeleton: list[tuple[str, int]] = []
    for outcome in outcomes:
        entry = files[outcome.path]
        if isinstance(outcome, Unreadable):
            entry.skip = Skip("excluded", outcome.reason)
            problems.append(Problem(entry.path, outcome.reason))
            continue
        entry.digest = outcome.digest
        _apply_facts(entry, outcome.facts)
        entry.tokens, entry.skeleton_tokens = outcome.tokens, outcome.skeleton_tokens
        new_facts.append((outcome.digest, outcome.encoded))
        if outcome.tokens is not None and outcome.skeleton_tokens is not None:
            full.append((outcome.digest, outcome.tokens))
            skeleton.append((outcome.digest, outcome.skeleton_tokens))
        if problem := _file_problem(entry):
            problems.append(Problem(entry.path, problem))
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
    if entry.parsed.error and entry.parsed.error.startswith(PARSE_TOO_SLOW):
        entry.skip = Skip("listed", entry.parsed.error)  # no parse: no skeleton, no imports
    elif entry.parsed.error:
        errors.append(entry.parsed.error)
    entry.note = "; ".join(errors) or None
    lines = facts.get("lines", 0)
    entry.lines = lines if isinstance(lines, int) else 0


def _file_problem(entry: RepoFile) -> str | None:
    """What stderr says about a file analysed: its decoding or parse note, or why its parse
    was stopped (it is listed, not packed)."""
    if entry.skip is not None and entry.skip.reason.startswith(PARSE_TOO_SLOW):
        return "; ".join(filter(None, (entry.note, entry.skip.reason)))
    return entry.note


def _is_complete(facts: dict[str, object]) -> bool:
    """A counting scan serves cached facts only when complete: whoever reads a scanned
    file's ``parsed`` (multi-pack plans, review, the hook) may expect all of it."""
    parsed = facts.get("parsed")
    return isinstance(parsed, dict) and is_complete(parsed)


def _graph(root: Path, files: dict[str, RepoFile], report: ProgressCallback) -> Graph:
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
