"""A question session about one repository, UI-free: the TUI drives it, the CLI/hook may too.

The packed repository is rendered once into the system message and kept byte-stable, so a
backend can evaluate it once and answer every later question from a snapshot of that prefix
(DESIGN.md §4): :meth:`AskSession.ingest` reads the repo, :meth:`AskSession.ask` then costs
only the question and the conversation so far. Re-packing (pins, drops, a new focus) changes
the prefix, so the session goes back to ``cold`` and says so.

Every duration the session reports is measured with one injectable ``clock``: front ends
show those numbers, and tests fix the clock to make screenshots reproducible.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from repoctx.api import pack
from repoctx.atomic import write_text_atomic
from repoctx.errors import ModelError, RepoctxError
from repoctx.llm.base import (
    Backend,
    Done,
    Event,
    Message,
    Options,
    PrefillProgress,
    Prompt,
    Stats,
    Text,
    Thinking,
)
from repoctx.review.job import render_template

if TYPE_CHECKING:
    from repoctx.packing.pack import Pack
    from repoctx.scanning.repo import Repo

Clock = Callable[[], float]
MarkKind = Literal["pin", "drop", "focus"]
PrefixState = Literal["cold", "warm", "uncached"]  # uncached: the backend keeps no state
TurnStatus = Literal["answering", "done", "cancelled", "error"]
QUESTION_ROOM = 512  # tokens kept for the question itself when fitting the pack
FIT_TRIES = 4


class Cancelled(RepoctxError):
    """Raised by a progress callback to stop reading the repo (the user pressed Esc)."""


@dataclass(slots=True)
class Turn:
    """One question and its answer; ``asked`` is the user message exactly as sent."""

    question: str
    asked: str
    answer: str = ""
    thinking: str = ""
    status: TurnStatus = "answering"
    error: str = ""
    stats: Stats = field(default_factory=Stats)
    prefill_s: float = 0.0  # session clock: question sent → first output
    decode_s: float = 0.0  # session clock: first output → done

    @property
    def tokens_per_s(self) -> float:
        return self.stats.output_tokens / self.decode_s if self.decode_s > 0 else 0.0

    def summary(self) -> str:
        """One line of what this answer cost (the TUI and the transcript show it)."""
        s = self.stats
        parts = [f"{s.output_tokens:,} tokens", f"{self.tokens_per_s:,.1f} tok/s"]
        if s.prompt_tokens:
            parts.append(f"prompt {s.prompt_tokens:,} ({s.cached_tokens:,} reused)")
        parts.append(f"first token after {self.prefill_s:.1f} s")
        if self.status != "done":
            parts.append(self.status)
        elif s.finish_reason == "length":
            parts.append("cut at the token limit")
        return " · ".join(parts)

    def markdown(self, number: int) -> str:
        parts = [f"## {number}. {self.question}"]
        if self.thinking:
            parts.append(f"<details><summary>thinking</summary>\n\n{self.thinking.strip()}"
                         "\n\n</details>")  # fmt: skip
        parts.append(self.answer.strip() or "_(no answer)_")
        if self.error:
            parts.append(f"> error: {self.error}")
        parts.append(f"_{self.summary()}_")
        return "\n\n".join(parts)


@dataclass(frozen=True, slots=True)
class Ingest:
    """Progress of reading the repo prefix, timed with the session clock."""

    done: int
    total: int
    tokens_per_s: float
    eta_s: float | None


class AskSession:
    """The packed repo as a reusable prefix, the conversation, and the transcript."""

    def __init__(
        self, repo: Repo, backend: Backend | None = None, *, budget: int, context: int = 0,
        options: Options | None = None, plain: bool = False, clock: Clock = time.perf_counter,
        redact_secrets: bool = True,
    ) -> None:  # fmt: skip
        self.repo = repo
        self.redact_secrets = redact_secrets  # False only as repoctx.packing.policy allows (local)
        self.backend = backend
        self.budget = budget
        self.context = context or (self.backend.context_length if self.backend else 0)
        self.options = options or Options()
        self.plain = plain  # base model: plain completion, no conversation history
        self.clock = clock
        self.pinned: set[str] = set()
        self.dropped: set[str] = set()
        self.focus: set[str] = set()
        self.pack: Pack | None = None
        self.system = ""
        self.prefix_state: PrefixState = "cold"
        self.prefix_tokens = 0
        self._applied: tuple[frozenset[str], ...] = (frozenset(),) * 3
        self.turns: list[Turn] = []
        self._counts: dict[str, int] = {}

    # ------------------------------------------------------------------ packing
    def _sets(self) -> dict[MarkKind, set[str]]:
        return {"pin": self.pinned, "drop": self.dropped, "focus": self.focus}

    def marks(self) -> dict[str, list[MarkKind]]:
        """path → its marks (pin, drop, focus), for display."""
        out: dict[str, list[MarkKind]] = {}
        for kind, paths in self._sets().items():
            for path in sorted(paths):
                out.setdefault(path, []).append(kind)
        return out

    def toggle(self, kind: MarkKind, path: str) -> bool:
        """Flip ``path`` in the pinned/dropped/focus set; True when it is now set."""
        chosen = self._sets()[kind]
        chosen.symmetric_difference_update({path})
        if kind == "pin":
            self.dropped.discard(path)
        elif kind == "drop":
            self.pinned.discard(path)
            self.focus.discard(path)
        return path in chosen

    def _marks(self) -> tuple[frozenset[str], ...]:
        return frozenset(self.pinned), frozenset(self.dropped), frozenset(self.focus)

    @property
    def changes(self) -> int:
        """Pins, drops and focus changes not yet applied by :meth:`repack`."""
        return sum(len(a ^ b) for a, b in zip(self._marks(), self._applied, strict=True))

    def reserve(self) -> int:
        """Context kept free beside the repo: the answer, the question, some history."""
        history = 0 if self.plain else min(4096, self.context // 8)
        return self.options.max_tokens + QUESTION_ROOM + history

    def repack(self) -> Pack:
        """Pack to the budget, shrinking until the model's own tokenizer agrees it fits.

        The pack is counted in Qwen 3.5 tokens; another vocabulary (the fallback Gemma) can
        need more, so the system message is re-counted with the loaded model.
        """
        self._counts = {k: v for k, v in self._counts.items() if k != self.system}
        packed, system = self._fitted()
        if system != self.system:  # a new prefix: what the model read is of no further use
            if self.system and self.backend is not None:
                _forget_state(self.backend)
            self.prefix_state, self.prefix_tokens = "cold", 0
        self.pack, self.system, self._applied = packed, system, self._marks()
        return packed

    def _fitted(self) -> tuple[Pack, str]:
        budget = self.budget
        for _ in range(FIT_TRIES):
            packed = pack(
                self.repo, budget, focus=sorted(self.focus), pinned=sorted(self.pinned),
                dropped=sorted(self.dropped), fmt="markdown" if self.plain else "qwen",
                redact_secrets=self.redact_secrets,
            )  # fmt: skip
            system = _render("system", repo_name=self.repo.name, pack_text=packed.text)
            if self.backend is None or not self.context:
                return packed, system
            need, room = self._count(system), self.context - self.reserve()
            if need <= room:
                return packed, system
            # shrink from what the pack really took (it may be far below the budget)
            budget = int(min(budget, packed.total_tokens) * room / need * 0.95)
            if budget < 64:
                break
        raise ModelError(
            f"the repo does not fit the model's {self.context:,}-token context with "
            f"{self.reserve():,} tokens kept for the question and the answer"
        )

    # ------------------------------------------------------------------ the model
    def attach(self, backend: Backend, *, budget: int, plain: bool, options: Options) -> None:
        """Use ``backend`` from now on (a model loaded after the repo was scanned)."""
        self.backend, self.budget, self.plain, self.options = backend, budget, plain, options
        self.context, self._counts = backend.context_length, {}
        self.prefix_state, self.prefix_tokens = "cold", 0

    def _need_backend(self) -> Backend:
        if self.backend is None:
            raise ModelError("no model is loaded")
        if self.pack is None:
            self.repack()
        return self.backend

    def ingest(self, on_progress: Callable[[Ingest], None] | None = None) -> int:
        """Evaluate the repo prefix once (the slow first read); returns its tokens."""
        backend = self._need_backend()
        started, first = self.clock(), -1

        def report(event: PrefillProgress) -> None:
            nonlocal first
            first = event.done if first < 0 else first
            if on_progress is not None:
                on_progress(_ingest(event, first, self.clock() - started))

        # any non-empty question renders the same prefix; an empty one may not (newlines
        # after the repo would merge differently in a plain-completion layout)
        placeholder = _render("ask", plain=self.plain, question="?")
        n = backend.warm(self._prompt(placeholder), self.options, report)
        self.prefix_state, self.prefix_tokens = ("warm" if n else "uncached"), n
        return n

    def ask(
        self, question: str, on_ingest: Callable[[Ingest], None] | None = None
    ) -> Generator[Event, None, None]:
        """Stream the answer to ``question``, recording it as a turn.

        A cold session first reads the repo (:meth:`ingest`, progress to ``on_ingest``, which
        may raise :class:`Cancelled`). Closing the iterator early (Esc in the TUI) marks the
        turn cancelled; an error marks it failed and is re-raised for the front end to show.
        """
        turn = Turn(question, _render("ask", plain=self.plain, question=question))
        self.turns.append(turn)
        started = self.clock()
        first: float | None = None
        try:
            backend = self._need_backend()
            if self.prefix_state == "cold":
                self.ingest(on_ingest)
            prompt = self._prompt(turn.asked)
            for event in backend.stream(prompt, self.options):
                if isinstance(event, Text | Thinking) and first is None:
                    first = self.clock()
                _record(turn, event)
                yield event
        except (GeneratorExit, Cancelled):
            turn.status = "cancelled"
            raise
        except Exception as exc:
            turn.status, turn.error = "error", _reason(exc)
            self.prefix_state = "cold"  # a failed decode may have lost the state
            raise
        finally:
            end = self.clock()
            turn.prefill_s = (first if first is not None else end) - started
            turn.decode_s = end - first if first is not None else 0.0
        turn.status = "done"
        if self.prefix_state == "cold" and turn.stats.cached_tokens:
            self.prefix_state = "warm"  # the backend reused a prefix without an ingest

    def _prompt(self, asked: str) -> Prompt:
        """System (the repo) + the history that fits + this question; prefix = the system."""
        messages = [Message("system", self.system), *self._history(asked)]
        messages.append(Message("user", asked))
        return Prompt(tuple(messages), prefix_messages=1)

    def _history(self, asked: str) -> list[Message]:
        """Earlier answered turns, newest kept first, within the room the context leaves."""
        if self.plain or self.backend is None or not asked:
            return []
        count = self._count
        room = self.context - self.options.max_tokens - count(self.system) - count(asked) - 64
        kept: list[Message] = []
        for turn in reversed(self.turns):
            if turn.status != "done" or not turn.answer.strip():
                continue
            cost = count(turn.asked) + count(turn.answer) + 16
            if cost > room:
                break
            room -= cost
            kept[:0] = [Message("user", turn.asked), Message("assistant", turn.answer)]
        return kept

    def _count(self, text: str) -> int:
        """Tokens of ``text`` in the model's vocabulary, remembered: a server counts over HTTP,
        and the repo prefix and earlier turns are counted again for every question."""
        assert self.backend is not None
        if text not in self._counts:
            self._counts[text] = self.backend.count_tokens(text)
        return self._counts[text]

    # ------------------------------------------------------------------ transcript
    def transcript(self, model: str = "") -> str:
        """The conversation as Markdown (thinking folded into <details>)."""
        parts = [f"# repoctx: questions about `{self.repo.name}`"]
        if model:
            parts.append(f"Model: {model}")
        if self.pack is not None:
            c = self.pack.counts()
            tiers = f"{c['full']} full, {c['skeleton']} skeleton, {c['listed']} listed"
            parts.append(
                f"Pack: {self.pack.total_tokens:,} of {self.pack.budget:,} tokens ({tiers})"
            )
        parts += [turn.markdown(i) for i, turn in enumerate(self.turns, 1)]
        return "\n\n".join(parts) + "\n"

    def save(self, path: Path, model: str = "") -> Path:
        """Write the transcript atomically (a failed write never leaves half a file)."""
        target = path.expanduser()
        write_text_atomic(target, self.transcript(model))
        return target


def _record(turn: Turn, event: Event) -> None:
    if isinstance(event, Text):
        turn.answer += event.text
    elif isinstance(event, Thinking):
        turn.thinking += event.text
    elif isinstance(event, Done):
        turn.stats = event.stats


def _ingest(event: PrefillProgress, first: int, elapsed: float) -> Ingest:
    work = event.done - first
    rate = work / elapsed if elapsed > 0 and work > 0 else 0.0
    eta = (event.total - event.done) / rate if rate > 0 else None
    return Ingest(event.done, event.total, rate, eta)


def _forget_state(backend: Backend) -> None:
    """Drop a llama.cpp backend's snapshots of the old prefix (~150 MiB each for 27B).

    Only the llama.cpp backend keeps state (``state.invalidate``, docs/backends.md); a server
    has nothing to forget here.
    """
    invalidate = getattr(getattr(backend, "state", None), "invalidate", None)
    if callable(invalidate):
        invalidate()


def _render(name: str, **variables: object) -> str:
    return render_template(name, **variables)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
