"""Opening the model for the TUI and measuring where its memory goes (no Textual here).

The TUI takes an :data:`Opener` — a function that loads a backend — so tests hand it a tiny
real GGUF with a small context, and the CLI hands it discovery + ``open_backend``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from repoctx.budget import detect, plan
from repoctx.budget.memory import pad
from repoctx.llm.base import Backend, Options
from repoctx.llm.discover import choose
from repoctx.llm.fallback import BANNER, fallback_model_path
from repoctx.llm.open import open_backend

if TYPE_CHECKING:
    from repoctx.budget.gpu import DeviceInfo

Warn = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class MemorySplit:
    """Where the device's memory goes with this model loaded (bytes)."""

    device: str
    is_gpu: bool
    total: int
    weights: int
    kv: int
    state: int
    compute: int  # compute buffers + runtime overhead
    free: int


@dataclass(slots=True)
class Opened:
    """A loaded model and how the TUI should use it."""

    backend: Backend
    pack_budget: int
    options: Options
    plain: bool  # base model without a chat template: plain completion, no history
    reason: str = ""  # why this model (discovery's words)
    memory: MemorySplit | None = None
    banner: str = ""  # shown once in the chat (the fallback model says it is not a reviewer)


Opener = Callable[[Warn], Opened]


def chat_options(plain: bool, max_tokens: int, think: bool | None) -> Options:
    """Greedy with a repeat penalty for a tiny base model (it rambles less); else Qwen's own."""
    if plain:
        return Options(max_tokens=max_tokens, temperature=0.0, repeat_penalty=1.15, think=think)
    return Options(max_tokens=max_tokens, think=think)


def memory_split(
    path: Path, n_ctx: int, kv_type: str = "f16", device: DeviceInfo | None = None
) -> MemorySplit | None:
    """The budget planner's numbers for ``path`` at ``n_ctx`` (None when it cannot tell).

    With no ``device`` the real one is detected now, after the model was loaded, so its free
    memory already excludes the model; a what-if ``device`` gets the plan subtracted.
    """
    try:
        dev = device or detect()
        planned = plan(path, dev, kv_type=kv_type, ctx=n_ctx)
        row = next(r for r in planned.rows if r.n_ctx == pad(n_ctx))
    except Exception:  # planner missing or the header unreadable: the gauge shows tokens only
        return None
    free = dev.free_bytes if device is None else max(0, dev.free_bytes - row.total_bytes)
    return MemorySplit(
        dev.name, dev.is_gpu, dev.total_bytes, row.weights_bytes, row.kv_bytes,
        row.state_bytes, row.compute_bytes + row.overhead_bytes, free,
    )  # fmt: skip


def open_model(
    root: Path, *, model: str | None, server: str | None, budget: int | None,
    max_tokens: int | None, kv_type: str, think: bool | None, on_warning: Warn,
) -> Opened:  # fmt: skip
    """Discovery's choice (``--model``/``--server``/config/stores/fallback), loaded."""
    choice = choose(root, model=model, server=server)
    limit = max_tokens or (384 if choice.is_fallback else 4096)
    backend, sizing = open_backend(
        choice, budget=budget, max_tokens=limit, kv_type=kv_type, on_warning=on_warning
    )
    plain = choice.is_fallback or not getattr(backend, "has_chat_template", True)
    path = choice.candidate.path if choice.candidate else None
    if choice.is_fallback:
        path = fallback_model_path()
    memory = memory_split(path, backend.context_length, kv_type) if path else None
    return Opened(backend, sizing.pack_budget, chat_options(plain, limit, think), plain,
                  choice.reason, memory, BANNER if choice.is_fallback else "")  # fmt: skip
