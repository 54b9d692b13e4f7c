"""job: review a repository larger than one context — every source file in full text, one
pack at a time, then one merged report.

The plan (``multipack.plan_packs``) cuts the dependency order into packs that each fit the
budget; each pack is reviewed as a part of the whole (its prompt says which part it is and
that skeletons are other parts' interfaces); a final merge pass reads every part's review
and writes the overview, while the findings of all parts are merged without a model
(``whole_merge``). Parts are reviewed serially, streaming, on a local model, or several at a
time against a server with continuous batching (``parallel``).

Every part's answer is stored under a key of everything the model saw (``whole_store``), so
an interrupted run, or a re-run after an edit, only reviews the packs whose text changed.

UI-free: :func:`review_whole` is a generator of typed events, like a backend's ``stream``;
the CLI renders them, and closing the generator (Ctrl-C) stops the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from repoctx.errors import ModelError
from repoctx.llm.base import Backend, Event, Stats
from repoctx.packing.plan import PackPlan, is_source
from repoctx.packing.render import Format
from repoctx.review.findings import Findings
from repoctx.review.whole.merge import Digest, findings_digest, lenient_findings, merge_findings
from repoctx.review.whole.merge_pass import MergeEvent, MergePass, MergeStarted
from repoctx.review.whole.prompts import Spec, primers
from repoctx.review.whole.run import Answer, Clock, Part, Pool, Producer, relay, stream_part
from repoctx.review.whole.store import ResultStore
from repoctx.scanning.repo import Repo

DEFAULT_SHARE = 0.5  # review the whole repo when less than this share fits one pack


def source_tokens(repo: Repo) -> int:
    """Tokens of every source file in full text (what a whole review reads)."""
    return sum(f.tokens or 0 for f in repo.files.values() if f.packable and is_source(f))


def needs_whole(repo: Repo, budget: int, share: float = DEFAULT_SHARE) -> bool:
    """True when one pack of ``budget`` tokens holds less than ``share`` of the source."""
    total = source_tokens(repo)
    return total > 0 and budget < share * total


@dataclass(frozen=True, slots=True)
class Job:
    spec: Spec
    context: int  # tokens the model's context holds (prompt + answer)
    parallel: int = 1  # parts in flight at once (1: serial and streamed)
    facts_markdown: str = ""  # the whole repo's static facts, for the merge pass
    redact_secrets: bool = True


@dataclass(frozen=True, slots=True)
class PartResult:
    part: Part
    text: str
    stats: Stats
    seconds: float
    cached: bool
    findings: Findings | None = None  # JSON/SARIF mode: the validated document
    note: str = ""  # e.g. a cut-off JSON answer whose complete findings were kept


@dataclass(frozen=True, slots=True)
class PartStarted:
    part: Part
    total: int


@dataclass(frozen=True, slots=True)
class PartEvent:
    """A model event of the part being reviewed (serial runs only: streamed text)."""

    number: int
    event: Event


@dataclass(frozen=True, slots=True)
class PartFinished:
    result: PartResult
    done: int
    total: int
    eta_s: float | None


@dataclass(frozen=True, slots=True)
class PartFailed:
    number: int
    files: tuple[str, ...]
    total: int
    reason: str


@dataclass(slots=True)
class WholeReport:
    results: list[PartResult] = field(default_factory=list)  # pack order
    failed: list[PartFailed] = field(default_factory=list)
    overview: str = ""
    merge_error: str = ""
    document: Findings | None = None  # JSON/SARIF mode: merged findings + summary
    stats: list[Stats] = field(default_factory=list)  # every model call of this run
    parts_total: int = 0


@dataclass(frozen=True, slots=True)
class WholeDone:
    report: WholeReport


WholeEvent = (PartStarted | PartEvent | PartFinished | PartFailed | MergeStarted | MergeEvent
              | WholeDone)


def review_whole(repo: Repo, plan: PackPlan, backend: Backend, job: Job,
                 store: ResultStore) -> Iterator[WholeEvent]:
    """Review every pack of ``plan``, then merge; the last event is :class:`WholeDone`."""
    report = WholeReport()
    fmt: Format = "markdown" if job.spec.plain else "qwen"
    producer = Producer(repo, plan, job.spec, fmt=fmt, count=backend.count_tokens,
                        context=job.context, redact_secrets=job.redact_secrets)
    yield from _Parts(backend, job, store, report, producer).run()
    report.results.sort(key=lambda r: r.part.number)
    report.parts_total = producer.total
    yield from _merge(backend, job, store, report)
    yield WholeDone(report)


class _Parts:
    """The part loop: cached answers at once, others serially (streamed) or on a pool."""

    def __init__(self, backend: Backend, job: Job, store: ResultStore, report: WholeReport,
                 producer: Producer) -> None:
        self.backend, self.job, self.store, self.report = backend, job, store, report
        self.producer = producer
        self.clock = Clock(job.parallel)

    def run(self) -> Iterator[WholeEvent]:
        pool = Pool(self.job.parallel, self.backend) if self.job.parallel > 1 else None
        try:
            for item in self.producer:
                if not isinstance(item, Part):
                    yield self._failed(item.number, item.files, item.reason)
                elif (stored := self.store.get(item.key)) is not None:
                    yield self._finished(item, _stored_answer(stored), cached=True)
                elif pool is None:
                    yield PartStarted(item, self.producer.total)
                    answer = yield from relay(stream_part(self.backend, item),
                                              partial(PartEvent, item.number))
                    yield self._finished(item, answer, cached=False)
                else:
                    pool.submit(item)
                    yield PartStarted(item, self.producer.total)
                    while pool.pending >= self.job.parallel:
                        yield self._finished(*pool.next(), cached=False)
            while pool is not None and pool.pending:
                yield self._finished(*pool.next(), cached=False)
        finally:
            if pool is not None:
                pool.close()

    def _finished(self, part: Part, answer: Answer, *, cached: bool) -> WholeEvent:
        if answer.error is not None:
            raise answer.error  # the model or server failed: stop; stored parts resume
        findings, note = None, ""
        if self.job.spec.fmt != "markdown":
            try:
                findings, note = lenient_findings(answer.text)
            except ModelError as exc:
                return self._failed(part.number, part.files, str(exc))
        if not cached:
            self.store.put(part.key, "part", {"text": answer.text, "seconds": answer.seconds,
                                              "stats": asdict(answer.stats)})
            self.clock.seconds.append(answer.seconds)
            self.report.stats.append(answer.stats)
        result = PartResult(part, answer.text, answer.stats, answer.seconds, cached, findings,
                            note)
        self.report.results.append(result)
        done = len(self.report.results) + len(self.report.failed)
        total = self.producer.total
        return PartFinished(result, done, total, self.clock.eta(done, total))

    def _failed(self, number: int, files: tuple[str, ...], reason: str) -> PartFailed:
        failed = PartFailed(number, files, self.producer.total, reason)
        self.report.failed.append(failed)
        return failed


def _stored_answer(stored: dict[str, Any]) -> Answer:
    stats = Stats(**stored.get("stats", {}))
    return Answer(str(stored.get("text", "")), stats, float(stored.get("seconds", 0.0)))


def _merge(backend: Backend, job: Job, store: ResultStore,
           report: WholeReport) -> Iterator[WholeEvent]:
    """The overview (a model pass over the parts' digests) and, in JSON mode, the merged
    document; a failed merge pass keeps the parts and says why."""
    results = report.results
    overview = ""
    if len(results) == 1 and not report.failed:
        overview = _summary(results[0])
    elif results:
        digests = [_digest(r, report.parts_total, job.spec) for r in results]
        merger = MergePass(backend, job.spec, job.context, job.facts_markdown, store)
        try:
            overview = yield from merger.run(digests, report.parts_total)
        except ModelError as exc:
            report.merge_error = str(exc)
        report.stats.extend(merger.stats)
    report.overview = overview
    if job.spec.fmt != "markdown":
        summaries = " ".join(_summary(r) for r in results)
        position = {p: i for i, p in enumerate(f for r in results for f in r.part.files)}
        merged = merge_findings([r.findings for r in results if r.findings], position)
        report.document = {"findings": merged, "summary": overview.strip() or summaries.strip()}


def _summary(result: PartResult) -> str:
    return result.findings["summary"] if result.findings else ""


def _digest(result: PartResult, total: int, spec: Spec) -> Digest:
    part = result.part
    title = (f"Part {part.number} of {total}: `{part.files[0]}` … `{part.files[-1]}` "
             f"({len(part.files)} files)")
    if result.findings is not None:
        text = findings_digest(result.findings)
    else:
        text = primers(spec)[0] + result.text
    return Digest(part.number, part.number, title, text.strip() or "(no review)")
