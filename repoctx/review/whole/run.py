"""Running the parts of a whole-repo review: render, fit, look up, review — serially or on
a few threads.

Rendering happens lazily on the calling thread, just ahead of the model, so the first pack is
being reviewed after one render (about a second for a 128K pack of Django) instead of after
all of them. The pack was planned in repoctx's Qwen 3.5 counts; the model's own vocabulary
can need more (the fallback Gemma does), so every prompt is re-counted with the model and a
pack that does not fit its context is halved along its dependency order.

Parallel runs use daemon threads, not a ``ThreadPoolExecutor``: the executor's threads are
joined at interpreter exit, so a Ctrl-C would wait for a server still reading a long prompt.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from repoctx.errors import RepoctxError
from repoctx.llm.base import Backend, Done, Event, Options, Prompt, Stats, Text
from repoctx.packing.pack import Pack, PackOverflow
from repoctx.packing.plan import PackPlan, PlannedPack, render_packs
from repoctx.packing.redact import Redaction
from repoctx.packing.render import Format
from repoctx.review.job import prompt_tokens
from repoctx.review.whole.prompts import Spec, part_prompt
from repoctx.scanning.repo import Repo

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Part:
    """One pack, rendered and turned into a prompt the model's context holds."""

    number: int  # 1-based, in pack (dependency) order
    files: tuple[str, ...]
    interfaces: tuple[str, ...]
    tokens: int  # the rendered pack, in repoctx's counter
    prompt_tokens: int  # the whole prompt, in the model's vocabulary
    prompt: Prompt
    options: Options
    key: str
    redactions: tuple[Redaction, ...] = ()  # secrets taken out of the pack's text


@dataclass(frozen=True, slots=True)
class Unfit:
    """A pack that cannot be reviewed (one file alone over the model's context)."""

    number: int
    files: tuple[str, ...]
    reason: str


@dataclass(slots=True)
class Answer:
    """A part's model answer as gathered from its event stream."""

    text: str = ""
    stats: Stats = field(default_factory=Stats)
    seconds: float = 0.0
    error: RepoctxError | None = None
    cancelled: bool = False


class Producer:
    """Yields the parts of ``plan`` in order; ``total`` grows if a pack had to be split."""

    def __init__(self, repo: Repo, plan: PackPlan, spec: Spec, *, fmt: Format,
                 count: Callable[[str], int], context: int, redact_secrets: bool) -> None:
        self.repo, self.plan, self.spec, self.fmt = repo, plan, spec, fmt
        self.count, self.context, self.redact = count, context, redact_secrets
        self.total = len(plan.packs)
        self._next = 1

    def __iter__(self) -> Iterator[Part | Unfit]:
        for planned in self.plan.packs:
            yield from self._pieces(planned)

    def _pieces(self, planned: PlannedPack) -> Iterator[Part | Unfit]:
        try:
            pieces = render_packs(self.repo, self.plan, planned, self.fmt, self.redact)
        except PackOverflow as exc:  # one file (with the tree) over the budget after all
            yield Unfit(self._take(), planned.files, f"does not fit a pack: {exc}")
            return
        self.total += len(pieces) - 1
        for piece, packed in pieces:
            yield from self._fitted(piece, packed)

    def _fitted(self, piece: PlannedPack, packed: Pack) -> Iterator[Part | Unfit]:
        """The part, if the model's own tokenizer agrees it fits; else smaller: halved along
        the order, or (one file) without the interface skeletons, which are a courtesy."""
        prompt, options, key = part_prompt(self.repo, self.spec, packed.text, piece.files,
                                           self._next, self.total)
        need = prompt_tokens(prompt, self.count)
        room = self.context - options.max_tokens
        if need <= room:
            yield Part(self._take(), piece.files, piece.interfaces, packed.total_tokens, need,
                       prompt, options, key, tuple(packed.redactions))
        elif len(piece.files) >= 2:
            self.total += 1
            middle = len(piece.files) // 2
            for half in (piece.files[:middle], piece.files[middle:]):
                yield from self._pieces(PlannedPack(piece.index, half, piece.interfaces,
                                                    piece.estimate // 2))
        elif piece.interfaces:
            yield from self._pieces(PlannedPack(piece.index, piece.files, (), piece.estimate))
        else:
            yield Unfit(self._take(), piece.files,
                        f"{piece.files[0]} alone is {need:,} tokens in the model's vocabulary; "
                        f"its context holds {room:,} besides the answer")

    def _take(self) -> int:
        number, self._next = self._next, self._next + 1
        return number


def stream_part(backend: Backend, part: Part) -> Iterator[Event]:
    """The model's events for one part (a generator: closing it stops the model)."""
    yield from backend.stream(part.prompt, part.options)


def gather(events: Iterator[Event], cancel: threading.Event | None = None) -> Answer:
    """Drain a part's events into an :class:`Answer`; a backend error is kept, not raised."""
    drained: Generator[None, None, Answer] = relay(events, None, cancel)
    while True:
        try:
            next(drained)
        except StopIteration as done:
            answer: Answer = done.value
            return answer


def relay(events: Iterator[Event], wrap: Callable[[Event], T] | None,
          cancel: threading.Event | None = None) -> Generator[T, None, Answer]:
    """Forward a streamed answer's events (wrapped for the caller) while gathering it; a
    backend error is kept in the answer, not raised. ``wrap=None`` forwards nothing; a set
    ``cancel`` stops it early (the answer says so)."""
    started = time.perf_counter()
    answer = Answer()
    text: list[str] = []
    try:
        for event in events:
            if cancel is not None and cancel.is_set():
                answer.cancelled = True
                break
            if wrap is not None:
                yield wrap(event)
            if isinstance(event, Text):
                text.append(event.text)
            elif isinstance(event, Done):
                answer.stats = event.stats
    except RepoctxError as exc:
        answer.error = exc
    finally:
        _close(events)
    answer.text = "".join(text)
    answer.seconds = time.perf_counter() - started
    return answer


def _close(events: Iterator[Event]) -> None:
    close = getattr(events, "close", None)
    if close is not None:
        close()


class Pool:
    """``size`` daemon threads reviewing parts; outcomes come back through :meth:`next`."""

    def __init__(self, size: int, backend: Backend) -> None:
        self.backend, self.size = backend, size
        self.cancel = threading.Event()
        self._tasks: queue.Queue[Part | None] = queue.Queue()
        self._done: queue.Queue[tuple[Part, Answer]] = queue.Queue()
        self.pending = 0
        for i in range(size):
            threading.Thread(target=self._work, name=f"repoctx-part-{i}", daemon=True).start()

    def _work(self) -> None:
        while (part := self._tasks.get()) is not None:
            if self.cancel.is_set():
                return
            answer = gather(stream_part(self.backend, part), self.cancel)
            self._done.put((part, answer))

    def submit(self, part: Part) -> None:
        self.pending += 1
        self._tasks.put(part)

    def next(self) -> tuple[Part, Answer]:
        """The next finished part (a short timeout keeps Ctrl-C responsive)."""
        while True:
            try:
                outcome = self._done.get(timeout=0.2)
            except queue.Empty:
                continue
            self.pending -= 1
            return outcome

    def close(self) -> None:
        self.cancel.set()
        for _ in range(self.size):
            self._tasks.put(None)


class Clock:
    """ETA from the parts the model really reviewed (cached ones cost nothing)."""

    def __init__(self, parallel: int) -> None:
        self.parallel = max(1, parallel)
        self.seconds: list[float] = []

    def eta(self, done: int, total: int) -> float | None:
        if not self.seconds:
            return None
        mean = sum(self.seconds) / len(self.seconds)
        return mean * max(0, total - done) / self.parallel
