"""Local GGUF backend on llama.cpp: chunked prefill with progress, prefix reuse, streaming.

The prompt is evaluated in ``n_batch`` chunks so a 64K-token repo shows tokens/s and an ETA
instead of a frozen terminal, and so a consumer can cancel between chunks. The chunk that
reaches the prompt's prefix boundary ends exactly there, and the state is snapshotted, so the
next question about the same repo evaluates only its own tokens (see snapshot.py).
"""

from __future__ import annotations

import codecs
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path

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
from repoctx.llm.runtime import LoadSettings, OutOfMemory, Runtime
from repoctx.llm.sampling import Sampler, schema_grammar
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
    ) -> None:
        self.path = path
        stages.enter("load")
        self.rt = _load_with_retry(path, settings, on_warning)
        self.state = StateKeeper(self.rt)
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

    def stream(self, prompt: Prompt, options: Options | None = None) -> Iterator[Event]:
        opts = options or Options()
        rendered = render(prompt, self._template, bos=self._bos, eos=self._eos, think=opts.think)
        tokens, prefix = self.tokenize_rendered(rendered)
        if len(tokens) + 1 > self.rt.n_ctx:
            raise ModelError(
                f"the prompt is {len(tokens)} tokens but the context holds {self.rt.n_ctx}"
            )
        started = time.perf_counter()
        cached = yield from self.prefill(tokens, prefix)
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
        for event in self.prefill(list(head), prefix):
            if on_progress is not None:
                on_progress(event)
        return prefix

    def close(self) -> None:
        self.rt.close()

    # ------------------------------------------------------------------ pieces
    def tokenize_rendered(self, rendered: Rendered) -> tuple[list[int], int]:
        """Tokens of the rendered prompt and how many of them form the reusable prefix.

        Prefix and tail are tokenized separately so the prefix's tokens never depend on the
        tail (BPE could otherwise merge across the boundary); the boundary sits before a
        special token in chat templates, where llama.cpp splits anyway.
        """
        text, cut = rendered.text, rendered.prefix_chars
        add = self.rt.add_bos and not (self._bos and text.startswith(self._bos))
        head = self.rt.tokenize(text[:cut], add_special=add) if cut else []
        tail = self.rt.tokenize(text[cut:], add_special=add and not head)
        return head + tail, len(head)

    def prefill(
        self, tokens: list[int], prefix: int = 0, checkpoints: Sequence[int] = ()
    ) -> Generator[PrefillProgress, None, int]:
        """Evaluate ``tokens`` from the best reusable point; snapshot at ``prefix``.

        ``checkpoints`` are further positions (e.g. file boundaries every few thousand tokens,
        for incremental ingest) where a snapshot is taken on the way; chunks are cut there.
        Returns (as the generator's value) how many tokens were reused.
        """
        stages.enter("prefill")
        cached = self.state.prepare(tokens)
        pos, total = cached, len(tokens)
        rate = Rate(total, cached)
        yield rate.progress(pos, cached)
        have = {s.n for s in self.state.snapshots if s.tokens == tuple(tokens[: s.n])}
        stops = sorted({p for p in (prefix, *checkpoints) if cached < p <= total} - have)
        while pos < total:
            end = min(total, pos + self.rt.n_batch)
            if stops and stops[0] < end:
                end = stops[0]
            self.state.decode(tokens[pos:end])
            pos = end
            if stops and pos == stops[0]:
                stops.pop(0)
                self.state.take()
            yield rate.progress(pos, cached)
        return cached

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
