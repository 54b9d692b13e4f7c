"""store: per-pack review results of a whole-repo review, so a re-run resumes.

A whole review of a large repository is dozens of model calls of minutes each; an interrupted
run, or a re-run after editing a few files, should only redo the packs whose text changed.
Each result is stored under a key that hashes everything that decides the answer (see
:func:`result_key`), in its own SQLite file next to the scan cache (the scan cache's tables
are versioned with the parser; these results are versioned with the model and prompts).

Bounded: least recently used rows are dropped beyond ``max_entries`` or ``max_bytes``. A
corrupt or foreign database is moved aside and rebuilt; if even that fails the store is
disabled with a warning and the review simply runs every pack. Thread-confined: the
orchestrator reads and writes it from one thread.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from repoctx import stores
from repoctx.scanning.cache import default_cache_dir, open_sqlite

SCHEMA = "1"
FILE_NAME = stores.REVIEWS.name
MAX_ENTRIES = 20_000
MAX_BYTES = 256 * 1024 * 1024

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, data TEXT NOT NULL, bytes INTEGER NOT NULL,
    used REAL NOT NULL);
CREATE INDEX IF NOT EXISTS results_used ON results (used);
"""


def result_key(kind: str, parts: Sequence[str]) -> str:
    """A content key: ``kind`` plus length-prefixed ``parts`` (no two lists collide)."""
    digest = hashlib.blake2b(f"{SCHEMA}/{kind}".encode(), digest_size=20)
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


class ResultStore:
    """Results by key: ``get`` / ``put`` JSON-able dicts."""

    def __init__(self, directory: Path | None = None, *, enabled: bool = True,
                 read: bool = True, max_entries: int = MAX_ENTRIES,
                 max_bytes: int = MAX_BYTES) -> None:
        if directory is None:
            directory = default_cache_dir()
        self.path = directory / FILE_NAME
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.warning: str | None = None
        self.read = read  # False: review every pack again (results are still stored)
        self.hits = 0
        self._db = self._open() if enabled else None

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def _open(self) -> sqlite3.Connection | None:
        db, self.warning = open_sqlite(self.path, _DDL, SCHEMA, f"pack result store {self.path}",
                                       f"pack results not cached: {self.path}")
        return db

    def get(self, key: str) -> dict[str, Any] | None:
        if self._db is None or not self.read:
            return None
        try:
            row = self._db.execute("SELECT data FROM results WHERE key=?", (key,)).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE results SET used=? WHERE key=?", (time.time(), key))
            found: dict[str, Any] = json.loads(row[0])
        except (sqlite3.DatabaseError, ValueError) as exc:
            self._disable(exc)
            return None
        self.hits += 1
        return found

    def put(self, key: str, kind: str, data: dict[str, Any]) -> None:
        """Store one result (committed at once: an interrupted run keeps it) and prune."""
        if self._db is None:
            return
        text = json.dumps(data, ensure_ascii=False)
        try:
            self._db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)",
                             (key, kind, text, len(text.encode()), time.time()))
            self._prune()
        except sqlite3.DatabaseError as exc:
            self._disable(exc)

    def _prune(self) -> None:
        assert self._db is not None
        count, total = self._db.execute(
            "SELECT count(*), coalesce(sum(bytes), 0) FROM results").fetchone()
        if count <= self.max_entries and total <= self.max_bytes:
            return
        rows = self._db.execute("SELECT key, bytes FROM results ORDER BY used").fetchall()
        doomed: list[tuple[str]] = []
        for key, size in rows:
            if count <= self.max_entries and total <= self.max_bytes:
                break
            doomed.append((key,))
            count, total = count - 1, total - size
        self._db.executemany("DELETE FROM results WHERE key=?", doomed)

    def info(self) -> dict[str, int]:
        if self._db is None:
            return {"bytes": 0, "entries": 0}
        count, total = self._db.execute(
            "SELECT count(*), coalesce(sum(bytes), 0) FROM results").fetchone()
        return {"bytes": int(total), "entries": int(count)}

    def _disable(self, exc: Exception) -> None:
        self.warning = f"pack results not cached for this run: {self.path}: {exc}"
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
