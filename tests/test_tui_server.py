# ruff: noqa: F811  (pytest fixtures imported from helper modules)
"""The TUI against a real OpenAI-compatible server (``python -m llama_cpp.server`` with the
embedded Gemma, started by the test): answers stream, the footer says the prefix cache is the
server's, and a server that goes away mid-session is a notification and a chat line, not a
crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from llm_helpers import Server, gemma_path  # noqa: F401
from test_tui_support import BUDGET, PACK_SMALL, Recorder, ask, ready, run

from repoctx.llm.openai_compat import OpenAICompatBackend
from repoctx.tui import messages as msg
from repoctx.tui.app import RepoctxApp
from repoctx.tui.model import Opened, Warn, chat_options
from repoctx.tui.widgets.chat import ChatNote
from repoctx.tui.widgets.status import StatusLine

pytestmark = pytest.mark.slow


def test_server_answers_then_its_death_is_reported(gemma_path: Path) -> None:
    server = Server(gemma_path, n_ctx=2048)

    def opener(warn: Warn) -> Opened:
        backend = OpenAICompatBackend(server.url, timeout_s=60, connect_retries=0)
        return Opened(backend, BUDGET, chat_options(True, 6, None), plain=False)

    async def scenario() -> None:
        seen = Recorder()
        app = RepoctxApp(PACK_SMALL, opener, budget=BUDGET)
        async with app.run_test(size=(100, 30), message_hook=seen) as pilot:
            await ready(app)
            assert "@ http://127.0.0.1" in app.query_one(StatusLine).model
            await ask(app, pilot, "What does pricing do?")
            turn = app.session.turns[-1]
            assert turn.status == "done" and turn.answer.strip()
            assert turn.stats.output_tokens > 0  # (this server sends no usage in streams)
            assert app.query_one(StatusLine).state == "uncached"
            assert not seen.of(msg.IngestProgress) and not seen.of(msg.IngestDone)
            server.stop()
            await ask(app, pilot, "Still there?")
            failed = seen.of(msg.Failed)
            assert [f.what for f in failed] == ["answer"]
            assert "unreachable" in failed[0].error or "failed" in failed[0].error
            assert app.session.turns[-1].status == "error"
            notes = [str(n.render()) for n in app.query(ChatNote)]
            assert any(n.startswith("✗ The answer failed") for n in notes)
            assert any(n.severity == "error" for n in app._notifications)
            assert app.is_running

    try:
        run(scenario)
    finally:
        server.stop()
