# ruff: noqa: F811  (pytest fixtures imported from helper modules)
"""The UI-free question session (repoctx/review/ask.py) with real tiny models: packing that fits the
model's own tokenizer, the repo read once, only the tail evaluated afterwards, history,
cancellation, and the Markdown transcript."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from ggufgen import qwen35_gguf  # noqa: F401
from llm_helpers import load

from repoctx.api import scan
from repoctx.errors import ModelError
from repoctx.llm.base import Done, Options, Text
from repoctx.llm.fallback import fallback_model_path
from repoctx.llm.llamacpp import LlamaCppBackend
from repoctx.review.ask import AskSession, Cancelled, Ingest
from repoctx.scanning.repo import Repo

GREEDY = Options(max_tokens=4, temperature=0.0, think=False)
PACK_SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "pack-small"
BUDGET = 550  # full, skeleton and listed files; a short first read


@pytest.fixture(scope="module")
def repo() -> Repo:
    return scan(PACK_SMALL)


@pytest.fixture
def qwen(qwen35_gguf: Path) -> LlamaCppBackend:
    backend = load(qwen35_gguf, n_ctx=2048, n_batch=256)
    yield backend  # type: ignore[misc]
    backend.close()


@pytest.fixture
def gemma() -> LlamaCppBackend:
    backend = load(fallback_model_path(), n_ctx=1024, n_batch=256)
    yield backend  # type: ignore[misc]
    backend.close()


def test_marks_toggle_and_count_changes_until_repacked(repo: Repo) -> None:
    session = AskSession(repo, budget=BUDGET)
    assert session.toggle("pin", "shop/cli.py") and session.changes == 1
    assert session.toggle("drop", "shop/cli.py")  # dropping un-pins
    assert session.pinned == set() and session.dropped == {"shop/cli.py"}
    assert session.toggle("focus", "shop/models.py")
    assert session.marks() == {"shop/cli.py": ["drop"], "shop/models.py": ["focus"]}
    packed = session.repack()
    assert session.changes == 0 and session.prefix_state == "cold"
    tiers = {e.path: (e.tier, e.reason) for e in packed.files}
    assert tiers["shop/cli.py"] == ("listed", "dropped by user")
    assert tiers["shop/models.py"] == ("full", "focus")
    assert not session.toggle("focus", "shop/models.py") and session.changes == 1


def test_repack_shrinks_until_the_models_tokenizer_agrees(repo: Repo, gemma) -> None:
    session = AskSession(repo, gemma, budget=5000, plain=True, options=GREEDY)
    session.repack()
    room = gemma.context_length - session.reserve()
    assert gemma.count_tokens(session.system) <= room
    assert session.pack is not None and session.pack.total_tokens < 5000


def test_second_question_does_not_re_evaluate_the_prefix(repo: Repo, qwen) -> None:
    session = AskSession(repo, qwen, budget=BUDGET, options=GREEDY)
    progress: list[Ingest] = []
    first = list(session.ask("Where is money computed?", progress.append))
    prefix = session.prefix_tokens
    assert session.prefix_state == "warm" and prefix > 0
    assert progress[-1].done == progress[-1].total == prefix
    assert isinstance(first[-1], Done) and first[-1].stats.cached_tokens == prefix
    for question in ("Which file is legacy?", "Is there a CLI?"):
        before = qwen.evaluated_tokens
        events = list(session.ask(question, progress.append))
        stats = events[-1].stats  # type: ignore[union-attr]
        evaluated = qwen.evaluated_tokens - before
        assert stats.cached_tokens == prefix
        assert evaluated == stats.prompt_tokens - prefix + stats.output_tokens - 1
        assert evaluated < prefix / 4
    assert len([p for p in progress if p.done == 0]) == 1  # one read of the repo


def test_repack_makes_the_session_cold_and_the_next_question_reads_again(repo: Repo, qwen) -> None:
    session = AskSession(repo, qwen, budget=BUDGET, options=GREEDY)
    list(session.ask("Hi?"))
    session.repack()  # the same pack: the same prefix, still warm
    assert session.prefix_state == "warm" and qwen.state.snapshots
    session.toggle("drop", "shop/models.py")
    session.repack()
    assert session.prefix_state == "cold" and session.prefix_tokens == 0
    assert not qwen.state.snapshots  # the old prefix's state was freed
    before = qwen.evaluated_tokens
    list(session.ask("Hi again?"))
    assert session.prefix_state == "warm"
    assert qwen.evaluated_tokens - before >= session.prefix_tokens


def test_history_goes_to_chat_models_only(repo: Repo, qwen, gemma) -> None:
    chat = AskSession(repo, qwen, budget=BUDGET, options=GREEDY)
    chat.repack()
    chat.turns.append(_done_turn(chat, "What is shop?", "A tiny store."))
    prompt = chat._prompt("next")
    assert [m.role for m in prompt.messages] == ["system", "user", "assistant", "user"]
    assert prompt.messages[2].content == "A tiny store." and prompt.prefix_messages == 1
    plain = AskSession(repo, gemma, budget=BUDGET, options=GREEDY, plain=True)
    plain.repack()
    plain.turns.append(_done_turn(plain, "What is shop?", "A tiny store."))
    assert [m.role for m in plain._prompt("next").messages] == ["system", "user"]


def _done_turn(session: AskSession, question: str, answer: str):  # type: ignore[no-untyped-def]
    from repoctx.review.ask import Turn

    turn = Turn(question, f"asked: {question}", answer=answer, status="done")
    return turn


def test_cancelling_reading_and_answering(repo: Repo, gemma) -> None:
    session = AskSession(repo, gemma, budget=BUDGET, plain=True,
                         options=Options(max_tokens=64, temperature=0.0))  # fmt: skip

    def stop(progress: Ingest) -> None:
        if progress.done > 0:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        list(session.ask("Q1?", stop))
    assert session.turns[-1].status == "cancelled" and session.prefix_state == "cold"
    events = session.ask("Q2?")
    for event in events:
        if isinstance(event, Text):
            events.close()
            break
    turn = session.turns[-1]
    assert turn.status == "cancelled" and turn.answer and "cancelled" in turn.summary()
    assert session.prefix_state == "warm"  # the read finished before the answer was stopped


def test_without_a_model_a_question_fails_as_a_turn(repo: Repo) -> None:
    session = AskSession(repo, budget=BUDGET)
    with pytest.raises(ModelError, match="no model"):
        list(session.ask("Anyone?"))
    assert session.turns[-1].status == "error" and "no model" in session.turns[-1].error


def test_summary_uses_the_session_clock(repo: Repo, qwen) -> None:
    ticks = itertools.count(0.0, 0.5)
    session = AskSession(repo, qwen, budget=BUDGET, options=GREEDY, clock=lambda: next(ticks))
    session.ingest()
    list(session.ask("Time?"))
    turn = session.turns[-1]
    assert turn.prefill_s == 0.5 and turn.decode_s == 0.5
    assert turn.summary().startswith(f"4 tokens · 8.0 tok/s · prompt {turn.stats.prompt_tokens:,}")
    assert "first token after 0.5 s" in turn.summary()


def test_transcript_is_markdown_and_saved_atomically(repo: Repo, gemma, tmp_path: Path) -> None:
    session = AskSession(repo, gemma, budget=BUDGET, plain=True, options=GREEDY)
    list(session.ask("What does pricing do?"))
    session.turns[-1].thinking = "hmm"
    saved = session.save(tmp_path / "chat.md", model="gemma")
    text = saved.read_text(encoding="utf-8")
    assert text.startswith("# repoctx: questions about `pack-small`\n\nModel: gemma\n")
    assert "## 1. What does pricing do?" in text
    assert "<details><summary>thinking</summary>\n\nhmm\n\n</details>" in text
    assert session.turns[0].answer.strip() in text
    assert f"_{session.turns[0].summary()}_" in text
    assert [p.name for p in tmp_path.iterdir()] == ["chat.md"]
    with pytest.raises(Exception, match="does not exist"):
        session.save(tmp_path / "missing" / "chat.md")
