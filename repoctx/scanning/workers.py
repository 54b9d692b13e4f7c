"""analyse: read → decode → parse → count for the files the cache could not vouch for.

The per-file work is a pure function of the file's bytes, so it can run in worker
processes: on a cold scan of a large repository parsing and counting dominate, and both
scale with cores. Workers are forked from a single-threaded caller (the CLI) and spawned
from one with threads (the TUI, a server), which must never be forked mid-lock. Small jobs
stay in-process: starting workers costs more than it saves below a few hundred files.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache, partial
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from repoctx import config
from repoctx.graph.resolve import reads_definitions
from repoctx.parsing.languages import has_grammar
from repoctx.rooted import read_file, reason
from repoctx.scanning.cache import parsed_from_json, parsed_to_json
from repoctx.scanning.content import (
    content_hash,
    decode,
    defang,
    register_control_tokens,
    registered_control_tokens,
)
from repoctx.scanning.tokens import QWEN35, TokenCounter, qwen35
from repoctx.scanning.walk import Listing, Skip, SourceFile, WalkOptions, describe, ignore_spec
from repoctx.types import ParsedFile, Tier

if TYPE_CHECKING:
    from pathspec import GitIgnoreSpec

T = TypeVar("T")
R = TypeVar("R")

PARALLEL_MIN_FILES = 600
PARALLEL_MIN_BYTES = 6_000_000
CHUNK_FILES = 64
# a pack's candidates, parsed again and counted (``analyse_again``): forked workers pay
# from here (a cold Django pack weighs ~60 files of ~0.5 MB at once)
AGAIN_MIN_FILES = 8
AGAIN_MIN_BYTES = 128_000


@dataclass(frozen=True, slots=True)
class Job:
    path: str
    abspath: str | Path
    language: str | None
    size: int


@dataclass(frozen=True, slots=True)
class Analysed:
    path: str
    digest: str
    facts: dict[str, object]  # cached as JSON: parsed file, decoding note, line count
    tokens: int | None = None  # counted in a worker; None → the caller counts ``texts``
    skeleton_tokens: int | None = None
    texts: tuple[str, str] | None = None  # (text, skeleton) as packed
    encoded: str = ""  # ``facts`` as the cache stores them: JSON, encoded in the worker


@dataclass(frozen=True, slots=True)
class Unreadable:
    path: str
    reason: str


Outcome = Analysed | Unreadable


def analyse_file(job: Job, counter: TokenCounter | None = None, *,
                 skeleton_text: bool = True, lean: bool = False, texts: bool = True) -> Outcome:
    """Everything the cache stores about one file; ``counter`` given → count here too, else
    ``texts=False`` leaves out the ``texts`` a caller would count (when it counts none).

    ``skeleton_text=False`` (lazy counting: a pack shows few skeletons) leaves the skeleton
    unrendered: the facts store it as null and ``texts`` holds "" for it. ``lean`` (workers
    only, see ``parse_source``) also leaves out the definitions, stored as null, of the
    languages whose import resolution does not read them: a pack's graph needs none.
    """
    try:  # never through a symlink: the tree may have changed since the walk
        data = read_file(job.abspath)
    except OSError as exc:
        return Unreadable(job.path, reason(exc))
    # tree-sitter loads only when a file is parsed (a warm scan parses none)
    from repoctx.parsing.parse import parse_source

    decoded = decode(data)
    grammar = bool(job.language and has_grammar(job.language))
    # text files have no definitions to leave out: their facts must stay complete
    imports_only = lean and not skeleton_text and grammar \
        and not reads_definitions(job.language)
    definitions = not imports_only
    source = data if decoded.exact else decoded.text.encode("utf-8")
    parsed = (parse_source(job.language, source, job.path, skeleton_text=skeleton_text,
                           lean=lean, definitions=definitions)
              if job.language and grammar else ParsedFile(job.language or "text"))
    facts: dict[str, object] = {
        "parsed": parsed_to_json(parsed, skeleton=skeleton_text or not grammar,
                                 definitions=definitions),
        "note": decoded.note,
        "lines": decoded.text.count("\n") + (0 if decoded.text.endswith("\n") else 1),
    }
    digest = content_hash(data)
    encoded = json.dumps(facts)
    if counter is None and not texts:
        return Analysed(job.path, digest, facts, encoded=encoded)
    text, skeleton = defang(decoded.text), defang(parsed.skeleton)
    if counter is None:
        return Analysed(job.path, digest, facts, texts=(text, skeleton), encoded=encoded)
    return Analysed(job.path, digest, facts, counter.count(text), counter.count(skeleton),
                    encoded=encoded)


def render_skeleton(job: Job) -> tuple[str, ParsedFile, str] | Unreadable:
    """(digest, complete parse, facts as JSON) of a file whose scan left its skeleton (and
    maybe definitions) out, read again now that a pack wants it (or why it cannot be)."""
    outcome = analyse_file(job, texts=False)
    if isinstance(outcome, Unreadable):
        return outcome
    parsed = outcome.facts["parsed"]
    assert isinstance(parsed, dict)
    return outcome.digest, parsed_from_json(parsed), outcome.encoded


class AgainWorkers:
    """The forked workers of a pack's counting (``analyse_again``), shared by its batches.

    The selection counts its candidates in batches of a few dozen; a pool for each batch
    cost a cold pack of 100k tiny files 313 pools (628 forks, minutes). The pool starts at
    the first batch that pays for workers and serves every later one until ``close``.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._size = 0

    def pool(self, workers: int) -> tuple[ProcessPoolExecutor, int] | None:
        """(the pool, its size), started now with ``workers`` workers if there is none
        yet; None when this process cannot fork them (it has other threads)."""
        if self._pool is None:
            if _start_method().get_start_method() != "fork":
                return None
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork"),
                                             initializer=_init_worker,
                                             initargs=(registered_control_tokens(),))  # fmt: skip
            self._size = workers
        return self._pool, self._size

    def close(self, *, wait: bool = True) -> None:
        """Stop the workers (a later batch starts a new pool)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=not wait)


def analyse_again(jobs: Sequence[Job], counter: TokenCounter,
                  workers: AgainWorkers | None = None) -> list[Outcome] | None:
    """Complete facts and token counts of the files a lazily scanned pack is about to weigh,
    in forked workers; None when that does not pay (few or small files, no fork, a counter
    the workers cannot inherit), and the caller renders and counts them itself.

    ``workers``: the pool the pack's earlier batches started (without one, a pool for this
    call alone)."""
    wanted = _worker_count(jobs, AGAIN_MIN_FILES, AGAIN_MIN_BYTES)
    if wanted < 2 or counter.name != QWEN35:
        return None
    owner = workers or AgainWorkers()
    _prepare_counter(counter)  # before the workers fork: they inherit it
    found = owner.pool(wanted)
    if found is None:
        return None
    pool, size = found
    try:
        return list(analyse_all(jobs, counter, lambda done, total: None, workers=size,
                                pool=pool))
    except BaseException:  # the pool was stopped: a later batch needs a new one
        owner.close(wait=False)
        raise
    finally:
        if workers is None:
            owner.close()


def analyse_all(
    jobs: Sequence[Job], counter: TokenCounter | None, report: Callable[[int, int], None],
    idle: Callable[[], None] | None = None, *, workers: int | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> Iterator[Outcome]:
    """Outcomes for all jobs (in no particular order); with a ``counter``, each with its
    token counts, without one (lazy counting) counts are left to the caller.

    Lazy counting in workers also leaves skeleton text unrendered (null in the facts): the
    pack renders the few it shows. Jobs small enough to run here are too few for that to
    pay (a pack would parse most of them again), so here skeletons are rendered at once.

    ``idle`` is work of the caller's own (building its token counter) to do in this
    process while workers parse; without workers it is not called. ``workers``: how many,
    instead of what the number and size of the jobs call for; ``pool``: workers already
    running (``workers`` of them), kept running afterwards.
    """
    workers = workers or _worker_count(jobs)
    if workers > 1 and (counter is None or counter.name == QWEN35):
        _prepare_counter(counter)
        task = partial(_analyse_chunk, counter is not None)
        chunks = _chunks(list(jobs), workers)
        yield from map(_from_wire, _in_workers(chunks, task, len(jobs), workers, report, idle,
                                               pool))
        return
    pending: list[Analysed] = []
    for done, job in enumerate(jobs):
        if done % CHUNK_FILES == 0:
            report(done, len(jobs))
        outcome = analyse_file(job, texts=counter is not None)
        if isinstance(outcome, Unreadable) or counter is None:
            yield outcome
        else:
            pending.append(outcome)
    if counter is not None:
        yield from _count(pending, counter)
    report(len(jobs), len(jobs))


def _count(pending: list[Analysed], counter: TokenCounter) -> Iterator[Analysed]:
    texts = [item.texts[0] if item.texts else "" for item in pending]
    skeletons = [item.texts[1] if item.texts else "" for item in pending]
    full = counter.count_many(texts)
    skeleton = counter.count_many(skeletons)
    for item, tokens, skeleton_tokens in zip(pending, full, skeleton, strict=True):
        yield replace(item, tokens=tokens, skeleton_tokens=skeleton_tokens, texts=None)


def _worker_count(jobs: Sequence[Job], min_files: int = PARALLEL_MIN_FILES,
                  min_bytes: int = PARALLEL_MIN_BYTES) -> int:
    return worker_count(len(jobs), sum(j.size for j in jobs), min_files, min_bytes)


def worker_count(files: int, size: int = 0, min_files: int = PARALLEL_MIN_FILES,
                 min_bytes: int = PARALLEL_MIN_BYTES) -> int:
    """How many workers ``files`` files of ``size`` bytes in all call for (1: none)."""
    chosen = config.workers()  # REPOCTX_WORKERS
    if chosen is not None:
        return chosen
    if files < min_files and size < min_bytes:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


def walk_and_analyse(
    listed: Listing, options: WalkOptions, counter: TokenCounter | None,
    report: Callable[[int, int], None], idle: Callable[[], None] | None = None,
) -> Iterator[tuple[SourceFile, Outcome | None]]:
    """Each listed path as the walk describes it, with its analysis when it is packable
    text: both in workers, for a scan that must parse nearly everything (a cold one).

    Walking first in the parent left a core idle for as long as the walk took (a fifth of a
    second on a Django-size repository); here it is spread over the workers with the
    parsing. Results come in listing order; vanished paths are left out.
    """
    workers = worker_count(len(listed.paths), 0, 0)
    _prepare_counter(counter)
    paths = listed.paths
    task = partial(_walk_chunk, str(listed.root), options, counter is not None)
    for source, outcome in _in_workers(_chunks(paths, workers), task, len(paths), workers,
                                       report, idle):
        path, abspath, size, mtime_ns, language, skip = source
        yield (SourceFile(path, abspath, size, mtime_ns, language, skip and Skip(*skip)),
               None if outcome is None else _from_wire(outcome))
    report(len(paths), len(paths))


# a described path on its way back from a worker: SourceFile's fields, the skip as a pair
WireSource = tuple[str, str, int, int, str | None, tuple[Tier, str] | None]


def _walk_chunk(root: str, options: WalkOptions, count: bool,
                paths: list[str]) -> list[tuple[WireSource, Wire | None]]:
    ignore = _ignore_spec(root, options.extra_ignore)
    described: list[tuple[WireSource, Wire | None]] = []
    directories: dict[str, str | None] = {}
    for rel in paths:
        source = describe(root, rel, options, ignore, directories)
        if source is None:
            continue
        outcome: Wire | None = None
        if source.skip is None:
            outcome = _analyse_chunk(count, [Job(rel, source.abspath, source.language,
                                                 source.size)])[0]
        skip = (source.skip.tier, source.skip.reason) if source.skip else None
        described.append(((rel, source.abspath, source.size, source.mtime_ns,
                           source.language, skip), outcome))
    return described


@cache
def _ignore_spec(root: str, extra: tuple[str, ...]) -> GitIgnoreSpec | None:
    """Read once per worker process (which lives for one scan)."""
    return ignore_spec(Path(root), extra)


def _chunks(items: list[T], workers: int) -> list[list[T]]:
    """``items`` in chunks of at most CHUNK_FILES, a few for each worker."""
    size = max(1, min(CHUNK_FILES, -(-len(items) // (workers * 4))))
    return [items[i:i + size] for i in range(0, len(items), size)]


def _prepare_counter(counter: TokenCounter | None) -> None:
    """Build the Qwen counter before the workers fork: they inherit it instead of each
    building their own."""
    if counter is not None and counter.name == QWEN35:
        qwen35().prepare()


def _in_workers(
    chunks: Sequence[T], task: Callable[[T], list[R]], total: int, workers: int,
    report: Callable[[int, int], None], idle: Callable[[], None] | None,
    running: ProcessPoolExecutor | None = None,
) -> Iterator[R]:
    """``task`` over ``chunks`` in worker processes (``running``: a caller's pool, left
    running); ``report`` counts the chunks' results up to ``total``."""
    done = 0
    report(0, total)
    pool = running or ProcessPoolExecutor(max_workers=workers, mp_context=_start_method(),
                                          initializer=_init_worker,
                                          initargs=(registered_control_tokens(),))  # fmt: skip
    try:
        with _ctrl_c_held():  # map() spawns the workers: they start with Ctrl-C blocked
            results = pool.map(task, chunks)
        if idle is not None:
            idle()
        for outcomes in results:
            done += len(outcomes)
            report(min(done, total), total)
            yield from outcomes
    except BaseException:  # Ctrl-C, or the caller stopped early: drop the queued chunks
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    if running is None:
        pool.shutdown()


def _start_method() -> BaseContext:
    """Fork when this process has a single thread (the CLI, the hook): workers then share the
    parent's loaded modules instead of importing everything again (~0.5 s of CPU each).
    With other threads alive (the TUI, a server) a fork could copy a held lock: spawn."""
    if threading.active_count() == 1 and "fork" in get_all_start_methods():
        return get_context("fork")
    return get_context("spawn")


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """SIGINT blocked while workers are spawned; a Ctrl-C meanwhile is delivered afterwards.

    Workers leave Ctrl-C to the parent, which stops the pool: a terminal sends SIGINT to the
    whole process group, and each worker would print its own KeyboardInterrupt traceback —
    even one still importing, before any initializer runs. A blocked signal mask survives
    the spawn (fork + exec), so workers are born deaf to it; the parent's is restored here.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _init_worker(control_tokens: tuple[str, ...]) -> None:
    """In a worker: the parent's registered control tokens (a spawned worker starts without
    them), and Ctrl-C ignored."""
    register_control_tokens(control_tokens)
    _ignore_ctrl_c()


def _ignore_ctrl_c() -> None:
    """In a worker: ignore SIGINT for good (it arrives blocked, see :func:`_ctrl_c_held`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# What a worker sends back for an outcome: plain tuples pickle ~10× faster than dataclasses
# (a cold Django scan's results cost its parent ~0.1 s to unpickle as dataclasses), and the
# facts travel once, as the JSON the cache stores: (path, digest, facts JSON, tokens,
# skeleton tokens), or (path, reason) for an unreadable file.
Wire = tuple[str, str, str, int | None, int | None] | tuple[str, str]


def _analyse_chunk(count: bool, chunk: list[Job]) -> list[Wire]:
    """In a worker: counted (the eager path) or lean and uncounted (a pack's scan)."""
    counter = qwen35() if count else None
    outcomes = [analyse_file(job, counter) if count else
                analyse_file(job, skeleton_text=False, lean=True, texts=False)
                for job in chunk]
    return [(o.path, o.reason) if isinstance(o, Unreadable) else
            (o.path, o.digest, o.encoded, o.tokens, o.skeleton_tokens) for o in outcomes]


def _from_wire(wire: Wire) -> Outcome:
    if len(wire) == 2:
        return Unreadable(wire[0], wire[1])
    path, digest, encoded, tokens, skeleton_tokens = wire
    return Analysed(path, digest, json.loads(encoded), tokens, skeleton_tokens,
                    encoded=encoded)
