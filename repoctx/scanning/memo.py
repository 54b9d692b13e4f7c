"""memo: a pack answered from the last identical run, without scanning again.

A second ``repoctx pack`` of an unchanged repository should cost what listing it costs, not
a walk, a cache decode, a graph, a ranking and a tokenizer build. The memo keeps recent
packs (text and manifest) under a key of everything the output depends on:

* the file list, with each file's lstat signature (mode, size, mtime, ctime, inode): an
  edit changes the ctime even when a tool restores the mtime;
* git's HEAD (the ranking reads the history) and ``.repoctxignore``;
* the request: budget, counter, focus, format, redaction, walk options;
* the code: repoctx's own files and the site-packages directories (an upgraded grammar
  or tokenizer changes their mtime).

A hit reads only the files it emits and checks their content hashes; anything else is a
miss, the normal path runs, and its result is remembered. A file changed in the last two
seconds is *racy* (a second edit within the same timestamp tick would keep its
signature, as git's index knows): a run that sees one does not store a memo.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from repoctx._version import __version__
from repoctx.private import private_dir
from repoctx.rooted import read_file
from repoctx.scanning.content import content_hash, defang_signature
from repoctx.scanning.walk import Listing, WalkOptions

FORMAT = 1
KEEP = 32  # memos kept per cache dir; the oldest go first
RACY_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class State:
    """The repository as the memo sees it: a digest of the listing, and the paths present."""

    digest: str
    present: frozenset[str]
    racy: bool  # a file changed too recently for its signature to be trusted


@dataclass(frozen=True, slots=True)
class Request:
    budget: int
    counter: str
    focus: tuple[str, ...]
    fmt: str
    redact: bool
    options: WalkOptions


@dataclass(frozen=True, slots=True)
class Recalled:
    text: str
    manifest: dict[str, Any]  # as ``Pack.manifest()`` wrote it


def state(listed: Listing) -> State:
    """Fingerprint the listed files by their lstat signatures (no file is read)."""
    lines = [f"{FORMAT}\0{__version__}\0{listed.root}\0{listed.is_git}\0{listed.head}"]
    newest = 0
    present: list[str] = []
    root = f"{listed.root}{os.sep}"
    lstat = os.lstat
    for path in listed.paths:
        try:
            info = lstat(root + path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            lines.append(f"{path}\0!{exc.errno}")
            present.append(path)
            continue
        present.append(path)
        newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
        lines.append(f"{path}\0{info.st_mode}\0{info.st_size}\0{info.st_mtime_ns}\0"
                     f"{info.st_ctime_ns}\0{info.st_ino}")
    digest = hashlib.blake2b("\n".join(lines).encode("utf-8", "surrogateescape"),
                             digest_size=20)
    digest.update(_read_or_empty(listed.root / ".repoctxignore"))
    racy = newest > time.time_ns() - RACY_NS
    return State(digest.hexdigest(), frozenset(present), racy)


def key(repo_state: State, request: Request) -> str:
    """The memo's name: the repository state, the request and the installed code."""
    fields = [repo_state.digest, request.budget, request.counter, list(request.focus),
              request.fmt, request.redact, request.options.max_bytes,
              request.options.include_vendored, list(request.options.extra_ignore),
              request.options.reviewer, list(request.options.include),
              list(request.options.outputs), _code_fingerprint(),
              defang_signature()]  # a loaded model's own control tokens change the text
    return hashlib.blake2b(json.dumps(fields).encode(), digest_size=20).hexdigest()


def recall(directory: Path, memo_key: str, root: Path) -> Recalled | None:
    """The remembered pack for ``memo_key`` if every file it emits still hashes the same."""
    try:
        stored = json.loads((directory / f"{memo_key}.json").read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("format") != FORMAT:
        return None
    emitted = stored.get("emitted")
    text, manifest = stored.get("text"), stored.get("manifest")
    if not (isinstance(emitted, dict) and isinstance(text, str) and isinstance(manifest, dict)):
        return None
    for path, expected in emitted.items():
        try:
            if content_hash(read_file(root / path)) != expected:  # a symlink now: a miss
                return None
        except OSError:
            return None
    return Recalled(text, manifest)


def remember(directory: Path, memo_key: str, text: str, manifest: dict[str, Any],
             emitted: dict[str, str]) -> None:
    """Store a pack under ``memo_key`` (best effort: a read-only cache only costs speed).

    ``emitted`` maps each file whose content the pack shows (full or skeleton) to the
    content hash of the bytes it was made from.
    """
    payload = json.dumps({"format": FORMAT, "text": text, "manifest": manifest,
                          "emitted": emitted})
    target = directory / f"{memo_key}.json"
    temp = directory / f".{memo_key}.{os.getpid()}.tmp"
    try:
        private_dir(directory)
        # the prompt is the user's code: readable by the user only, like the cache database
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(payload.encode("utf-8", "surrogateescape"))
        os.replace(temp, target)
        _evict(directory)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


def _evict(directory: Path) -> None:
    memos = []
    for entry in os.scandir(directory):
        if entry.name.endswith(".json"):
            try:
                memos.append((entry.stat().st_mtime_ns, entry.path))
            except OSError:
                continue
    for _, path in sorted(memos, reverse=True)[KEEP:]:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _read_or_empty(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


@cache
def _code_fingerprint() -> str:
    """Changes when repoctx's files change (an editable install too) or a package is
    installed, upgraded or removed beside it."""
    digest = hashlib.blake2b(digest_size=16)
    package = Path(__file__).parent
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(name for name in dirnames if name != "__pycache__")
        for name in sorted(filenames):
            try:
                info = os.stat(os.path.join(dirpath, name))
            except OSError:
                continue
            digest.update(f"{dirpath}/{name}\0{info.st_size}\0{info.st_mtime_ns}\n".encode(
                "utf-8", "surrogateescape"))
    for entry in sys.path:
        if entry.endswith("site-packages"):
            try:
                digest.update(f"{entry}\0{os.stat(entry).st_mtime_ns}\n".encode())
            except OSError:
                continue
    return digest.hexdigest()
