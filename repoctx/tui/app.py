"""``repoctx tui``: ask questions about a whole repository; the repo is read once.

Layout: the budget gauge on top; the repo tree (tier badges, tokens) over the file detail on
the left; the chat and the question box on the right; a status line saying whether the repo
prefix is warm. All slow work (scan, model load, pack, answers) runs in thread workers of
work.py and comes back as messages (messages.py); this class only routes them to widgets.
Workers of the "model" group never overlap, because llama.cpp contexts are not thread-safe:
``_busy`` guards them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input

from repoctx.review.ask import AskSession
from repoctx.tui import messages as msg
from repoctx.tui import work as jobs
from repoctx.tui.commands import palette
from repoctx.tui.model import Opened, Opener
from repoctx.tui.screens import HelpScreen, SaveScreen
from repoctx.tui.widgets.chat import ChatView, TurnView
from repoctx.tui.widgets.gauge import BudgetGauge
from repoctx.tui.widgets.side import SidePanel
from repoctx.tui.widgets.status import StatusLine
from repoctx.tui.widgets.tree import RepoTree

DEFAULT_BUDGET = 65_536  # packing budget when no model says otherwise
QUIT_WAIT_S = 10.0  # how long quitting waits for the model worker to stop


class RepoctxApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "repoctx"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Stop"),
        Binding("ctrl+r", "repack", "Re-pack", priority=True),
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("f1", "help", "Keys"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self, root: Path, opener: Opener, *, budget: int | None = None,
        clock: Callable[[], float] = time.perf_counter, save_dir: Path | None = None,
        redact_secrets: bool = True,
    ) -> None:  # fmt: skip
        super().__init__()
        self.redact_secrets = redact_secrets  # False only for a local model (packing.policy)
        self.root = root
        self.opener = opener
        self.budget = budget  # None: what the model's sizing says
        self.clock = clock
        self.save_dir = save_dir or Path.cwd()
        self.session: AskSession | None = None
        self.opened: Opened | None = None
        self.model_failed = False
        self.turn_view: TurnView | None = None
        self.cancel_event = threading.Event()
        self.busy = "loading the model"  # what the model worker does; "" when idle
        self.discarding = False  # a re-pack is throwing away a warm prefix

    def compose(self) -> ComposeResult:
        yield BudgetGauge(id="gauge")
        with Horizontal(id="main"):
            yield SidePanel(id="side")
            with Vertical(id="talk"):
                yield ChatView(id="chat")
                yield Input(placeholder="Ask about the repository (Enter)", id="question")
        yield StatusLine(id="status")
        yield Footer()

    @property
    def chat(self) -> ChatView:
        return self.query_one(ChatView)

    @property
    def status(self) -> StatusLine:
        return self.query_one(StatusLine)

    def on_mount(self) -> None:
        self.status.repo = self.root.resolve().name
        self.chat.note(
            f"Ask about {self.status.repo}. The first question reads the packed repository "
            "into the model; later questions reuse it. F1 shows the keys.", "info"
        )  # fmt: skip
        self.query_one("#question", Input).focus()
        self.run_scan()
        self.run_load()

    # ------------------------------------------------------------------ workers
    @work(thread=True, group="repo", name="scan", exit_on_error=False)
    def run_scan(self) -> None:
        jobs.scan_repo(self.root, self.post_message)

    @work(thread=True, group="model", name="load model", exit_on_error=False)
    def run_load(self) -> None:
        jobs.load_model(self.opener, self.post_message)

    @work(thread=True, group="model", name="pack", exit_on_error=False)
    def run_pack(self, session: AskSession) -> None:
        jobs.repack(session, self.post_message)

    @work(thread=True, group="model", name="answer", exit_on_error=False)
    def run_answer(self, session: AskSession, question: str, cancel: threading.Event) -> None:
        jobs.answer(session, question, self.post_message, cancel)

    # ------------------------------------------------------------------ repo and model
    def on_scan_progress(self, message: msg.ScanProgress) -> None:
        total = f"/{message.total:,}" if message.total else ""
        self.query_one(BudgetGauge).note = f"scanning: {message.stage} {message.done:,}{total}"

    def on_repo_scanned(self, message: msg.RepoScanned) -> None:
        self.session = AskSession(
            message.repo, budget=self.budget or DEFAULT_BUDGET, clock=self.clock,
            redact_secrets=self.redact_secrets,
        )
        if self.opened is not None:
            self._use_model(self.opened)
        self.query_one(SidePanel).show_session(self.session)
        self._pack_when_ready()

    def on_model_ready(self, message: msg.ModelReady) -> None:
        self.opened = message.opened
        self.busy = ""
        self.query_one(BudgetGauge).memory = message.opened.memory
        self.query_one(BudgetGauge).note = "no memory plan for this backend"
        self.status.model = message.opened.backend.name
        if message.opened.banner:
            self.chat.note(message.opened.banner, "warning")
        if self.session is not None:
            self._use_model(message.opened)
        self._pack_when_ready()

    def _use_model(self, opened: Opened) -> None:
        assert self.session is not None
        budget = min(self.budget, opened.pack_budget) if self.budget else opened.pack_budget
        self.session.attach(opened.backend, budget=budget, plain=opened.plain,
                            options=opened.options)  # fmt: skip

    def _pack_when_ready(self) -> None:
        """Pack once both the repo and the model (or its failure) are known."""
        ready = self.opened is not None or self.model_failed
        if self.session is not None and ready and self.session.pack is None and not self.busy:
            self.busy = "packing"
            self.run_pack(self.session)

    def on_failed(self, message: msg.Failed) -> None:
        """Faults: a notification and a chat line; the app keeps running."""
        what = {
            "scan": "Scanning the repo",
            "model": "Loading the model",
            "pack": "Packing",
            "answer": "The answer",
        }.get(message.what, message.what)
        self.notify(f"{what} failed: {message.error}", severity="error", timeout=8)
        self.chat.note(f"✗ {what} failed: {message.error}", "error")
        if message.what == "model":
            self.model_failed, self.busy = True, ""
            self.status.state, self.status.model = "no model", "no model"
            self.query_one(BudgetGauge).note = "no model loaded"
            self._pack_when_ready()
        elif message.what == "pack":
            self.busy = ""

    def on_warned(self, message: msg.Warned) -> None:
        self.notify(message.text, severity="warning")
        self.chat.note(f"! {message.text}", "warning")

    def on_packed(self, message: msg.Packed) -> None:
        was_warm, self.discarding = self.discarding, False
        self.busy = ""
        self._refresh_marks()
        self.query_one(BudgetGauge).pack = message.pack
        self.status.tokens = message.pack.total_tokens
        if self.opened is None:
            self.status.state = "no model"
        else:
            self._show_prefix_state()
        if was_warm and self.session is not None and self.session.prefix_state == "cold":
            self.chat.note("Re-packed: the repo the model had read is discarded; the next "
                           "question reads the new pack.", "warning")  # fmt: skip

    # ------------------------------------------------------------------ tree and detail
    @on(RepoTree.Toggle)
    def toggle_mark(self, message: RepoTree.Toggle) -> None:
        if self.session is None:
            return
        self.session.toggle(message.kind, message.path)
        self._refresh_marks()

    def _refresh_marks(self) -> None:
        assert self.session is not None
        s = self.session
        self.query_one(SidePanel).refresh_session()
        self.status.changes = s.changes
        if s.changes and s.pack is not None:
            self.status.state = "stale"
        elif self.status.state == "stale":
            self.status.state = s.prefix_state if self.opened else "no model"

    # ------------------------------------------------------------------ questions
    @on(Input.Submitted, "#question")
    def ask(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            return
        refusal = self._cannot_ask()
        if refusal:
            self.notify(refusal, severity="warning")
            return
        assert self.session is not None
        event.input.value = ""
        self.busy = "answering"
        self.cancel_event = threading.Event()
        self.turn_view = self.chat.begin(question, self.clock)
        if self.session.prefix_state == "cold":
            self.status.state = "reading"
        self.run_answer(self.session, question, self.cancel_event)

    def _cannot_ask(self) -> str:
        if self.busy == "answering":
            return "An answer is still streaming: Esc stops it."
        if self.model_failed:
            return "No model is loaded (see the chat for why); restart with --model or --server."
        if self.session is None or self.session.pack is None or self.busy:
            return f"Still {self.busy or 'scanning the repo'}: ask again in a moment."
        return ""

    def on_ingest_progress(self, message: msg.IngestProgress) -> None:
        if self.turn_view is not None:
            self.turn_view.ingest(message.ingest)

    def on_ingest_done(self, message: msg.IngestDone) -> None:
        if self.turn_view is not None:
            self.turn_view.ingested(message.prefix_tokens)
        self._show_prefix_state()

    async def on_answer_chunk(self, message: msg.AnswerChunk) -> None:
        if self.turn_view is not None:
            await self.turn_view.add(message.text, message.thinking, message.pieces)

    async def on_answer_ended(self, message: msg.AnswerEnded) -> None:
        self.busy = ""
        if self.turn_view is not None:
            await self.turn_view.finish(message.turn)
        if message.turn.status == "cancelled":
            self.notify("Stopped.")
        self.status.rate = f"{message.turn.tokens_per_s:,.1f} tok/s"
        self._show_prefix_state()

    def _show_prefix_state(self) -> None:
        if self.session is not None:
            self.status.state = "stale" if self.session.changes else self.session.prefix_state
            self.status.tokens = self.session.prefix_tokens or self.status.tokens

    # ------------------------------------------------------------------ actions
    def action_cancel(self) -> None:
        """Esc: stop the answer; the worker notices between chunks or tokens."""
        if self.busy == "answering":
            self.cancel_event.set()

    def action_repack(self) -> None:
        if self.session is None or self.busy:
            self.notify(f"Cannot re-pack while {self.busy or 'scanning'}.", severity="warning")
            return
        self.busy = "packing"
        self.discarding = self.session.prefix_state == "warm"
        self.status.state = "busy"
        self.run_pack(self.session)

    def action_save(self) -> None:
        if self.session is None or not self.session.turns:
            self.notify("Nothing to save yet: ask a question first.")
            return
        default = self.save_dir / f"repoctx-{self.status.repo}-chat.md"
        self.push_screen(SaveScreen(str(default)), self._save_to)

    def _save_to(self, value: str | None) -> None:
        if not value or self.session is None:
            return
        path = Path(value).expanduser()
        path = path if path.is_absolute() else self.save_dir / path
        model = self.opened.backend.name if self.opened else ""
        try:
            saved = self.session.save(path, model=model)
        except Exception as exc:
            self.notify(f"Could not save: {jobs.reason(exc)}", severity="error")
            return
        self.notify(f"Saved {len(self.session.turns)} question(s) to {saved}")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Stop a running answer, wait for the model worker, free the model, then exit."""
        self.cancel_event.set()
        running = [w for w in self.workers if w.group == "model" and w.is_running]
        if running:
            self.notify("Stopping the model…")
            done = asyncio.gather(*(w.wait() for w in running), return_exceptions=True)
            try:
                await asyncio.wait_for(done, QUIT_WAIT_S)
            except TimeoutError:
                self.exit()  # the model is busy in C code: leave it to process exit
                return
        if self.opened is not None:
            self.opened.backend.close()
            self.opened = None
        # The stopped worker's last chunk and its AnswerEnded are queued behind this action:
        # exit after them, so the answer's Markdown stream ends while the chat is still there.
        self.call_later(self.exit)

    def on_unmount(self) -> None:
        self.cancel_event.set()  # however the app ends, a running answer stops

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from palette(self)
