"""cache: per-file parse results and token counts, content-addressed, in one SQLite file.

Keys are the content hash plus an analysis version (repoctx's version, the query files and
the grammar versions), so a changed query or grammar never serves stale skeletons, and a
renamed or copied file is a hit. A second table maps (root, path, size, mtime) to the
content hash so the warm path can skip reading files it will not emit. The database lives
in the user cache dir (never inside the scanned repo); a corrupt database is moved aside
and rebuilt, never fatal.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from repoctx import config, stores
from repoctx._version import __version__
from repoctx.parsing.languages import LANGUAGES
from repoctx.types import Definition, ImportRef, ParsedFile

SCHEMA = 1
# Bumped when the facts' JSON changes meaning, so no build reads another's rows. 2: a
# "skeleton" of null means "not rendered yet" (older builds would read it as empty).
# 3: "definitions" of null means "not extracted" (only ever with a null skeleton).
FACTS_FORMAT = 3
MAX_AGE_DAYS = 30

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stats (
    root TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    hash TEXT NOT NULL, PRIMARY KEY (root, path));
CREATE TABLE IF NOT EXISTS facts (
    hash TEXT NOT NULL, version TEXT NOT NULL, data TEXT NOT NULL, used INTEGER NOT NULL,
    PRIMARY KEY (hash, version));
CREATE TABLE IF NOT EXISTS counts (
    hash TEXT NOT NULL, counter TEXT NOT NULL, kind TEXT NOT NULL, tokens INTEGER NOT NULL,
    PRIMARY KEY (hash, counter, kind));
"""


def default_cache_dir() -> Path:
    """The user cache dir (``REPOCTX_CACHE_DIR`` overrides: :func:`repoctx.config.cache_dir`)."""
    return config.cache_dir()


@cache
def analysis_version() -> str:
    """Changes whenever parse output could change: our version, queries, grammar wheels."""
    from repoctx.scanning.content import DEFANG_VERSION  # cached texts and counts are defanged ones

    digest = hashlib.blake2b(f"{__version__}/{SCHEMA}/{FACTS_FORMAT}/defang{DEFANG_VERSION}"
                             .encode(), digest_size=8)  # fmt: skip
    queries = resources.files("repoctx").joinpath("parsing/languages/queries")
    for entry in sorted(queries.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".scm"):
            digest.update(entry.name.encode() + entry.read_bytes())
    from importlib import metadata  # ~13 ms to import: not on a recalled pack's path

    # the grammar wheels we load, by name: reading every installed distribution's metadata
    # instead cost ~0.1 s on each start-up
    names = {"repoctx", "tree-sitter"} | {
        lang.grammar_module.replace("_", "-") for lang in LANGUAGES if lang.grammar_module
    }
    for name in sorted(names):
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "missing"
        digest.update(f"{name}=={version}".encode())
    return digest.hexdigest()


def _count_key(counter: str) -> str:
    from repoctx.scanning.content import defang_signature

    return f"{counter}/{defang_signature()}"


class Cache:
    """A small, thread-confined handle on the cache database."""

    def __init__(self, directory: Path | None = None, *, enabled: bool = True) -> None:
        self.directory = directory or default_cache_dir()
        self.path = stores.SCAN.path(self.directory)
        self.enabled = enabled
        self.warning: str | None = None
        self._db: sqlite3.Connection | None = None
        if enabled:
            self._db = self._open()

    def _open(self) -> sqlite3.Connection | None:
        db, self.warning = open_sqlite(
            self.path, _DDL, str(SCHEMA), f"cache {self.path}", f"cache disabled: {self.path}")
        return db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- stat → hash -------------------------------------------------------------------
    def known_hashes(self, root: str) -> dict[str, tuple[int, int, str]]:
        """path → (size, mtime_ns, hash) recorded for this root on an earlier run."""
        rows = self._query("SELECT path, size, mtime_ns, hash FROM stats WHERE root=?", (root,))
        return {path: (size, mtime, digest) for path, size, mtime, digest in rows}

    def remember_hashes(self, root: str, rows: Iterable[tuple[str, int, int, str]]) -> None:
        # Paths that are not valid UTF-8 (surrogate escapes) can't be SQLite text: such files
        # are simply re-read on the next run.
        self._write("INSERT OR REPLACE INTO stats VALUES (?, ?, ?, ?, ?)",
                    [(root, path, size, mtime, digest) for path, size, mtime, digest in rows
                     if _storable(path) and _storable(root)])

    # -- facts ---------------------------------------------------------------------------
    def facts(self, hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
        version = analysis_version()
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(hashes), 500):
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT hash, data FROM facts WHERE version=? AND hash IN ({marks})",
                (version, *chunk),
            )
            for digest, data in rows:
                found[digest] = json.loads(data)
        return found

    def store_facts(self, rows: Iterable[tuple[str, dict[str, Any] | str]]) -> None:
        """Facts by content hash, as dicts or already JSON (workers encode their own)."""
        version, today = analysis_version(), int(time.time() // 86400)
        self._write("INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?)",
                    [(digest, version, data if isinstance(data, str) else json.dumps(data),
                      today) for digest, data in rows])

    # -- token counts ----------------------------------------------------------------------
    def counts(self, counter: str, kind: str, hashes: Iterable[str]) -> dict[str, int]:
        """Token counts of defanged text: kept per counter *and* defanged token set (a loaded
        model's own control tokens change the text, hence the count)."""
        counter = _count_key(counter)
        found: dict[str, int] = {}
        for chunk in _chunks(list(hashes), 500):
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                "SELECT hash, tokens FROM counts WHERE counter=? AND kind=? "
                f"AND hash IN ({marks})", (counter, kind, *chunk))
            found.update(dict(rows))
        return found

    def store_counts(self, counter: str, kind: str, rows: Iterable[tuple[str, int]]) -> None:
        counter = _count_key(counter)
        self._write("INSERT OR REPLACE INTO counts VALUES (?, ?, ?, ?)",
                    [(digest, counter, kind, tokens) for digest, tokens in rows])

    # -- housekeeping -----------------------------------------------------------------------
    def prune(self) -> None:
        """Drop facts unused for a month (other versions' rows age out the same way)."""
        cutoff = int(time.time() // 86400) - MAX_AGE_DAYS
        self._write("DELETE FROM facts WHERE used < ?", [(cutoff,)])

    def info(self) -> dict[str, int]:
        size = self.path.stat().st_size if self.path.exists() else 0
        facts = self._query("SELECT count(*) FROM facts", ())
        return {"bytes": size, "entries": facts[0][0] if facts else 0}

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        if self._db is None:
            return []
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            self._disable(exc)
            return []

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if self._db is None or not rows:
            return
        try:
            with self._transaction() as db:
                db.executemany(sql, rows)
        except sqlite3.DatabaseError as exc:
            self._disable(exc)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        assert self._db is not None
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _disable(self, exc: Exception) -> None:
        self.warning = f"cache disabled for this run: {self.path}: {exc}"
        self.close()


def open_sqlite(path: Path, ddl: str, schema: str, name: str,
                off: str) -> tuple[sqlite3.Connection | None, str | None]:
    """A store's database, rebuilt once if damaged or foreign: (connection or None, the
    one-line warning to show, if any). ``name`` and ``off`` word the two warnings."""
    try:
        return _connect_sqlite(path, ddl, schema), None
    except (sqlite3.DatabaseError, OSError) as exc:
        try:
            move_aside(path)
            return _connect_sqlite(path, ddl, schema), f"{name} was unusable ({exc}); rebuilt it"
        except (sqlite3.DatabaseError, OSError) as again:
            return None, f"{off}: {again}"


def _connect_sqlite(path: Path, ddl: str, schema: str) -> sqlite3.Connection:
    """WAL, our tables, a matching schema row and a passing quick check, or it raises."""
    from repoctx.private import private_dir, private_file

    private_dir(path.parent)
    private_file(path)  # skeletons and facts of the user's code: not for other users
    db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(ddl)
        row = db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            db.execute("INSERT INTO meta VALUES ('schema', ?)", (schema,))
        elif row[0] != schema:
            raise sqlite3.DatabaseError(f"schema {row[0]} != {schema}")
        db.execute("PRAGMA quick_check(1)").fetchone()
    except BaseException:
        db.close()
        raise
    return db


def parsed_to_json(parsed: ParsedFile, *, skeleton: bool = True,
                   definitions: bool = True) -> dict[str, Any]:
    """Field by field: ``dataclasses.asdict`` deep-copies and was a third of a cold scan.

    ``skeleton=False``: the skeleton was not rendered; it is stored as null, never as "".
    ``definitions=False``: they were not extracted; null, never an empty list.
    """
    return {
        "language": parsed.language,
        "imports": [
            {"module": i.module, "kind": i.kind, "line": i.line, "names": list(i.names),
             "scope": i.scope, "system": i.system} for i in parsed.imports
        ],
        "definitions": [
            {"kind": d.kind, "name": d.name, "line": d.line, "end_line": d.end_line}
            for d in parsed.definitions
        ] if definitions else None,
        "skeleton": parsed.skeleton if skeleton else None,
        "error": parsed.error,
    }


def is_complete(data: dict[str, Any]) -> bool:
    """Whether parsed-file JSON holds its skeleton and definitions (possibly empty), or a
    lean scan left them out (see ``repoctx.scanning.workers.analyse_file``)."""
    return isinstance(data.get("skeleton"), str) and data.get("definitions", []) is not None


def parsed_from_json(data: dict[str, Any]) -> ParsedFile:
    imports = tuple(
        ImportRef(**{**item, "names": tuple(item.get("names", ()))})
        for item in data.get("imports", ())
    )
    definitions = tuple(Definition(**item) for item in data.get("definitions") or ())
    return ParsedFile(
        language=data["language"], imports=imports, definitions=definitions,
        skeleton=data.get("skeleton") or "", error=data.get("error"),
    )


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def move_aside(path: Path) -> None:
    """Rename a database (and its WAL files) to ``*.corrupt`` so a fresh one can start."""
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(f"{path}{suffix}")
        if candidate.exists():
            candidate.replace(Path(f"{path}{suffix}.corrupt"))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
