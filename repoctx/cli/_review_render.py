"""Terminal rendering for ``repoctx review`` (rich), kept out of the core.

stdout carries the result: live-rendered Markdown on a terminal, raw text when piped (so
``repoctx review . > review.md`` streams too). stderr carries the prefill progress bar
(tokens/s, ETA), thinking (dimmed, only with ``--think``) and notes. In JSON/SARIF mode stdout
is reserved for the final document, so everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repoctx._version import __version__
from repoctx.cli._common import write_atomic
from repoctx.llm.base import PrefillProgress

if TYPE_CHECKING:
    from repoctx.review.findings import Findings

REVIEW_HEADING = "## Model review\n\n"
REFRESH_S = 0.12
PROGRESS_PREFIX = "repoctx · "
LOG_EVERY_S = 10.0  # off a terminal: a progress line this often during prefill and decode


class Renderer:
    def __init__(self, *, json_mode: bool, think: bool) -> None:
        self.json_mode = json_mode
        self.show_thinking = think and sys.stderr.isatty()
        self.rich_out = sys.stdout.isatty() and not json_mode
        self._parts: dict[str, str] = {"banner": "", "title": "", "facts": "", "header": ""}
        self._answer: list[str] = []
        # whole-repo reviews: one section per pack plus the overview (document order differs
        # from arrival order: the overview, written last, opens the written document)
        self._sections: dict[int | str, tuple[str, list[str]]] = {}
        self._footer = ""
        self._live: Any = None
        self._progress: Any = None
        self._task: Any = None
        self._last_refresh = 0.0
        self._thinking_chars = 0
        # off a terminal (CI logs, pipes): plain progress lines instead of a bar
        self.log_lines = not sys.stderr.isatty()
        self._logged_at = 0.0
        self._decoded = 0  # characters of answer (and thinking) so far
        self._decode_start = 0.0
        self._prefilling = False
        self._waiting: Any = None  # threading.Event of the server heartbeat, while it beats

    # ----------------------------------------------------------------- document pieces
    def banner(self, text: str) -> None:
        self._parts["banner"] = text + "\n\n"
        self._out(text + "\n\n")

    def title(self, text: str) -> None:
        self._parts["title"] = text
        self._out(text)

    def facts(self, markdown: str) -> None:
        self._parts["facts"] = markdown + "\n"
        self._out(markdown + "\n")

    def header(self, line: str, *, whole: bool = False) -> None:
        self._parts["header"] = f"_{line}_\n\n"
        heading = "" if self.json_mode or whole else REVIEW_HEADING
        self._out(f"_{line}_\n\n{heading}")

    def note(self, line: str) -> None:
        """A progress line on stderr (kept apart from the result on stdout)."""
        self._stop_progress()
        print(f"repoctx: {line}", file=sys.stderr, flush=True)

    def footer(self, line: str) -> None:
        self._stop_heartbeat()
        self._stop_live()
        self._footer = f"\n\n---\n_{line}_\n"
        if self.json_mode:
            print(line, file=sys.stderr)
        else:
            self._out(self._footer)

    def answer(self) -> str:
        return "".join(self._answer)

    def begin_section(self, key: int | str, heading: str) -> None:
        """Start a section of a whole-repo review; :meth:`text` streams into it from now."""
        self._stop_live()
        self._answer = []
        self._decoded = 0
        self._sections[key] = (heading, self._answer)
        if not self.json_mode:
            self._out(heading)

    def section(self, key: int | str, heading: str, text: str) -> None:
        """A whole section at once (a stored review, or one finished on another thread)."""
        self.begin_section(key, heading)
        self.text(text, generated=False)
        self._stop_live()

    def document(self) -> str:
        """The Markdown written by ``--output``: everything produced so far."""
        p = self._parts
        if self._sections:
            order = sorted(self._sections, key=_document_order)
            review = "".join(self._sections[k][0] + "".join(self._sections[k][1]).rstrip()
                             + "\n\n" for k in order)
        else:
            review = REVIEW_HEADING + self.answer() if self._answer or p["header"] else ""
        return p["banner"] + p["title"] + p["header"] + p["facts"] + review + self._footer

    # ----------------------------------------------------------------- streaming
    def stage(self, line: str) -> None:
        """A stage starts: one plain stderr line off a terminal (a terminal has the bars)."""
        if self.log_lines:
            self._log(line)

    def _log(self, line: str) -> None:
        self._logged_at = time.monotonic()
        # "repoctx ·", not "repoctx:": warnings and errors keep their prefix to themselves
        print(f"{PROGRESS_PREFIX}{line}", file=sys.stderr, flush=True)

    def _due(self) -> bool:
        return time.monotonic() - self._logged_at >= LOG_EVERY_S

    def _log_prefill(self, event: PrefillProgress) -> None:
        first = not self._prefilling
        self._prefilling = event.done < event.total
        if not (first or self._due() or event.done >= event.total):
            return
        eta = f" · ETA {event.eta_s:.0f} s" if event.eta_s else ""
        rate = f" · {event.tokens_per_s:,.0f} tok/s{eta}" if event.tokens_per_s else ""
        cached = f" ({event.cached:,} reused)" if event.cached else ""
        self._log(f"reading the repo: {event.done:,}/{event.total:,} tokens{cached}{rate}")

    def _log_decode(self, text: str) -> None:
        """Characters, not tokens: a guarded stream hands its text over line by line."""
        self._stop_heartbeat()
        if not text:
            return
        now = time.monotonic()
        if self._decoded == 0:
            self._decode_start = now
            self._log("writing the answer")
        self._decoded += len(text)
        if self._due():
            self._log(f"writing the answer: {self._decoded:,} characters in "
                      f"{now - self._decode_start:.0f} s")

    def _heartbeat(self) -> None:
        """A server reads the prompt without reporting progress: a line every
        LOG_EVERY_S until its first token, so a log shows the run is alive."""
        import threading

        if self._waiting is not None:
            return
        stop = self._waiting = threading.Event()
        started = time.monotonic()
        self._log("reading the repo: the server is reading the prompt")

        def beat() -> None:
            while not stop.wait(LOG_EVERY_S):
                self._log(f"reading the repo: waiting for the server's first token "
                          f"({time.monotonic() - started:.0f} s)")

        threading.Thread(target=beat, name="repoctx-heartbeat", daemon=True).start()

    def _stop_heartbeat(self) -> None:
        if self._waiting is not None:
            self._waiting.set()
            self._waiting = None

    def prefill(self, event: PrefillProgress) -> None:
        if event.total == 0:
            if self.log_lines:
                self._heartbeat()
            return
        if self.log_lines:
            self._log_prefill(event)
            return
        if self._progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            self._progress = Progress(
                TextColumn("[bold]reading the repo"), BarColumn(),
                TextColumn("{task.completed:,}/{task.total:,} tokens · {task.fields[rate]}"),
                console=Console(stderr=True), transient=True,
            )  # fmt: skip
            self._task = self._progress.add_task("prefill", total=event.total, rate="")
            self._progress.start()
        eta = f" · ETA {event.eta_s:.0f} s" if event.eta_s else ""
        rate = f"{event.tokens_per_s:,.0f} tok/s{eta}" if event.tokens_per_s else "starting"
        self._progress.update(self._task, completed=event.done, rate=rate)
        if event.done >= event.total:
            self._stop_progress()

    def thinking(self, text: str) -> None:
        self._stop_progress()
        if self.log_lines:
            self._log_decode(text)
        self._thinking_chars += len(text)
        if self.show_thinking:
            sys.stderr.write(f"\x1b[2m{text}\x1b[0m")
            sys.stderr.flush()

    def text(self, text: str, *, generated: bool = True) -> None:
        """Answer text; ``generated`` False for text repoctx writes itself (a primer, a
        stored review), which is no decoding progress."""
        self._stop_progress()
        self._answer.append(text)
        if self.log_lines and generated:
            self._log_decode(text)
        if self.json_mode:
            return
        if not self.rich_out:
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        self._render_live()

    def _render_live(self, force: bool = False) -> None:
        from rich.markdown import Markdown

        now = time.monotonic()
        if self._live is None:
            from rich.live import Live

            self._live = Live(Markdown(""), refresh_per_second=8, vertical_overflow="visible")
            self._live.start()
        if force or now - self._last_refresh >= REFRESH_S:
            self._live.update(Markdown(self.answer()))
            self._last_refresh = now

    def _out(self, text: str) -> None:
        stream = sys.stderr if self.json_mode else sys.stdout
        if self.rich_out:
            from rich.console import Console
            from rich.markdown import Markdown

            Console().print(Markdown(text))
        else:
            stream.write(text)
            stream.flush()

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _stop_live(self) -> None:
        if self._live is not None:
            self._render_live(force=True)
            self._live.stop()
            self._live = None

    def close(self) -> None:
        self._stop_heartbeat()
        self._stop_progress()
        self._stop_live()
        if not self.rich_out and not self.json_mode and self._answer:
            sys.stdout.flush()


def _document_order(key: int | str) -> tuple[int, int]:
    """The overview (a named section) first, then the packs by number."""
    return (1, key) if isinstance(key, int) else (0, 0)


def report_redactions(redactions: Any, warn: Any) -> None:
    if redactions:
        files = len({r.path for r in redactions})
        warn(f"redacted {len(redactions)} secret(s) in {files} file(s) before sending "
             "the repository to the model")


def emit_document(args: argparse.Namespace, doc: Findings, model: str, plain: bool) -> int:
    """Print (and ``--output``) a findings document as JSON or SARIF."""
    from repoctx.llm.fallback import BANNER
    from repoctx.review.job import to_sarif

    if plain:
        doc["summary"] = f"{BANNER}\n\n{doc['summary']}"
    doc["model"] = {"name": model, "fallback": plain}  # type: ignore[typeddict-unknown-key]
    out = doc if args.out_format == "json" else to_sarif(doc, tool_version=__version__,
                                                         model=model, fallback=plain)
    text = json.dumps(out, indent=2, ensure_ascii=False) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()
    if args.output:
        write_atomic(Path(args.output), text)
        args.output = None  # written: run()'s finally must not overwrite it with Markdown
    return 0
