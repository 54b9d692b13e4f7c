"""Saved prefix states on disk: a repo read once survives the process (issue 9).

One file holds, for one model under one set of context settings, the token ids of an
evaluated repo prefix, the *full* state of sequence 0 at its end (attention KV + recurrent
state: ``llama_state_seq_get_data_ext(…, 0)``) and the recurrent-only checkpoints taken on
the way (``LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY``). A later prompt that shares a start with it
restores the full state, then the last checkpoint at or before the shared start, with the KV
truncated there (``llama_memory_seq_rm``), and evaluates only the rest.

Where: ``<user cache dir>/states/<identity>/<prefix hash>.state``. The identity
(:mod:`repoctx.llm.stateid`) covers the model file, the llama.cpp build and every context
setting, so a changed model, setting or build finds no file: it never restores a foreign
state. File: ``MAGIC``, a little-endian u64 header length, the JSON header, the tokens as
int32, then the blobs (offsets in the header count from the end of the tokens).

Size: capped (``REPOCTX_STATE_CACHE``, default 8 GiB; ``0`` or ``off`` disables saving);
a file's mtime is its last use (touched on every hit) and the least recently used go first.
A 64K-token prefix of the 27B model is ~4.3 GiB (KV) + 16 × 150 MiB checkpoints.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import mmap
import os
import struct
import tempfile
import time
from array import array
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repoctx import config, stores
from repoctx.private import private_dir
from repoctx.scanning.cache import default_cache_dir

MAGIC = b"RCSTATE1"
STATE_DIR = stores.STATES.name
SUFFIX = ".state"
ENV = "REPOCTX_STATE_CACHE"
DEFAULT_CAP = 8 << 30
Buffer = bytes | ctypes.Array[ctypes.c_uint8]


def cap_from_env(env: Mapping[str, str] | None = None) -> int:
    """``REPOCTX_STATE_CACHE`` (:mod:`repoctx.config`), or the default cap when unset."""
    return config.state_cache(env, DEFAULT_CAP)


@dataclass(frozen=True, slots=True)
class Entry:
    """One state file's header and tokens (the blobs stay on disk until restored)."""

    path: Path
    header: dict[str, Any]
    tokens: list[int]
    data_start: int  # file offset of the first blob
    size: int
    used: float  # last use (mtime)

    @property
    def n(self) -> int:
        return len(self.tokens)

    def marks(self) -> dict[int, tuple[int, int]]:
        """Checkpoint position → (offset, length) of its recurrent part (length 0: none)."""
        return {int(n): (int(off), int(size)) for n, off, size in self.header["partials"]}


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    position: int  # tokens of the new prompt this file lets us skip


class StateStore:
    """The ``states/`` directory: find, read, write and evict saved prefix states."""

    def __init__(self, root: Path, cap: int = DEFAULT_CAP) -> None:
        self.root = root
        self.cap = cap

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> StateStore:
        return cls(default_cache_dir() / STATE_DIR, cap_from_env(env))

    # ------------------------------------------------------------------ reading
    def entries(self, key: str | None = None) -> list[Entry]:
        """Every readable state file (of one identity ``key``), most recently used first."""
        pattern = f"{key}/*{SUFFIX}" if key else f"*/*{SUFFIX}"
        out = [e for e in (read_entry(p) for p in self._glob(pattern)) if e is not None]
        return sorted(out, key=lambda e: -e.used)

    def find(self, key: str, tokens: Sequence[int], aligned: Collection[int]) -> Hit | None:
        """The saved state that lets ``tokens`` skip the most, resuming only at ``aligned``."""
        from repoctx.llm.snapshot import common_prefix  # imports llama.cpp: not for `cache info`

        limit = len(tokens) - 1
        best: Hit | None = None
        for entry in self.entries(key):
            shared = min(common_prefix(entry.tokens, tokens), limit)
            spots = [p for p in (entry.n, *entry.marks()) if p <= shared and p in aligned]
            if spots and (best is None or max(spots) > best.position):
                best = Hit(entry, max(spots))
        return best

    def same(self, key: str, tokens: Sequence[int]) -> Entry | None:
        """A saved state of exactly ``tokens``, if any."""
        path = self.root / key / f"{prefix_hash(tokens)}{SUFFIX}"
        entry = read_entry(path)
        return entry if entry is not None and entry.tokens == list(tokens) else None

    def read_full(self, entry: Entry) -> ctypes.Array[ctypes.c_uint8]:
        """The full state as a C buffer over a private map of the file.

        Not a read into a fresh buffer: allocating ~4 GiB zero-filled (27B at 64K) costs
        seconds before a byte is read; mapped, llama.cpp reads the pages as it restores them.
        Safe against the store: files are replaced by rename and evicted by unlink, never
        rewritten in place, so a mapped file's pages stay valid.
        """
        offset, size = (int(v) for v in entry.header["full"])
        start = entry.data_start + offset
        aligned = start - start % mmap.ALLOCATIONGRANULARITY
        with open(entry.path, "rb") as f:
            if os.fstat(f.fileno()).st_size < start + size:
                raise OSError(f"{entry.path}: truncated state file")
            if size == 0:
                return (ctypes.c_uint8 * 0)()
            mapped = mmap.mmap(f.fileno(), start + size - aligned, offset=aligned,
                               access=mmap.ACCESS_COPY)  # writable view for ctypes, never written
        return (ctypes.c_uint8 * size).from_buffer(mapped, start - aligned)

    def read_mark(self, entry: Entry, n: int) -> bytes | None:
        """The recurrent part saved at checkpoint ``n`` (None: the model has none)."""
        offset, size = entry.marks()[n]
        if size == 0:
            return None
        with open(entry.path, "rb") as f:
            f.seek(entry.data_start + offset)
            data = f.read(size)
        if len(data) != size:
            raise OSError(f"{entry.path}: truncated state file")
        return data

    def touch(self, entry: Entry) -> None:
        with contextlib.suppress(OSError):
            os.utime(entry.path)

    # ------------------------------------------------------------------ writing
    def save(
        self, key: str, header: Mapping[str, Any], tokens: Sequence[int], full: Buffer,
        marks: Sequence[tuple[int, bytes | None]],
    ) -> Path | None:  # fmt: skip
        """Write one state atomically, then evict past the cap; None when it cannot fit."""
        marks = sorted(marks, key=lambda m: m[0])
        size = len(full) + sum(len(d or b"") for _, d in marks) + 4 * len(tokens)
        if self.cap <= 0 or size > self.cap:
            return None
        table, offset = [], len(full)
        for n, data in marks:
            table.append([n, offset, len(data or b"")])
            offset += len(data or b"")
        doc = {**header, "tokens": len(tokens), "full": [0, len(full)], "partials": table,
               "created": time.time()}  # fmt: skip
        head = json.dumps(doc, sort_keys=True).encode()
        directory = self.root / key
        private_dir(directory)  # a KV cache decodes back to the prompt: the user's code
        _sweep(directory)
        self.evict(room=size + len(head))
        target = directory / f"{prefix_hash(tokens)}{SUFFIX}"
        handle, temp = tempfile.mkstemp(prefix=".tmp-", suffix=SUFFIX, dir=directory)
        try:
            with os.fdopen(handle, "wb") as f:
                f.write(MAGIC + struct.pack("<Q", len(head)) + head)
                f.write(array("i", tokens).tobytes())
                f.write(memoryview(full))
                for _, data in marks:
                    f.write(data or b"")
            os.replace(temp, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        return target

    def evict(self, room: int = 0) -> int:
        """Delete least recently used files until ``room`` more bytes fit the cap."""
        files = []
        for path in self._glob(f"*/*{SUFFIX}"):
            with contextlib.suppress(OSError):
                st = path.stat()
                files.append((st.st_mtime, st.st_size, path))
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total + room <= self.cap:
                break
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
                removed += 1
        return removed

    def _glob(self, pattern: str) -> list[Path]:
        try:
            return [p for p in self.root.glob(pattern) if not p.name.startswith(".")]
        except OSError:
            return []


def _sweep(directory: Path, age_s: float = 3600.0) -> None:
    """Remove temp files a killed writer left behind (a save takes seconds, not an hour)."""
    for temp in directory.glob(f".tmp-*{SUFFIX}"):
        with contextlib.suppress(OSError):
            if time.time() - temp.stat().st_mtime > age_s:
                temp.unlink()


def prefix_hash(tokens: Sequence[int]) -> str:
    return hashlib.blake2b(array("i", tokens).tobytes(), digest_size=12).hexdigest()


def read_entry(path: Path) -> Entry | None:
    """Header and tokens of a state file; None for a missing, foreign or damaged one."""
    try:
        with open(path, "rb") as f:
            if f.read(len(MAGIC)) != MAGIC:
                return None
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length).decode())
            count = int(header["tokens"])
            raw = f.read(4 * count)
            st = os.fstat(f.fileno())
        tokens = array("i")
        tokens.frombytes(raw)
        data_start = len(MAGIC) + 8 + length + 4 * count
        full_offset, full_size = header["full"]
        end = max([full_offset + full_size,
                   *(int(off) + int(size) for _, off, size in header["partials"])])
        if len(tokens) != count or data_start + end > st.st_size:
            return None
        return Entry(path, header, tokens.tolist(), data_start, st.st_size, st.st_mtime)
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None
