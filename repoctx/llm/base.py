"""The one streaming interface every model backend implements.

A backend turns a :class:`Prompt` into an iterator of typed events: prefill progress while the
(possibly 64K-token) prompt is read, thinking and answer text as they are generated, and a
final :class:`Done` with timings. Front ends (the review command, the TUI, the hook) consume
events and never see llama.cpp or HTTP; adding a backend touches nothing else.

Why events rather than callbacks for progress: a generator hands control back to the consumer
after every prefill chunk and every token, so a TUI worker can cancel between chunks simply by
closing the iterator, and the CLI can draw a progress bar without threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]
FinishReason = Literal["stop", "length", "cancelled", "error"]


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """A conversation plus where its byte-stable, reusable prefix ends.

    ``prefix_messages`` leading messages (typically the system message holding the packed repo)
    form the prefix a backend may evaluate once and snapshot (DESIGN.md §4); everything after
    it (the question, the diff) is the tail that changes between calls.
    """

    messages: tuple[Message, ...]
    prefix_messages: int = 0

    @classmethod
    def of(cls, system: str, user: str, *, cache_system: bool = True) -> Prompt:
        """The common shape: the packed repo as the system message, one request after it."""
        return cls((Message("system", system), Message("user", user)), 1 if cache_system else 0)


@dataclass(frozen=True, slots=True)
class Options:
    """Generation settings; defaults follow Qwen 3.5's recommended sampling for thinking mode.

    ``temperature == 0`` means greedy (deterministic, used by tests and snapshot checks).
    ``think``: None leaves the model's default; True/False sets the chat template's
    ``enable_thinking``. ``json_schema`` constrains the answer (llama.cpp grammar, or the
    server's ``response_format``).
    """

    max_tokens: int = 4096
    temperature: float = 0.6
    top_p: float = 0.95
    top_k: int = 20
    min_p: float = 0.0
    repeat_penalty: float = 1.0
    seed: int = 0
    think: bool | None = None
    json_schema: Mapping[str, Any] | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PrefillProgress:
    """``done`` of ``total`` prompt tokens are in the model's state (``cached`` of them reused)."""

    done: int
    total: int
    cached: int
    tokens_per_s: float
    eta_s: float | None


@dataclass(frozen=True, slots=True)
class Thinking:
    """Reasoning text (Qwen 3.5 ``<think>…</think>``): shown dimmed or hidden, never parsed."""

    text: str


@dataclass(frozen=True, slots=True)
class Text:
    """Answer text."""

    text: str


@dataclass(frozen=True, slots=True)
class Stats:
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens restored from a snapshot / the live state
    output_tokens: int = 0
    prefill_s: float = 0.0
    decode_s: float = 0.0
    finish_reason: FinishReason = "stop"

    @property
    def prefill_tokens_per_s(self) -> float:
        evaluated = self.prompt_tokens - self.cached_tokens
        return evaluated / self.prefill_s if self.prefill_s > 0 else 0.0

    @property
    def decode_tokens_per_s(self) -> float:
        return self.output_tokens / self.decode_s if self.decode_s > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Done:
    stats: Stats


Event = PrefillProgress | Thinking | Text | Done
ProgressCallback = Callable[[PrefillProgress], None]


@runtime_checkable
class Backend(Protocol):
    """What the front ends need from a model. Implementations: llamacpp, openai_compat."""

    @property
    def name(self) -> str:
        """Human-readable model name for headers (file name or server model id)."""
        ...

    @property
    def context_length(self) -> int:
        """Tokens the loaded context holds (prompt + answer)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's vocabulary (special tokens parsed)."""
        ...

    def stream(self, prompt: Prompt, options: Options | None = None) -> Iterator[Event]:
        """Evaluate ``prompt`` (reusing a snapshot of its prefix when one matches) and stream."""
        ...

    def warm(
        self,
        prompt: Prompt,
        options: Options | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> int:
        """Evaluate only the prompt's prefix and keep it for later :meth:`stream` calls.

        Returns the prefix length in tokens (0 where the backend cannot keep state).
        """
        ...

    def close(self) -> None: ...


@dataclass(slots=True)
class Result:
    """A whole answer gathered from an event stream (tests, the hook's JSON mode)."""

    text: str = ""
    thinking: str = ""
    stats: Stats = field(default_factory=Stats)
    progress: list[PrefillProgress] = field(default_factory=list)


def collect(events: Iterator[Event]) -> Result:
    """Drain ``events`` into a :class:`Result`."""
    result = Result()
    text: list[str] = []
    thinking: list[str] = []
    for event in events:
        if isinstance(event, Text):
            text.append(event.text)
        elif isinstance(event, Thinking):
            thinking.append(event.text)
        elif isinstance(event, PrefillProgress):
            result.progress.append(event)
        else:
            result.stats = event.stats
    result.text = "".join(text)
    result.thinking = "".join(thinking)
    return result


class Rate:
    """Tokens/s and ETA over a run of work, for progress events."""

    def __init__(self, total: int, start_done: int = 0) -> None:
        self.total = total
        self.start_done = start_done
        self.started = time.perf_counter()

    def progress(self, done: int, cached: int) -> PrefillProgress:
        elapsed = time.perf_counter() - self.started
        work = done - self.start_done
        rate = work / elapsed if elapsed > 0 and work > 0 else 0.0
        eta = (self.total - done) / rate if rate > 0 else None
        return PrefillProgress(done, self.total, cached, rate, eta)


def last_user_text(messages: Sequence[Message]) -> str:
    """The final user message (what a plain-completion model is asked)."""
    for message in reversed(messages):
        if message.role == "user":
            return message.content
    return ""
