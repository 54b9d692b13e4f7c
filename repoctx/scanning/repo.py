"""repo: a scanned repository — its files, what the pipeline learned about each, its graph.

The record every front end packs, reviews and asks about (``repoctx.scan`` builds it).
What a lazy scan left for later is filled in here on demand: token counts
(``ensure_counts``), skeletons and definitions (``complete``), git churn (``churn``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from repoctx.errors import RepoctxError
from repoctx.rooted import read_file, reason
from repoctx.scanning.cache import Cache, parsed_from_json
from repoctx.scanning.content import content_hash, decode, defang
from repoctx.scanning.history import Churn, PendingChurn, churn
from repoctx.scanning.tokens import TokenCounter
from repoctx.scanning.walk import Skip
from repoctx.scanning.workers import AgainWorkers, Job, Unreadable, analyse_again, render_skeleton
from repoctx.types import Graph, ParsedFile, Problem


class FileGone(RepoctxError):
    """A scanned file can no longer be read as the scan saw it (deleted, made unreadable,
    now a symlink …) when its text or skeleton is wanted: the repo now lists it as
    excluded, with ``reason`` among its problems, and a pack goes on without it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


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

    def fill_in(self, complete: ParsedFile) -> None:
        """Take the skeleton and definitions of a complete parse; the imports stay as
        scanned (the graph was built from them)."""
        if self.parsed is not None:
            self.parsed = replace(self.parsed, skeleton=complete.skeleton,
                                  definitions=complete.definitions)
        self.complete = True


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
    # the cache the scan used (its directory, or off: --no-cache), where results found
    # later are kept too
    _cache_dir: Path | None = None
    _cache_enabled: bool = True
    # the workers that count a pack's candidates, started by its first batch (close_workers)
    _workers: AgainWorkers = field(default_factory=AgainWorkers)
    # path → why: files found gone after the scan (see FileGone), now excluded
    lost: dict[str, str] = field(default_factory=dict)

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
        cache = Cache(self._cache_dir, enabled=self._cache_enabled)
        try:
            wanted = self._analyse_again(wanted, cache)
            self.complete(wanted)
            cache.store_facts(self._rendered)
            self._rendered = []
            texts, skeletons, readable = [], [], []
            for path in wanted:
                try:
                    text, skeleton_text = self.text(path), defang(self.skeleton(path))
                except FileGone:  # excluded now, with its reason among the problems
                    continue
                texts.append(text)
                skeletons.append(skeleton_text)
                readable.append(path)
            wanted = readable
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
                                      self.files[p].size) for p in wanted], self.counter,
                                 self._workers)
        if outcomes is None:
            return wanted
        facts: list[tuple[str, dict[str, object] | str]] = []
        counts: dict[str, list[tuple[str, int]]] = {"full": [], "skeleton": []}
        for outcome in outcomes:
            if isinstance(outcome, Unreadable):
                continue  # the caller reads it again, and fails as a pack always would
            entry, digest = self.files[outcome.path], outcome.digest
            parsed = outcome.facts["parsed"]
            assert isinstance(parsed, dict)
            entry.fill_in(parsed_from_json(parsed))
            entry.digest = digest
            entry.tokens, entry.skeleton_tokens = outcome.tokens, outcome.skeleton_tokens
            facts.append((digest, outcome.encoded))
            counts["full"].append((digest, outcome.tokens or 0))
            counts["skeleton"].append((digest, outcome.skeleton_tokens or 0))
        cache.store_facts(facts)
        for kind, rows in counts.items():
            cache.store_counts(self.counter.name, kind, rows)
        return [p for p in wanted if self.files[p].tokens is None]

    def close_workers(self) -> None:
        """Stop the counting workers ``ensure_counts`` started (a pack ends with this)."""
        self._workers.close()

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
        if path in self.lost:
            raise FileGone(path, self.lost[path])
        try:  # never through a symlink, whatever the tree became since the scan
            data = read_file(self.root / path)
        except OSError as exc:
            raise self._lose(path, reason(exc)) from None
        text = defang(decode(data).text)
        digest = content_hash(data)
        if digest != entry.digest:
            entry.digest, entry.tokens = digest, self.counter.count(text)
        return text

    def skeleton(self, path: str) -> str:
        """The file's skeleton as parsed (not defanged), rendered now if the scan skipped it."""
        self.complete([path])
        if path in self.lost:
            raise FileGone(path, self.lost[path])
        entry = self.files[path]
        return entry.parsed.skeleton if entry.parsed is not None else ""

    def _lose(self, path: str, why: str) -> FileGone:
        """Exclude a file found gone after the scan, and say why (once)."""
        if path not in self.lost:
            self.lost[path] = why
            self.files[path].skip = Skip("excluded", why)
            self.problems.append(Problem(path, why))
        return FileGone(path, why)

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
            if isinstance(found, Unreadable):
                self._lose(path, found.reason)
            else:
                digest, parsed, facts = found
                entry.fill_in(parsed)
                self._rendered.append((digest, facts))
