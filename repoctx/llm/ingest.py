"""Incremental ingest: re-read only what changed in a packed repo since the last run (issue 9).

A hybrid model's recurrent state cannot be rolled back (DESIGN.md §4), so resuming a prompt
that shares its start with an earlier one needs a copy of that state at some point before the
first changed token. While a repo prefix is evaluated, :func:`checkpoints` picks file-block
boundaries at least ``interval`` tokens apart and the backend snapshots the recurrent state
there (``PARTIAL_ONLY``, ~150 MiB for 27B). The next prompt restores the last checkpoint at or
before its first changed token, truncates the attention KV there and evaluates only the rest.

Where file blocks start, in tokens: the pack's block markers (``<|file_sep|>`` in the qwen
format, ``### `path``` in markdown, ``<file-… path=`` in xml) are found in the rendered
prefix text, and each byte offset is mapped to the number of tokens whose pieces
(``llama_token_to_piece``) cover at most that many bytes. Tokens are the runtime's own
tokenization of the whole prefix, so the mapping is exact wherever a block start is a token
boundary (always in the qwen format, where the marker is a special token; nearly always in
markdown after ``\\n\\n``) and otherwise lands on the token boundary just before it: still a
valid checkpoint, a few characters early. Any position is safe to snapshot; the choice only
decides how much a later edit re-reads.

Bit-identity: llama.cpp's float results depend on where chunks are cut, so the checkpoints of
a prompt are a function of its own prefix (greedy from the start), every evaluation cuts its
chunks there, and a resume only starts at one of the new prompt's own checkpoints. An
incremental ingest therefore computes exactly what a full ingest of the same prompt does.

Interval: besides the first file block (the end of the preamble), 16 checkpoints across a
full context for stateful models (4,096 tokens at 64K; the
memory a lineage keeps stays ≤ 16 × the recurrent state), 64 for plain attention models,
whose checkpoints cost no memory (a truncation is enough). ``REPOCTX_CHECKPOINT_TOKENS``
sets it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from repoctx import config
from repoctx.llm.prefix_states import read_entry
from repoctx.llm.snapshot import Snapshot, common_prefix, full_state, restore_full
from repoctx.llm.stateid import identity, identity_key

if TYPE_CHECKING:
    from repoctx.llm.prefix_states import Entry, StateStore
    from repoctx.llm.runtime import Runtime
    from repoctx.llm.snapshot import StateKeeper

ENV_INTERVAL = "REPOCTX_CHECKPOINT_TOKENS"
MIN_INTERVAL = 64
# file blocks only: the qwen format's REPOSITORY_SUMMARY block is the preamble
BLOCK_START = re.compile(
    r"<\|file_sep\|>(?!REPOSITORY_SUMMARY\n)|^<file-[0-9a-f]+ path=|^### `", re.MULTILINE
)


def interval_for(n_ctx: int, stateful: bool, env: Mapping[str, str] | None = None) -> int:
    chosen = config.checkpoint_tokens(env)  # REPOCTX_CHECKPOINT_TOKENS
    if chosen is not None:
        return chosen
    return max(MIN_INTERVAL, n_ctx // (16 if stateful else 64))


def block_offsets(text: str) -> list[int]:
    """Byte offsets (UTF-8) where the pack's file blocks start in ``text``."""
    out: list[int] = []
    done_chars = done_bytes = 0
    for match in BLOCK_START.finditer(text):
        done_bytes += len(text[done_chars : match.start()].encode("utf-8", "surrogatepass"))
        done_chars = match.start()
        out.append(done_bytes)
    return out


def block_positions(
    text: str, tokens: Sequence[int], piece_len: Callable[[int], int], *, skip_first: bool = False
) -> list[tuple[int, bool]]:
    """Each block start of ``text`` as (token position, exact) in ``tokens`` (its tokenization).

    ``skip_first``: ``tokens`` begin with a BOS the tokenizer added (not in the text).
    """
    out: list[tuple[int, bool]] = []
    i = 1 if skip_first and tokens else 0
    covered = 0
    for start in block_offsets(text):
        while i < len(tokens) and covered + piece_len(tokens[i]) <= start:
            covered += piece_len(tokens[i])
            i += 1
        out.append((i, covered == start))
    return out


def checkpoints(
    text: str, tokens: Sequence[int], piece_len: Callable[[int], int], *, interval: int,
    skip_first: bool = False,
) -> list[int]:  # fmt: skip
    """The first file block's start, then block starts at least ``interval`` tokens apart,
    chosen greedily from the start.

    The first file block ends the preamble (instructions, summary, directory tree), which
    an edit to any file's text leaves alone. Greedy from the start makes the checkpoints
    below any position depend only on the tokens before it, so two prompts sharing a start
    share their checkpoints there.
    """
    chosen: list[int] = []
    last = -interval  # the first block start is always taken
    for position, _ in block_positions(text, tokens, piece_len, skip_first=skip_first):
        if position - last >= interval and 0 < position < len(tokens):
            chosen.append(position)
            last = position
    return chosen


class Ingest:
    """One backend's incremental ingest: disk states in, checkpoints kept, disk states out.

    In memory the checkpoints are ordinary :class:`~repoctx.llm.snapshot.Snapshot` objects in
    the backend's :class:`~repoctx.llm.snapshot.StateKeeper` (so ``repoctx serve`` keeps them
    between requests); this object adds the optional disk store.
    """

    def __init__(self, rt: Runtime, keeper: StateKeeper, store: StateStore | None) -> None:
        self.rt, self.keeper, self.store = rt, keeper, store
        self.interval = interval_for(rt.n_ctx, keeper.stateful)
        self.prefix: tuple[int, ...] = ()  # the last repo prefix evaluated in full
        self.marks: set[int] = set()  # its checkpoints
        self.loaded: str | None = None  # the state file the live state came from
        self._key: str | None = None
        self._identity: dict[str, object] | None = None

    @property
    def key(self) -> str:
        if self._key is None:
            self._identity = identity(self.rt)
            self._key = identity_key(self._identity)
        return self._key

    def resume(self, tokens: Sequence[int], aligned: Collection[int]) -> int:
        """Restore a saved state when it skips more of ``tokens`` than memory can; its gain."""
        if self.store is None or self.store.cap <= 0:
            return 0
        in_memory, _ = self.keeper.best(tokens, aligned)
        hit = self.store.find(self.key, tokens, aligned)
        if hit is None or hit.position <= in_memory:
            return 0
        try:
            self._load(hit.entry, hit.position)
        except (OSError, ValueError):
            self.keeper.invalidate()
            return 0
        self.store.touch(hit.entry)
        return hit.position

    def resume_exact(self, head: tuple[int, ...]) -> bool:
        """Restore a saved state of exactly ``head`` (a warm-up an earlier run already did)."""
        if self.store is None or self.store.cap <= 0 or not head:
            return False
        entry = self.store.same(self.key, head)
        if entry is None:
            return False
        try:
            restore_full(self.keeper, head, self.store.read_full(entry))
        except (OSError, ValueError):
            self.keeper.invalidate()
            return False
        self.keeper.take()  # the prefix snapshot later prompts resume from
        self.store.touch(entry)
        self.prefix, self.loaded, self.marks = head, str(entry.path), set(entry.marks())
        return True

    def _load(self, entry: Entry, position: int) -> None:
        assert self.store is not None
        data = self.store.read_mark(entry, position) if position < entry.n else None
        restore_full(self.keeper, tuple(entry.tokens), self.store.read_full(entry))
        self.loaded = str(entry.path)
        if position < entry.n and self.keeper.stateful:
            self.keeper.keep(Snapshot(tuple(entry.tokens[:position]), data))

    def _inherited(self, have: set[int]) -> list[tuple[int, bytes | None]]:
        """Checkpoints of the state file this lineage was loaded from that memory lacks.

        A resume from disk restores only the checkpoint it starts at; the earlier ones stay
        valid for this prefix and are copied into the new file, so a later edit further up
        still finds one.
        """
        if self.store is None or self.loaded is None:
            return []
        entry = read_entry(Path(self.loaded))
        if entry is None:
            return []
        shared = common_prefix(entry.tokens, self.prefix)
        wanted = [n for n in entry.marks() if n <= shared and n in self.marks]
        return [(n, self.store.read_mark(entry, n)) for n in wanted if n not in have]

    def finished(self, prefix: Sequence[int], marks: Collection[int]) -> None:
        """A prefix was evaluated to its end: it (and its checkpoints) is what
        :meth:`persist` saves."""
        self.prefix, self.marks = tuple(prefix), set(marks)

    def persist(self) -> bool:
        """Save the last evaluated prefix (full state + its checkpoints) unless saved already.

        Moves sequence 0 back to the end of that prefix (from its snapshot), so call it when
        the answer is done: at close.
        """
        if self.store is None or self.store.cap <= 0 or not self.prefix:
            return False
        saved = self.store.same(self.key, self.prefix)
        if saved is not None:
            self.store.touch(saved)
            return False
        lineage = [s for s in self.keeper.snapshots if not s.full and s.n <= len(self.prefix)
                   and self.prefix[: s.n] == s.tokens and self.keeper.usable(s)]  # fmt: skip
        end = next((s for s in lineage if s.n == len(self.prefix)), None)
        if end is None:
            return False
        self.keeper.restore(end)
        marks = [(s.n, s.data) for s in lineage if s is not end]
        marks += self._inherited({s.n for s in lineage})
        header = {"identity": self._identity, "model": self.rt.path.name}
        path = self.store.save(self.key, header, self.prefix, full_state(self.rt), marks)
        return path is not None
