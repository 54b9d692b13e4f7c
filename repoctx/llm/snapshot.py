"""Evaluate a repo prefix once, answer many tails from it (DESIGN.md §4).

A hybrid model (Qwen 3.5: Gated DeltaNet + attention) cannot roll its recurrent state back,
so llama-cpp-python re-reads the whole prompt for every question. Instead we keep, per
sequence 0:

* ``live`` — the tokens the context's memory currently reflects, and
* snapshots — the recurrent part of the state at a prefix boundary, copied out with
  ``llama_state_seq_get_data_ext(..., LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY)`` (~150 MiB for 27B).

To answer a tail we restore the snapshot with ``llama_state_seq_set_data_ext`` and drop the
attention KV after the prefix with ``llama_memory_seq_rm(mem, 0, prefix_len, -1)``; the KV
below the prefix is still valid as long as the live tokens still start with the snapshot's.
Plain attention models need no data at all (``seq_rm`` truncates them); sliding-window
models (Gemma 3) snapshot their SWA cache the same way, since the window moved on.

A *full* snapshot (flags 0: KV included, 2.3 GB at 32K for 27B) survives any later prompt;
incremental ingest (issue 9) uses it to persist a prefix on disk.
"""

from __future__ import annotations

import ctypes
import mmap
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp

from repoctx.errors import ModelError
from repoctx.llm.runtime import Runtime


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """Sequence 0's state after evaluating exactly ``tokens``."""

    tokens: tuple[int, ...]
    data: bytes | None  # None: nothing beyond the KV cache (plain attention)
    full: bool = False

    @property
    def n(self) -> int:
        return len(self.tokens)

    @property
    def nbytes(self) -> int:
        return len(self.data) if self.data is not None else 0


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share.

    Compared in blocks of C-level tuple equality first: a 64K-token prompt is checked
    against every snapshot on each request, and a Python loop took ~3 ms per check.
    """
    n = min(len(a), len(b))
    lo = 0
    while lo < n:
        hi = min(n, lo + _BLOCK)
        if tuple(a[lo:hi]) != tuple(b[lo:hi]):
            break
        lo = hi
    i = lo
    while i < n and a[i] == b[i]:
        i += 1
    return i


_BLOCK = 4096


def _starts_with(seq: Sequence[int], prefix: Sequence[int]) -> bool:
    return len(seq) >= len(prefix) and common_prefix(seq, prefix) == len(prefix)


class StateKeeper:
    """Tracks what sequence 0 holds and moves it to the best reusable starting point."""

    def __init__(self, rt: Runtime, max_snapshots: int = 4) -> None:
        self.rt = rt
        self.live: list[int] = []
        self.snapshots: list[Snapshot] = []
        self.max_snapshots = max_snapshots

    @property
    def stateful(self) -> bool:
        """Whether truncating the KV is not enough to go back (recurrent or SWA memory)."""
        return self.rt.recurrent or self.rt.swa

    # ----------------------------------------------------------------- snapshots
    def take(self, *, full: bool = False) -> Snapshot:
        """Snapshot the live state (recurrent/SWA part only unless ``full``)."""
        if not full and not self.stateful:
            snap = Snapshot(tuple(self.live), None)
        else:
            flags = 0 if full else llama_cpp.LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY
            size = llama_cpp.llama_state_seq_get_size_ext(self.rt.ctx, 0, flags)
            buf = (ctypes.c_uint8 * size)()
            written = llama_cpp.llama_state_seq_get_data_ext(self.rt.ctx, buf, size, 0, flags)
            if written == 0 and size > 0:
                raise ModelError("llama.cpp could not copy the sequence state")
            snap = Snapshot(tuple(self.live), bytes(buf)[:written], full)
        self.keep(snap)
        return snap

    def keep(self, snap: Snapshot) -> None:
        """Remember ``snap`` (most recent last; the oldest goes past ``max_snapshots``)."""
        self.snapshots = [
            s for s in self.snapshots if s.tokens != snap.tokens or s.full != snap.full
        ]
        self.snapshots.append(snap)
        del self.snapshots[: -self.max_snapshots]

    def restore(self, snap: Snapshot) -> None:
        """Make sequence 0 hold exactly ``snap.tokens``."""
        if snap.data is not None:
            flags = 0 if snap.full else llama_cpp.LLAMA_STATE_SEQ_FLAGS_PARTIAL_ONLY
            buf = (ctypes.c_uint8 * len(snap.data)).from_buffer_copy(snap.data)
            if not llama_cpp.llama_state_seq_set_data_ext(self.rt.ctx, buf, len(buf), 0, flags):
                raise ModelError("llama.cpp rejected a saved state (different model or settings?)")
        if not self.rt.truncate(snap.n):
            raise ModelError("llama.cpp could not drop the tokens after the prefix")
        self.rt.n_past = snap.n
        self.live = list(snap.tokens)

    def usable(self, snap: Snapshot) -> bool:
        """A partial snapshot needs the KV below it, i.e. live tokens that still start with it."""
        return snap.full or not self.stateful or _starts_with(self.live, snap.tokens)

    # ----------------------------------------------------------------- reuse
    def prepare(self, tokens: Sequence[int], aligned: Collection[int] | None = None) -> int:
        """Bring sequence 0 to the longest reusable prefix of ``tokens``; return its length.

        At least one token is always left to evaluate, because sampling needs fresh logits.
        ``aligned`` (incremental ingest) lists the positions a resume may start from: the
        prompt's checkpoints and prefix end, where a fresh evaluation cuts its chunks too, so
        the result is bit-identical to one (docs/backends.md). Appending to the live state
        (a conversation going on) is always allowed.
        """
        n, best = self.best(tokens, aligned)
        if best is not None:
            self.restore(best)
        elif not self.stateful:
            if not self.rt.truncate(n):
                self.rt.clear()
                n = 0
            self.live = list(tokens[:n])
        elif n == 0:
            self.rt.clear()
            self.live = []
        self._forget_overwritten(tokens, n)
        return n

    def best(
        self, tokens: Sequence[int], aligned: Collection[int] | None = None
    ) -> tuple[int, Snapshot | None]:
        """Where :meth:`prepare` would resume (tokens reused, snapshot to restore); no effect."""
        limit = max(len(tokens) - 1, 0)
        shared = common_prefix(self.live, tokens)
        # appending to the live state: always inside the tail (a conversation going on);
        # within the prefix only from one of its marks (an extended prefix is no append)
        appends = shared == len(self.live) <= limit and (
            aligned is None or shared in aligned or shared >= max(aligned, default=0))
        if not self.stateful:
            n = min(shared, limit)
            if aligned is not None and not appends:  # resume at a mark
                n = max((p for p in aligned if p <= n), default=0)
            return n, None
        best_n, best = (len(self.live), None) if appends else (0, None)
        for snap in self.snapshots:
            if not best_n < snap.n <= limit or (not snap.full and snap.n > shared):
                continue  # not better, or a partial one whose KV is no longer live
            if aligned is not None and snap.n not in aligned:
                continue
            if _starts_with(tokens, snap.tokens) and self.usable(snap):
                best_n, best = snap.n, snap
        return best_n, best

    def _forget_overwritten(self, tokens: Sequence[int], n: int) -> None:
        """Partial snapshots whose KV will be overwritten by ``tokens`` become useless."""
        self.snapshots = [
            s for s in self.snapshots if s.full or s.n <= n or _starts_with(tokens, s.tokens)
        ]

    def decode(self, chunk: list[int]) -> None:
        self.rt.decode(chunk)
        self.live.extend(chunk)

    def invalidate(self) -> None:
        """Forget everything (after re-packing, a new model, or a failed decode)."""
        self.snapshots.clear()
        self.rt.clear()
        self.live = []


def full_state(rt: Runtime) -> ctypes.Array[ctypes.c_uint8]:
    """Sequence 0's whole state (attention KV and recurrent part) in a C buffer.

    Kept as a C buffer, not bytes: for 27B at 64K it is ~4.3 GiB, and a ``bytes`` copy would
    double that on its way to disk.
    """
    size = int(llama_cpp.llama_state_seq_get_size_ext(rt.ctx, 0, 0))
    # anonymous map, not a ctypes array: its pages are zeroed lazily as llama.cpp writes them
    # instead of by a memset pass over ~4 GiB first (bench/state_read.py shows that cost)
    buf = (ctypes.c_uint8 * size).from_buffer(mmap.mmap(-1, max(size, 1)))
    written = int(llama_cpp.llama_state_seq_get_data_ext(rt.ctx, buf, size, 0, 0))
    if written == 0 and size > 0:
        raise ModelError("llama.cpp could not copy the sequence state")
    return (ctypes.c_uint8 * written).from_buffer(buf) if written < size else buf


def restore_full(keeper: StateKeeper, tokens: tuple[int, ...], buf: ctypes.Array[Any]) -> None:
    """Make sequence 0 hold ``tokens`` from a full state; ValueError when llama.cpp refuses."""
    keeper.rt.clear()
    keeper.live = []
    if not llama_cpp.llama_state_seq_set_data_ext(keeper.rt.ctx, buf, len(buf), 0, 0):
        keeper.rt.clear()
        raise ValueError("llama.cpp rejected the saved state")
    keeper.rt.n_past = len(tokens)
    keeper.live = list(tokens)
