# ruff: noqa: F811  (pytest fixtures imported from helper modules)
"""The llama.cpp backend against real GGUFs: streaming, chunked prefill, prefix snapshots."""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path

import pytest
from llm_helpers import REPO_TEXT, gemma_path, load  # noqa: F401

from repoctx.errors import ModelError
from repoctx.llm.base import Done, Options, PrefillProgress, Prompt, Text, collect

GREEDY = Options(temperature=0, max_tokens=16, think=False)


def test_gemma_streams_text_and_stats(gemma_path: Path) -> None:
    backend = load(gemma_path)
    try:
        assert not backend.has_chat_template  # a base model: plain completion
        events = list(backend.stream(Prompt.of(REPO_TEXT, "The function f3 returns"), GREEDY))
        assert isinstance(events[-1], Done)
        texts = [e for e in events if isinstance(e, Text)]
        assert texts and "".join(t.text for t in texts).strip()
        stats = events[-1].stats
        assert 0 < stats.output_tokens <= GREEDY.max_tokens
        assert stats.prompt_tokens > backend.count_tokens(REPO_TEXT)
        assert stats.decode_tokens_per_s > 0 and stats.prefill_tokens_per_s > 0
    finally:
        backend.close()


def test_prefill_is_chunked_with_progress(gemma_path: Path) -> None:
    backend = load(gemma_path, n_batch=128)
    try:
        result = collect(backend.stream(Prompt.of(REPO_TEXT, "Summary:"), GREEDY))
        total = result.stats.prompt_tokens
        progress = result.progress
        assert [p.done for p in progress] == sorted(p.done for p in progress)
        assert len(progress) >= total // 128 + 1 >= 4  # one event per chunk, plus the start
        assert progress[-1].done == progress[-1].total == total
        assert all(p.tokens_per_s > 0 for p in progress[1:])
        assert progress[1].eta_s is not None and progress[1].eta_s > 0
    finally:
        backend.close()


def test_greedy_is_deterministic_and_prompt_dependent(gemma_path: Path) -> None:
    backend = load(gemma_path)
    try:
        a = collect(backend.stream(Prompt.of(REPO_TEXT, "def f3 is"), GREEDY)).text
        b = collect(backend.stream(Prompt.of(REPO_TEXT, "def f3 is"), GREEDY)).text
        c = collect(backend.stream(Prompt.of("", "The capital of France is"), GREEDY)).text
        assert a == b and a != c
    finally:
        backend.close()


def _first_logits(backend_path: Path, prompts: list[Prompt]) -> tuple[list[list[float]], list[int]]:
    """Logits after each prompt (one sampled token, not decoded) and tokens evaluated for it."""
    backend = load(backend_path)
    out, evaluated = [], []
    try:
        for prompt in prompts:
            before = backend.evaluated_tokens
            collect(backend.stream(prompt, Options(temperature=0, max_tokens=1, think=False)))
            out.append(backend.rt.logits())
            evaluated.append(backend.evaluated_tokens - before)
        return out, evaluated
    finally:
        backend.close()


@pytest.mark.slow
@pytest.mark.parametrize("model", ["qwen35_gguf", "plain_gguf", "gemma_path"])
def test_snapshot_restore_equals_fresh(model: str, request: pytest.FixtureRequest) -> None:
    """Answers after restoring the prefix equal a fresh evaluation of prefix + tail."""
    path = request.getfixturevalue(model)
    q1, q2 = Prompt.of(REPO_TEXT, "What does f1 do?"), Prompt.of(REPO_TEXT, "Is f2 pure?")
    (warm1, warm2), evaluated = _first_logits(path, [q1, q2])
    (fresh2,), fresh_eval = _first_logits(path, [q2])
    assert warm2 == fresh2  # bit-identical next-token distribution
    assert warm1 != warm2  # ... and it really depends on the tail
    # the second question evaluated its tail only, not the ~700-token prefix again
    assert evaluated[1] < fresh_eval[0] // 4
    short = Options(temperature=0, max_tokens=6, think=False)
    backend = load(path)
    try:
        a = collect(backend.stream(q1, short))
        b = collect(backend.stream(q2, short))
        fresh = load(path)
        try:  # whole greedy answers match too, not only the first distribution
            assert collect(fresh.stream(q2, short)).text == b.text
        finally:
            fresh.close()
        assert b.stats.cached_tokens >= backend.count_tokens(REPO_TEXT)
        assert a.stats.cached_tokens == 0
    finally:
        backend.close()


@pytest.mark.slow
def test_hybrid_snapshot_holds_recurrent_state(qwen35_gguf: Path) -> None:
    backend = load(qwen35_gguf)
    try:
        assert backend.rt.recurrent
        prefix = backend.warm(Prompt.of(REPO_TEXT, "q"), GREEDY)
        assert prefix > 0
        (snap,) = backend.state.snapshots
        assert snap.n == prefix and snap.data  # the DeltaNet state, not the KV
        evaluated = backend.evaluated_tokens
        assert backend.warm(Prompt.of(REPO_TEXT, "other"), GREEDY) == prefix
        assert backend.evaluated_tokens == evaluated  # already warm: nothing re-read
        result = collect(backend.stream(Prompt.of(REPO_TEXT, "Is f2 pure?"), GREEDY))
        assert result.stats.cached_tokens == prefix
    finally:
        backend.close()


def test_json_schema_constrained_output_parses(gemma_path: Path) -> None:
    schema = {
        "type": "object",
        "properties": {
            "summary": {"type": "string", "maxLength": 60},
            "count": {"type": "integer"},
        },
        "required": ["summary", "count"],
        "additionalProperties": False,
    }
    backend = load(gemma_path)
    try:
        opts = Options(temperature=0, max_tokens=80, json_schema=schema)
        result = collect(backend.stream(Prompt.of(REPO_TEXT, "Describe the code as JSON:"), opts))
        doc = json.loads(result.text)
        assert set(doc) == {"summary", "count"} and isinstance(doc["count"], int)
        assert result.stats.finish_reason == "stop"
    finally:
        backend.close()


def test_prompt_longer_than_context_is_one_line_error(gemma_path: Path) -> None:
    backend = load(gemma_path, n_ctx=256)
    try:
        with pytest.raises(ModelError, match="context holds 256"):
            list(backend.stream(Prompt.of(REPO_TEXT, "q"), GREEDY))
    finally:
        backend.close()


def test_broken_model_file_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelError, match=r"broken\.gguf") as info:
        load(bad)
    assert "\n" not in str(info.value)


def test_progress_events_are_typed(gemma_path: Path) -> None:
    backend = load(gemma_path)
    try:
        first = next(iter(backend.stream(Prompt.of("x", "y"), GREEDY)))
        assert isinstance(first, PrefillProgress) and first.done == first.cached
    finally:
        backend.close()


def _drain(gen: Generator[PrefillProgress, None, int]) -> int:
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return int(stop.value)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["qwen35_gguf", "plain_gguf"])
def test_checkpoints_reuse_the_unchanged_start(model: str, request: pytest.FixtureRequest) -> None:
    """Issue 9's pattern: checkpoints at file boundaries; a later edit reuses the last one."""
    path = request.getfixturevalue(model)
    backend = load(path)
    try:
        tokens = backend.rt.tokenize(REPO_TEXT, add_special=False)
        assert len(tokens) > 500
        _drain(backend.prefill(tokens, len(tokens), checkpoints=[200, 400]))
        assert sorted(s.n for s in backend.state.snapshots) == [200, 400, len(tokens)]
        edit = backend.rt.tokenize("def changed():\n    pass\n", add_special=False)
        changed = tokens[:450] + edit
        before = backend.evaluated_tokens
        cached = _drain(backend.prefill(changed))
        # a hybrid restores the checkpoint at 400; plain attention truncates at the divergence
        assert cached == (400 if backend.rt.recurrent else 450)
        assert backend.evaluated_tokens - before == len(changed) - cached
        warm = backend.rt.logits()
    finally:
        backend.close()
    fresh = load(path)
    try:
        # cut the fresh evaluation's chunks where the warm one's were: llama.cpp's float
        # results depend on ubatch boundaries, and then they are bit-identical
        assert _drain(fresh.prefill(changed, checkpoints=[200, 400, cached])) == 0
        cold = fresh.rt.logits()
        assert max(abs(a - b) for a, b in zip(cold, warm, strict=True)) <= (
            0.0 if fresh.rt.recurrent else 1e-2  # plain: positions 400-450 sat in a wider chunk
        )
        assert cold.index(max(cold)) == warm.index(max(warm))
    finally:
        fresh.close()
