"""Local GGUF backend on llama.cpp: chunked prefill with progress, prefix reuse, streaming.

The prompt is evaluated in ``n_batch`` chunks so a 64K-token repo shows tokens/s and an ETA
instead of a frozen terminal, and so a consumer can cancel between chunks. The chunk that
reaches the prompt's prefix boundary ends exactly there, and the state is snapshotted, so the
next question about the same repo evaluates only its own tokens (see snapshot.py).
"""

from __future__ import annotations

import codecs
import contextlib
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from repoctx import stages
from repoctx.errors import ModelError
from repoctx.llm.base import (
    Done,
    Event,
    Options,
    PrefillProgress,
    ProgressCallback,
    Prompt,
    Rate,
    Stats,
)
from repoctx.llm.chat import Rendered, ThinkSplitter, render
from repoctx.llm.ingest import Ingest
from repoctx.llm.ingest import checkpoints as block_checkpoints
from repoctx.llm.prefix_states import StateStore
from repoctx.llm.runtime import LoadSettings, OutOfMemory, Runtime
from repoctx.llm.sampling import Sampler, grammar_problem, schema_grammar
from repoctx.llm.snapshot import Snapshot, StateKeeper

WarningCallback = Callable[[str], None]


class LlamaCppBackend:
    """A loaded GGUF. Not thread-safe: the TUI drives it from one worker at a time."""

    def __init__(
        self,
        path: Path,
        settings: LoadSettings,
        *,
        on_warning: WarningCallback | None = None,
        label: str | None = None,
        states: StateStore | None = None,
    ) -> None:
        self.path = path
        stages.enter("load")
        self.rt = _load_with_retry(path, settings, on_warning)
        # a lineage keeps ≤ 16 checkpoints (see ingest.interval_for), plus prefix ends
        self.state = StateKeeper(self.rt, max_snapshots=24)
        self.ingest = Ingest(self.rt, self.state, states)
        self._piece_bytes: dict[int, int] = {}
        self._head: tuple[str, bool, tuple[int, ...]] = ("", False, ())  # last prefix tokenized
        self._label = label or path.name
        self._template = self.rt.chat_template()
        self._bos, self._eos = self.rt.bos_eos_text()

    # ------------------------------------------------------------------ Backend
    @property
    def name(self) -> str:
        return self._label

    @property
    def context_length(self) -> int:
        return self.rt.n_ctx

    @property
    def has_chat_template(self) -> bool:
        return bool(self._template)

    @property
    def evaluated_tokens(self) -> int:
        """Tokens decoded since load: tests use it to prove a prefix was not re-read."""
        return self.rt.evaluated

    def count_tokens(self, text: str) -> int:
        return len(self.rt.tokenize(text, add_special=False))

    def schema_problem(self, schema: Mapping[str, Any]) -> str | None:
        """Why a JSON schema cannot constrain this model's answer (``repoctx serve`` asks
        before a request waits for the model: the grammar is otherwise built after prefill)."""
        return grammar_problem(self.rt.vocab, schema)

    def stream(self, prompt: Prompt, options: Options | None = None) -> Iterator[Event]:
        opts = options or Options()
        rendered = render(prompt, self._template, bos=self._bos, eos=self._eos, think=opts.think)
        tokens, prefix = self.tokenize_rendered(rendered)
        if len(tokens) + 1 > self.rt.n_ctx:
            raise ModelError(
                f"the prompt is {len(tokens)} tokens but the context holds {self.rt.n_ctx}"
            )
        started = time.perf_counter()
        cached = yield from self.ingest_prompt(rendered, tokens, prefix)
        prefill_s = time.perf_counter() - started
        stats = Stats(prompt_tokens=len(tokens), cached_tokens=cached, prefill_s=prefill_s)
        yield from self._generate(opts, rendered.thinking_open, stats)

    def warm(
        self,
        prompt: Prompt,
        options: Options | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> int:
        opts = options or Options()
        rendered = render(prompt, self._template, bos=self._bos, eos=self._eos, think=opts.think)
        tokens, prefix = self.tokenize_rendered(rendered)
        if prefix == 0:
            return 0
        head = tuple(tokens[:prefix])
        if any(s.tokens == head and self.state.usable(s) for s in self.state.snapshots):
            return prefix  # already warm
        if self.ingest.resume_exact(head):
            return prefix  # read from a saved state
        for event in self.ingest_prompt(rendered, list(head), prefix):
            if on_progress is not None:
                on_progress(event)
        return prefix

    def close(self) -> None:
        """Save the last repo prefix to the state cache (when enabled), then free the model."""
        if self.rt.ctx is not None:
            # a cache: a full disk must not turn a finished answer into an error
            with contextlib.suppress(OSError, ModelError):
                self.ingest.persist()
        self.rt.close()

    # ------------------------------------------------------------------ pieces
    def tokenize_rendered(self, rendered: Rendered) -> tuple[list[int], int]:
        """Tokens of the rendered prompt and how many of them form the reusable prefix.

        Prefix and tail are tokenized separately so the prefix's tokens never depend on the
        tail (BPE could otherwise merge across the boundary); the boundary sits before a
        special token in chat templates, where llama.cpp splits anyway.
        """
        text, cut = rendered.text, rendered.prefix_chars
        add = self._adds_bos(text)
        if self._head[:2] == (text[:cut], add):  # the same repo again: 0.1–0.2 s per 64K
            head = list(self._head[2])
        else:
            head = self.rt.tokenize(text[:cut], add_special=add) if cut else []
            self._head = (text[:cut], add, tuple(head))
        tail = self.rt.tokenize(text[cut:], add_special=add and not head)
        return head + tail, len(head)

    def ingest_prompt(
        self, rendered: Rendered, tokens: list[int], prefix: int
    ) -> Generator[PrefillProgress, None, int]:
        """Evaluate a rendered prompt incrementally (issue 9, see ingest.py).

        Checkpoints at the packed repo's file blocks; resumes from memory, or from the state
        cache on disk when that skips more; bit-identical to a full evaluation.
        """
        marks = self.checkpoints(rendered, tokens, prefix)
        if prefix:
            self.ingest.resume(tokens, {0, prefix, *marks})
        cached = yield from self.prefill(tokens, prefix, marks, aligned=prefix > 0)
        if prefix:
            self.ingest.finished(tokens[:prefix], marks)
        return cached

    def checkpoints(self, rendered: Rendered, tokens: list[int], prefix: int) -> list[int]:
        """Token positions of file-block starts in the prompt's prefix, ``interval`` apart."""
        if prefix == 0:
            return []
        return block_checkpoints(
            rendered.text[: rendered.prefix_chars], tokens[:prefix], self._piece_len,
            interval=self.ingest.interval, skip_first=self._adds_bos(rendered.text),
        )  # fmt: skip

    def _piece_len(self, token: int) -> int:
        size = self._piece_bytes.get(token)
        if size is None:
            size = self._piece_bytes[token] = len(self.rt.piece(token))
        return size

    def prefill(
        self, tokens: list[int], prefix: int = 0, checkpoints: Sequence[int] = (), *,
        aligned: bool = False,
    ) -> Generator[PrefillProgress, None, int]:  # fmt: skip
        """Evaluate ``tokens`` from the best reusable point; snapshot at ``prefix``.

        ``checkpoints`` are further positions (file boundaries, for incremental ingest) where
        a snapshot is taken on the way; chunks are always cut at them and at ``prefix``.
        ``aligned``: resume only at one of those positions (or by appending to the live
        state), so the result is bit-identical to evaluating ``tokens`` from scratch.
        Returns (as the generator's value) how many tokens were reused.
        """
        stages.enter("prefill")
        marks = {p for p in (prefix, *checkpoints) if 0 < p <= len(tokens)}
        cached = self.state.prepare(tokens, {0, *marks} if aligned else None)
        pos, total = cached, len(tokens)
        rate = Rate(total, cached)
        yield rate.progress(pos, cached)
        have = {s.n for s in self.state.snapshots if s.tokens == tuple(tokens[: s.n])}
        stops = sorted(p for p in marks if p > cached)
        while pos < total:
            end = min(total, pos + self.rt.n_batch)
            if stops and stops[0] < end:
                end = stops[0]
            self.state.decode(tokens[pos:end])
            pos = end
            if stops and pos == stops[0]:
                stops.pop(0)
                if pos not in have:
                    self.state.take()
            yield rate.progress(pos, cached)
        return cached

    def _adds_bos(self, text: str) -> bool:
        """Whether tokenizing ``text`` adds a BOS token (one the text does not spell out)."""
        return self.rt.add_bos and not (self._bos and text.startswith(self._bos))

    def snapshot(self, *, full: bool = False) -> Snapshot:
        """Snapshot what sequence 0 holds now (for callers managing their own prefixes)."""
        return self.state.take(full=full)

    def _generate(self, opts: Options, thinking: bool, stats: Stats) -> Iterator[Event]:
        stages.enter("decode")
        grammar = schema_grammar(opts.json_schema) if opts.json_schema else None
        # While the model thinks, the grammar must not apply: swap samplers at </think>.
        sampler = Sampler(self.rt.vocab, opts, None if thinking else grammar)
        splitter = ThinkSplitter(thinking)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        started, produced, finish = time.perf_counter(), 0, "length"
        try:
            while produced < opts.max_tokens:
                token = sampler.sample(self.rt.ctx)
                if self.rt.is_eog(token):
                    finish = "stop"
                    break
                produced += 1
                was_thinking = splitter.thinking
                yield from splitter.feed(decoder.decode(self.rt.piece(token)))
                if was_thinking and not splitter.thinking and grammar is not None:
                    sampler.close()
                    sampler = Sampler(self.rt.vocab, opts, grammar)
                if produced < opts.max_tokens:
                    self.state.decode([token])
            yield from splitter.feed(decoder.decode(b"", final=True))
            yield from splitter.flush()
        finally:
            sampler.close()
        decode_s = time.perf_counter() - started
        yield Done(_with(stats, produced, decode_s, finish))


def _with(stats: Stats, produced: int, decode_s: float, finish: str) -> Stats:
    return Stats(
        prompt_tokens=stats.prompt_tokens,
        cached_tokens=stats.cached_tokens,
        output_tokens=produced,
        prefill_s=stats.prefill_s,
        decode_s=decode_s,
        finish_reason="stop" if finish == "stop" else "length",
    )


def _load_with_retry(
    path: Path, settings: LoadSettings, on_warning: WarningCallback | None
) -> Runtime:
    """Load; on out-of-memory, warn and retry once at half the context."""
    try:
        return Runtime(path, settings)
    except OutOfMemory as exc:
        smaller = max(512, settings.n_ctx // 2)
        if smaller >= settings.n_ctx:
            raise
        if on_warning is not None:
            on_warning(f"{exc}; retrying with a {smaller}-token context")
        from dataclasses import replace

        return Runtime(path, replace(settings, n_ctx=smaller))
