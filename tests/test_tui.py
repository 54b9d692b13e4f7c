# ruff: noqa: F811  (pytest fixtures imported from helper modules)
"""Pilot tests of ``repoctx tui`` with real tiny models: keys in, posted messages and widget
state out. Gemma 3 270M (the embedded fallback) gives real text; the tiny qwen35 hybrid gives
DeltaNet state, where re-reading the repo per question is what the prefix snapshot avoids."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from ggufgen import qwen35_gguf  # noqa: F401
from test_tui_support import BUDGET, PACK_SMALL, Recorder, ask, opener, ready, run, wait_for
from textual.widgets import Input

from repoctx.tui import messages as msg
from repoctx.tui.app import RepoctxApp
from repoctx.tui.model import Opened
from repoctx.tui.widgets.chat import ChatNote, TurnView
from repoctx.tui.widgets.detail import FileDetail
from repoctx.tui.widgets.gauge import BudgetGauge
from repoctx.tui.widgets.status import StatusLine
from repoctx.tui.widgets.tree import RepoTree


def _labels(app: RepoctxApp) -> dict[str, str]:
    tree = app.query_one(RepoTree)
    return {path: str(node.label) for path, node in tree._files.items()}


def test_startup_scans_loads_and_packs_at_80x24() -> None:
    async def scenario() -> None:
        seen = Recorder()
        app = RepoctxApp(PACK_SMALL, opener(), budget=BUDGET)
        async with app.run_test(size=(80, 24), message_hook=seen) as pilot:
            await ready(app)
            await pilot.pause()
            names = seen.names()
            for expected in ("ScanProgress", "RepoScanned", "ModelReady", "Packed"):
                assert expected in names
            assert names.index("Packed") > max(names.index("RepoScanned"),
                                               names.index("ModelReady"))  # fmt: skip
            labels = _labels(app)
            assert set(labels) == {
                "README.md",
                "shop/__init__.py",
                "shop/cli.py",
                "shop/legacy.py",
                "shop/models.py",
                "shop/pricing.py",
            }
            assert labels["shop/models.py"].startswith("models.py F ")
            assert labels["shop/pricing.py"].startswith("pricing.py S ")
            assert labels["shop/legacy.py"].startswith("legacy.py L ")
            gauge = app.query_one(BudgetGauge)
            assert gauge.pack is not None and gauge.pack.total_tokens <= BUDGET
            status = app.query_one(StatusLine)
            assert status.state == "cold" and status.repo == "pack-small"
            assert "gemma" in status.model
            for widget in ("#tree", "#detail", "#chat", "#question", "#status", "#gauge"):
                region = app.query_one(widget).region
                assert region.width > 0 and region.height > 0, widget
                assert region.right <= 80 and region.bottom <= 24, widget

    run(scenario)


def test_question_streams_markdown_with_ingest_then_warm() -> None:
    async def scenario() -> None:
        seen = Recorder()
        app = RepoctxApp(PACK_SMALL, opener(max_tokens=12), budget=BUDGET)
        async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
            await ready(app)
            await ask(app, pilot, "What does pricing compute?")
            progress = seen.of(msg.IngestProgress)
            assert progress and progress[-1].ingest.done == progress[-1].ingest.total
            assert seen.of(msg.IngestDone)[0].prefix_tokens == progress[-1].ingest.total
            chunks = seen.of(msg.AnswerChunk)
            turn = seen.of(msg.AnswerEnded)[0].turn
            assert chunks and "".join(c.text for c in chunks) == turn.answer
            # the real model's words and length are not pinned (greedy differs between CPUs)
            assert turn.status == "done" and turn.answer.strip()
            assert 0 < turn.stats.output_tokens <= 12
            assert (turn.stats.finish_reason == "length") == (turn.stats.output_tokens == 12)
            view = app.query(TurnView).last()
            assert view.answer.source == turn.answer
            assert str(view.meta.render()) == turn.summary()
            assert app.query_one(StatusLine).state == "warm"
            assert app.query_one("#question", Input).value == ""

    run(scenario)


@pytest.mark.slow
def test_second_and_third_questions_reuse_the_prefix(qwen35_gguf: Path) -> None:
    """On the hybrid (DeltaNet) model the repo is evaluated once for three questions."""

    async def scenario() -> None:
        seen = Recorder()
        loaded: list = []
        app = RepoctxApp(PACK_SMALL, opener(qwen35_gguf, max_tokens=4, opened=loaded),
                         budget=BUDGET)  # fmt: skip
        async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
            await ready(app)
            backend = loaded[0].backend
            evaluated = []
            for question in ("Where is money computed?", "Which file is legacy?", "Any CLI?"):
                before = backend.evaluated_tokens
                await ask(app, pilot, question)
                evaluated.append(backend.evaluated_tokens - before)
            prefix = app.session.prefix_tokens
            turns = app.session.turns
            assert len(seen.of(msg.IngestDone)) == 1  # the repo was read once
            assert evaluated[0] >= prefix
            for turn, n in zip(turns[1:], evaluated[1:], strict=True):
                assert turn.stats.cached_tokens == prefix  # restored from the snapshot
                assert n == turn.stats.prompt_tokens - prefix + turn.stats.output_tokens - 1
                assert n < prefix
            assert app.query_one(StatusLine).state == "warm"

    run(scenario)


def test_pin_drop_focus_then_repack_invalidates_the_warm_prefix() -> None:
    async def scenario() -> None:
        seen = Recorder()
        app = RepoctxApp(PACK_SMALL, opener(max_tokens=2), budget=BUDGET)
        async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
            await ready(app)
            await ask(app, pilot, "Hi?")
            status = app.query_one(StatusLine)
            assert status.state == "warm"
            tree = app.query_one(RepoTree)
            tree.focus()
            tree.move_cursor(tree._files["shop/legacy.py"])
            await pilot.pause()
            detail = str(app.query_one(FileDetail).render())
            assert "shop/legacy.py" in detail and "imports (1): shop/models.py" in detail
            await pilot.press("f")
            await pilot.pause()
            assert app.session.focus == {"shop/legacy.py"}
            assert status.state == "stale" and status.changes == 1
            assert "◉" in _labels(app)["shop/legacy.py"]
            assert "re-pack to apply" in str(app.query_one(FileDetail).render())
            tree.move_cursor(tree._files["shop/models.py"])
            await pilot.press("d")
            await pilot.press("r")
            await wait_for(lambda: len(seen.of(msg.Packed)) == 2 and not app.busy)
            await pilot.pause()
            entries = {e.path: e for e in app.session.pack.files}
            assert entries["shop/models.py"].tier == "listed"
            assert entries["shop/models.py"].reason == "dropped by user"
            assert entries["shop/legacy.py"].reason == "focus"
            assert status.state == "cold" and app.session.prefix_state == "cold"
            notes = [str(n.render()) for n in app.query(ChatNote)]
            assert any("Re-packed" in n for n in notes)
            before = len(seen.of(msg.IngestDone))
            await ask(app, pilot, "Again?")
            assert len(seen.of(msg.IngestDone)) == before + 1  # the new pack is read again

    run(scenario)


def test_escape_cancels_generation_and_the_app_keeps_going() -> None:
    async def scenario() -> None:
        seen = Recorder()
        app = RepoctxApp(PACK_SMALL, opener(max_tokens=300), budget=BUDGET)
        async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
            await ready(app)
            app.query_one("#question").focus()
            await pilot.press(*"Explain everything", "enter")
            await wait_for(lambda: seen.of(msg.AnswerChunk))
            await pilot.press("escape")
            await wait_for(lambda: seen.of(msg.AnswerEnded) and not app.busy)
            turn = seen.of(msg.AnswerEnded)[0].turn
            assert turn.status == "cancelled" and turn.stats.output_tokens < 300
            assert "cancelled" in turn.summary()
            assert app.query(TurnView).last().has_class("stopped")
            assert app.query_one(StatusLine).state == "warm"  # the repo state survives
            app.session.options = replace(app.session.options, max_tokens=3)
            await ask(app, pilot, "Short?")
            assert app.session.turns[-1].status == "done"
            assert app.session.turns[-1].stats.cached_tokens == app.session.prefix_tokens

    run(scenario)


def test_quit_mid_generation_exits_cleanly() -> None:
    loaded: list = []

    async def scenario() -> RepoctxApp:
        seen = Recorder()
        app = RepoctxApp(PACK_SMALL, opener(max_tokens=400, opened=loaded), budget=BUDGET)
        async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
            await ready(app)
            app.query_one("#question").focus()
            await pilot.press(*"Go on", "enter")
            await wait_for(lambda: seen.of(msg.AnswerChunk))
            await pilot.press("ctrl+q")
            await wait_for(lambda: not app.is_running, timeout=15)
        return app

    app = run(scenario)
    workers = list(app.workers)
    assert all(not w.is_running for w in workers)
    assert app.session.turns[-1].status == "cancelled"
    assert loaded[0].backend.rt.ctx is None  # the model was freed after the worker stopped


def test_save_transcript_and_help_and_palette(tmp_path: Path) -> None:
    async def scenario() -> None:
        app = RepoctxApp(PACK_SMALL, opener(max_tokens=6), budget=BUDGET, save_dir=tmp_path)
        async with app.run_test(size=(80, 24)) as pilot:
            await ready(app)
            await pilot.press("ctrl+s")  # nothing asked yet: refused with a notification
            assert not app.screen.is_modal
            await ask(app, pilot, "What is shop?")
            await pilot.press("ctrl+s")
            await pilot.pause()
            field = app.screen.query_one("#save-path", Input)
            assert field.value == str(tmp_path / "repoctx-pack-small-chat.md")
            await pilot.press("enter")
            await pilot.pause()
            text = (tmp_path / "repoctx-pack-small-chat.md").read_text(encoding="utf-8")
            turn = app.session.turns[0]
            assert text.startswith("# repoctx: questions about `pack-small`")
            assert "## 1. What is shop?" in text and turn.answer.strip() in text
            assert turn.summary() in text
            await pilot.press("f1")
            await pilot.pause()
            assert type(app.screen).__name__ == "HelpScreen"
            assert "ctrl+r" in str(app.screen.query_one("Markdown").source)
            await pilot.press("escape")
            await pilot.pause()
            assert not app.screen.is_modal
            titles = [c.title for c in app.get_system_commands(app.screen)]
            for title in (
                "Pin file",
                "Drop file",
                "Focus file",
                "Re-pack",
                "Stop the answer",
                "Save transcript",
                "Keys",
                "Ask a question",
            ):
                assert title in titles

    run(scenario)


def test_palette_runs_repack() -> None:
    async def scenario() -> None:
        seen = Recorder()
        app = RepoctxApp(PACK_SMALL, opener(), budget=BUDGET)
        async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
            await ready(app)
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"Re-pack")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_for(lambda: len(seen.of(msg.Packed)) == 2 and not app.busy)

    run(scenario)


def test_model_load_failure_is_reported_and_the_tree_still_works(tmp_path: Path) -> None:
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 64)

    async def scenario() -> None:
        seen = Recorder()
        app = RepoctxApp(PACK_SMALL, opener(bogus), budget=BUDGET)
        async with app.run_test(size=(80, 24), message_hook=seen) as pilot:
            await ready(app)
            failed = seen.of(msg.Failed)
            assert [f.what for f in failed] == ["model"]
            notes = [str(n.render()) for n in app.query(ChatNote)]
            assert any(n.startswith("✗ Loading the model failed") for n in notes)
            assert any(n.severity == "error" for n in app._notifications)
            assert app.query_one(StatusLine).state == "no model"
            assert app.session.pack is not None  # packed for browsing with the budget given
            app.query_one("#question").focus()
            await pilot.press(*"Anyone?", "enter")
            await pilot.pause()
            assert not app.session.turns and app.is_running

    run(scenario)


def test_thinking_is_folded_and_a_too_long_question_is_a_fault() -> None:
    async def scenario() -> None:
        seen = Recorder()
        app = RepoctxApp(PACK_SMALL, opener(n_ctx=1024, max_tokens=2), budget=BUDGET)
        async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
            await ready(app)
            view = app.chat.begin("Why?", app.clock)
            await pilot.pause()
            assert not view.fold.display  # no thinking yet: no fold at all
            app.turn_view = view
            app.post_message(msg.AnswerChunk("Let me look at pricing.py", True, 5))
            app.post_message(msg.AnswerChunk("It sums prices.", False, 4))
            await pilot.pause()
            assert view.fold.display and view.fold.collapsed
            assert view.fold.title == "thinking (5 tokens so far)"
            assert view.answer.source == "It sums prices."
            field = app.query_one("#question", Input)
            field.value = "why " * 1500  # far beyond the 1,024-token context
            field.focus()
            await pilot.press("enter")
            await wait_for(lambda: seen.of(msg.AnswerEnded) and not app.busy)
            assert [f.what for f in seen.of(msg.Failed)] == ["answer"]
            assert "context holds 1024" in seen.of(msg.Failed)[0].error
            assert app.session.turns[-1].status == "error"
            assert any(str(n.render()).startswith("✗ The answer failed") for n in
                       app.query(ChatNote))  # fmt: skip
            app.session.options = replace(app.session.options, max_tokens=2)
            await ask(app, pilot, "Short one?")
            assert app.session.turns[-1].status == "done"  # the app carries on

    run(scenario)


# ---------------------------------------------------------------- acting while an answer streams
# A scripted, slow stream (ScriptedBackend): every piece is a new Markdown paragraph, so each
# chunk mounts new widgets, and the test decides exactly when to act mid-stream.
PARAGRAPHS = [f"Paragraph {i}.\n\n" for i in range(3000)]


@pytest.fixture
def late_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Markdown appended to an answer no longer attached to the app (it is exiting). Older
    Textual raised ``MountError: Can't mount widget(s) before Markdown(...) is mounted`` there
    (issue #16, item 17); newer Textual drops it silently, so the write itself is what counts."""
    from textual.widgets import Markdown

    late: list[str] = []
    real = Markdown.append

    def append(self: Markdown, markdown: str) -> Any:
        if not self.is_attached:
            late.append(markdown)
        return real(self, markdown)

    monkeypatch.setattr(Markdown, "append", append)
    return late


def _scripted(loaded: list[Opened]) -> RepoctxApp:
    return RepoctxApp(
        PACK_SMALL, opener(script=PARAGRAPHS, delay=0.01, opened=loaded), budget=BUDGET
    )


@pytest.mark.parametrize("chunks", [1, 2, 3, 5, 8])
def test_quit_mid_stream_cancels_the_worker_and_mounts_nothing(
    chunks: int, late_writes: list[str]
) -> None:
    """Ctrl+Q while Markdown blocks are still arriving: the worker stops, the model is freed,
    and no chunk is written into the chat after the app started exiting."""
    loaded: list[Opened] = []

    async def scenario() -> RepoctxApp:
        seen = Recorder()
        app = _scripted(loaded)
        async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
            await ready(app)
            app.query_one("#question").focus()
            await pilot.press(*"Go on", "enter")
            await wait_for(lambda: len(seen.of(msg.AnswerChunk)) >= chunks)
            await pilot.press("ctrl+q")
            await wait_for(lambda: not app.is_running, timeout=15)
        return app

    app = run(scenario)
    assert late_writes == []
    assert app.return_code == 0 and app._exception is None
    assert all(not w.is_running for w in app.workers)
    assert app.session.turns[-1].status == "cancelled"
    backend = loaded[0].backend
    assert backend.closed_early == 1 and backend.yielded < len(PARAGRAPHS)
    assert backend.rt.ctx is None  # freed after the worker stopped


def test_new_question_resize_and_escape_mid_stream(late_writes: list[str]) -> None:
    """While a scripted answer streams: a second question is refused (the first keeps going),
    a resize re-lays the chat, Esc stops the worker; the stopped turn shows what streamed."""
    loaded: list[Opened] = []

    async def scenario() -> None:
        seen = Recorder()
        app = _scripted(loaded)
        async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
            await ready(app)
            field = app.query_one("#question", Input)
            field.focus()
            await pilot.press(*"Go on", "enter")
            await wait_for(lambda: len(seen.of(msg.AnswerChunk)) >= 2)
            await pilot.press(*"Another?", "enter")
            await pilot.pause()
            assert len(app.session.turns) == 1 and app.busy == "answering"
            assert field.value == "Another?"  # kept for when the answer ends
            await pilot.resize_terminal(80, 24)
            await wait_for(lambda: len(seen.of(msg.AnswerChunk)) >= 4)
            await pilot.press("escape")
            await wait_for(lambda: seen.of(msg.AnswerEnded) and not app.busy)
            await pilot.pause()
            turn = app.session.turns[-1]
            assert turn.status == "cancelled"
            backend = loaded[0].backend
            assert backend.closed_early == 1 and backend.yielded < len(PARAGRAPHS)
            assert turn.answer == "".join(PARAGRAPHS[: len(turn.answer.split("\n\n")) - 1])
            view = app.query(TurnView).last()
            assert view.has_class("stopped") and view.answer.source == turn.answer

    run(scenario)
    assert late_writes == []
