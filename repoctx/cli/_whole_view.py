"""Rendering the events of a whole-repo review (``repoctx.review.whole.job``) in the terminal.

Progress goes to stderr as one line per pack (which pack of how many, its size, its time,
the ETA), so a log of a long run says where it stood. The review goes to stdout in pack
order whatever order the packs finish in: a pack that finishes early waits in a buffer
until every pack before it has been shown.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from repoctx.cli._review_render import emit_document
from repoctx.llm.base import Event, PrefillProgress, Text, Thinking
from repoctx.review.whole.job import (
    PartEvent,
    PartFailed,
    PartFinished,
    PartStarted,
    WholeDone,
    WholeEvent,
    WholeReport,
)
from repoctx.review.whole.merge_pass import MergeEvent, MergeStarted
from repoctx.review.whole.prompts import Spec, primers
from repoctx.review.whole.run import Part

if TYPE_CHECKING:
    from repoctx.cli._review_render import Renderer
    from repoctx.packing.redact import Redaction

OVERVIEW_HEADING = "## Whole-repo overview\n\n"


def heading(number: int, total: int, files: tuple[str, ...], tokens: int | None) -> str:
    size = f", {tokens:,} tokens" if tokens is not None else ""
    span = f"`{files[0]}`" if len(files) == 1 else f"`{files[0]}` … `{files[-1]}`"
    return f"## Pack {number} of {total}: {span} ({_files(files)}{size})\n\n"


def _files(files: tuple[str, ...]) -> str:
    return f"{len(files)} file{'' if len(files) == 1 else 's'}"


class WholeView:
    def __init__(self, renderer: Renderer, spec: Spec) -> None:
        self.renderer = renderer
        self.spec = spec
        self.markdown = spec.fmt == "markdown"
        self.part_primer, self.merge_primer = primers(spec)
        self.report = WholeReport()
        self.started = time.perf_counter()
        self._parts: dict[int, tuple[Part, int]] = {}  # started parts and their totals
        self._pending: dict[int, tuple[str, str] | None] = {}
        self._next = 1
        self._streaming: int | None = None
        self.redactions: list[Redaction] = []

    def handle(self, event: WholeEvent) -> None:
        if isinstance(event, PartStarted):
            part = event.part
            self._parts[part.number] = (part, event.total)
            self.renderer.note(f"pack {part.number} of {event.total} · {_files(part.files)} · "
                               f"{part.tokens:,} tokens · reviewing")
        elif isinstance(event, PartEvent):
            self._stream_part(event.number, event.event)
        elif isinstance(event, PartFinished):
            self._finished(event)
        elif isinstance(event, PartFailed):
            self.renderer.note(f"pack {event.number} of {event.total} not reviewed: "
                               f"{event.reason}")
            text = f"_Not reviewed: {event.reason}_\n"
            self._ready(event.number, (heading(event.number, event.total, event.files, None),
                                       text))
        elif isinstance(event, MergeStarted):
            self._merge_started(event)
        elif isinstance(event, MergeEvent):
            self._forward(event.event)
        elif isinstance(event, WholeDone):
            self.report = event.report

    def _stream_part(self, number: int, event: Event) -> None:
        if self.markdown and self._streaming != number and number in self._parts:
            part, total = self._parts[number]
            self._flush()
            self.renderer.begin_section(number, heading(number, total, part.files, part.tokens))
            if self.part_primer:
                self.renderer.text(self.part_primer, generated=False)
            self._streaming = number
        self._forward(event)

    def _forward(self, event: Event) -> None:
        if isinstance(event, PrefillProgress):
            self.renderer.prefill(event)
        elif isinstance(event, Thinking):
            self.renderer.thinking(event.text)
        elif isinstance(event, Text):
            self.renderer.text(event.text)

    def _finished(self, event: PartFinished) -> None:
        result = event.result
        part = result.part
        self.redactions.extend(part.redactions)
        where = f"pack {part.number} of {event.total}"
        if result.cached:
            self.renderer.note(f"{where} · {_files(part.files)} · stored review reused")
        else:
            eta = f" · ETA {_duration(event.eta_s)}" if event.eta_s else ""
            self.renderer.note(f"{where} done in {_duration(result.seconds)} · "
                               f"{result.stats.prompt_tokens:,} tokens in, "
                               f"{result.stats.output_tokens:,} out{eta}")
        if result.note:
            self.renderer.note(f"{where}: {result.note}")
        if self._streaming == part.number:
            self._ready(part.number, None)  # already on screen
        else:
            text = self.part_primer + result.text if self.markdown else ""
            self._ready(part.number, (heading(part.number, event.total, part.files,
                                              part.tokens), text))

    def _ready(self, number: int, section: tuple[str, str] | None) -> None:
        self._pending[number] = section
        self._flush()

    def _flush(self) -> None:
        while self._next in self._pending:
            section = self._pending.pop(self._next)
            if section is not None and self.markdown:
                self.renderer.section(self._next, *section)
            self._next += 1

    def _merge_started(self, event: MergeStarted) -> None:
        shortened = f", {event.shortened} shortened to fit" if event.shortened else ""
        stored = " (stored)" if event.cached else ""
        what = "the overview" if event.final else f"packs {event.first}–{event.last}"
        self.renderer.note(f"merging {event.digests} reviews into {what}{shortened}{stored}")
        if event.final and self.markdown:
            self._flush()
            self.renderer.begin_section("overview", OVERVIEW_HEADING)
            if self.merge_primer:
                self.renderer.text(self.merge_primer, generated=False)

    def finish(self, args: argparse.Namespace, model: str) -> int:
        """Footer, the JSON/SARIF document, and the exit status (3: something was missed)."""
        report = self.report
        self.renderer.footer(self._footer(report))
        if report.document is not None:
            emit_document(args, report.document, model, self.spec.plain)
        code = 0
        if report.failed:
            self.renderer.note(f"{len(report.failed)} of {report.parts_total} packs were not "
                               "reviewed (see above); a re-run retries only those")
            code = 3
        if report.merge_error:
            self.renderer.note(f"the merge pass failed: {report.merge_error} (the packs' "
                               "reviews are kept and stored)")
            code = 3
        return code

    def _footer(self, report: WholeReport) -> str:
        reused = sum(1 for r in report.results if r.cached)
        calls = len(report.stats)
        tokens_in = sum(s.prompt_tokens for s in report.stats)
        tokens_out = sum(s.output_tokens for s in report.stats)
        return (f"{len(report.results)} of {report.parts_total} packs reviewed "
                f"({reused} stored reviews reused) · {calls} model call{'' if calls == 1 else 's'}"
                f" · tokens in {tokens_in:,} · out {tokens_out:,} · "
                f"{_duration(time.perf_counter() - self.started)}")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 90:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 90:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"
