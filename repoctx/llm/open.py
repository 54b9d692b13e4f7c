"""From a discovery :class:`~repoctx.llm.discover.Choice` to a running backend.

Context sizing lives here so every front end sizes the same way: an explicit pack budget gets
room for the answer and the prompt's own text on top and is planned and checked against the
GPU (or RAM) like "auto", which uses the budget planner's largest context. The fallback
model and a header that cannot be planned get conservative defaults (the fallback model
reads 6K tokens on a CPU in seconds, not minutes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from repoctx.budget import plan_for_model
from repoctx.budget.gguf_meta import read_gguf
from repoctx.errors import InputError
from repoctx.llm.base import Backend
from repoctx.llm.discover import Choice
from repoctx.llm.fallback import FALLBACK_MAX_CTX, FALLBACK_NAME, fallback_model_path
from repoctx.llm.openai_compat import OpenAICompatBackend
from repoctx.llm.prefix_states import StateStore
from repoctx.units import format_gib

if TYPE_CHECKING:
    from repoctx.budget.plan import BudgetPlan

PROMPT_OVERHEAD = 1024  # instructions, static facts and template tokens around the pack
FALLBACK_AUTO_CTX = 8192
GGUF_AUTO_CTX = 32768


@dataclass(frozen=True, slots=True)
class Sizing:
    n_ctx: int  # context to allocate (llama.cpp) or assumed (server)
    pack_budget: int  # tokens the packed repo may take
    n_ubatch: int = 512


def size_context(
    budget: int | None, max_tokens: int, *, cap: int, auto_ctx: int, n_ubatch: int = 512
) -> Sizing:
    """Pack budget and context for ``budget`` (None: auto), never beyond ``cap``."""
    reserve = max_tokens + PROMPT_OVERHEAD
    n_ctx = min(auto_ctx if budget is None else budget + reserve, cap)
    return Sizing(n_ctx, max(256, n_ctx - reserve), n_ubatch)


def open_backend(
    choice: Choice,
    *,
    budget: int | None,
    max_tokens: int,
    kv_type: str = "f16",
    on_warning: Callable[[str], None] | None = None,
    timeout_s: float | None = None,
) -> tuple[Backend, Sizing]:
    """Load the chosen model (or connect) and return it with its sizing.

    ``timeout_s`` is a server's longest tolerated silence (None: ``REPOCTX_SERVER_TIMEOUT``
    or 600 s).
    """
    if choice.server is not None:
        backend = OpenAICompatBackend(choice.server, timeout_s=timeout_s)
        cap = backend.context_length
        return backend, size_context(budget, max_tokens, cap=cap, auto_ctx=cap)
    # llama.cpp loads only when a local model is opened
    from repoctx.llm.llamacpp import LlamaCppBackend
    from repoctx.llm.runtime import LoadSettings

    if choice.candidate is None:
        path, label = fallback_model_path(), FALLBACK_NAME
        sizing = size_context(budget, max_tokens, cap=FALLBACK_MAX_CTX, auto_ctx=FALLBACK_AUTO_CTX)
    else:
        path, label = choice.candidate.path, choice.candidate.name
        sizing = _planned(path, budget, max_tokens, kv_type) or size_context(
            budget, max_tokens, cap=_n_ctx_train(path), auto_ctx=GGUF_AUTO_CTX
        )
    settings = LoadSettings(
        n_ctx=sizing.n_ctx, n_ubatch=sizing.n_ubatch, type_k=kv_type, type_v=kv_type
    )
    # evaluated repo prefixes are saved in the cache dir and resumed by the next run
    # (incremental ingest; REPOCTX_STATE_CACHE=0 turns it off)
    states = StateStore.default()
    local = LlamaCppBackend(path, settings, on_warning=on_warning, label=label, states=states)
    return local, sizing


def _n_ctx_train(path: Path) -> int:
    try:
        kv = read_gguf(path).kv
        arch = str(kv.get("general.architecture", ""))
        return int(kv.get(f"{arch}.context_length", GGUF_AUTO_CTX))
    except Exception:  # header unreadable: llama.cpp will say why when loading
        return GGUF_AUTO_CTX


def _planned(path: Path, budget: int | None, max_tokens: int, kv_type: str) -> Sizing | None:
    """The budget planner's context for this model on this machine's GPU (or RAM).

    No budget: the largest context that fits. A given budget: the context it needs (the
    budget plus room for the answer and the prompt's own text), planned like any other (its
    n_ubatch, its fit), and refused in one line when this GPU (or, without one, this RAM)
    cannot hold it. None when the header cannot be planned: llama.cpp says why on load.
    """
    reserve = max_tokens + PROMPT_OVERHEAD
    want = None if budget is None else budget + reserve
    try:
        plan = plan_for_model(path, kv_type=kv_type, reserve_answer=reserve, ctx=want,
                              template_tokens=0 if want else None)  # fmt: skip
    except Exception:  # header unreadable or no device info: defaults, llama.cpp says why
        return None
    if budget is not None and want is not None:
        _check_fits(plan, budget, want, reserve)
        return Sizing(plan.n_ctx, budget, plan.n_ubatch)
    if plan.n_ctx <= 0 or plan.pack_budget <= 0:
        return None
    return Sizing(plan.n_ctx, plan.pack_budget, plan.n_ubatch)


def _check_fits(plan: BudgetPlan, budget: int, want: int, reserve: int) -> None:
    """A budget whose context does not fit the device (or the trained context) is refused,
    naming the user's number and the largest budget that does fit."""
    if plan.n_ctx >= want:
        return
    assert plan.model is not None
    trained = plan.model.n_ctx_train
    most = max(0, min(plan.max_ctx, trained) - reserve)
    where = "system RAM" if not plan.device.is_gpu else plan.device.name
    if want > trained and plan.max_ctx >= trained:
        why = f"beyond the model's trained context of {trained:,} tokens"
    else:
        free = format_gib(plan.device.free_bytes)
        why = f"more than {where} holds ({free} free, {plan.kv_type} KV)"
    hint = f"the most that fits is --budget {most:,}" if most > 0 else "the model does not fit"
    raise InputError(
        f"--budget {budget:,} needs a {want:,}-token context with the answer and prompt, "
        f"{why}: {hint} (see `repoctx budget`)"
    )
