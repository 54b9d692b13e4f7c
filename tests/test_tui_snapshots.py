"""SVG snapshots (pytest-textual-snapshot) of the main screen, a file detail and a streamed
answer, at fixed terminal sizes.

Stable by construction: the cursor does not blink, the session clock is fixed (every duration
and rate on screen is the same on every run), the memory split is planned for a named card
(not this machine's free memory), the repo is the checked-in fixture, and the answer is a fixed
script streamed in place of the model's words (``ScriptedBackend``: greedy text differs between
CPUs), while the prompt, prefill and reused-token counts are the embedded Gemma's real ones.
test_tui.py checks the real model's streaming for behaviour, never for words.
Update with ``pytest --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_tui_support import (
    BUDGET,
    PACK_SMALL,
    FixedClock,
    ready,
    script_pieces,
    wait_for,
    what_if_memory,
)
from test_tui_support import opener as make_opener
from textual.pilot import Pilot
from textual.widgets import Input

from repoctx.llm.fallback import fallback_model_path
from repoctx.tui.app import RepoctxApp
from repoctx.tui.widgets.tree import RepoTree

pytestmark = pytest.mark.slow


@pytest.fixture
def app() -> RepoctxApp:
    memory = what_if_memory(fallback_model_path(), 2048)
    opener = make_opener(max_tokens=24, memory=memory, script=script_pieces())
    return RepoctxApp(PACK_SMALL, opener, budget=BUDGET, clock=FixedClock())


async def steady(pilot: Pilot[Any]) -> None:
    """Everything loaded and packed, and no blinking cursor."""
    await ready(pilot.app)  # type: ignore[arg-type]
    for field in pilot.app.query(Input):
        field.cursor_blink = False
    await pilot.pause()


def test_main_screen(app: RepoctxApp, snap_compare: Any) -> None:
    assert snap_compare(app, terminal_size=(80, 24), run_before=steady)


def test_file_detail(app: RepoctxApp, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await steady(pilot)
        tree = pilot.app.query_one(RepoTree)
        tree.focus()
        tree.move_cursor(tree._files["shop/pricing.py"])
        await pilot.press("p")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_streamed_answer(app: RepoctxApp, snap_compare: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await steady(pilot)
        await pilot.press(*"What does pricing.py compute?", "enter")
        await wait_for(lambda: app.session.turns and not app.busy)  # type: ignore[union-attr]
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
