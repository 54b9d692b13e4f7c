"""doctor: check this machine against the budget plan, then measure what users will feel.

The checks a careful user runs after setting up a local model, done for them: which GPU and
driver, whether llama.cpp was built with GPU offload, the budget plan, and a measured run at
the planned context — memory after load and after a full prefill against the prediction,
prefill and decode tokens/s at several depths, and memory across ten consecutive long
requests (it must not climb). Known cliffs are named when the numbers show them.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repoctx.budget import BudgetPlan, detect
from repoctx.budget.footprint import Footprint
from repoctx.units import MiB

DECODE_TOKENS = 64
STABLE_MARGIN = 64 * MiB  # memory may wobble by allocator rounding, not grow


@dataclass(frozen=True, slots=True)
class SystemFacts:
    devices: tuple[str, ...]
    driver: str | None
    llama_cpp: str
    gpu_offload: bool
    system_info: str


@dataclass(frozen=True, slots=True)
class SpeedRow:
    depth: int  # prompt tokens evaluated from an empty context
    prefill_tok_s: float
    decode_tok_s: float  # for DECODE_TOKENS tokens right after that prompt
    memory_bytes: int | None  # measured after the prefill (None: cannot measure here)


@dataclass(slots=True)
class Report:
    facts: SystemFacts
    plan: BudgetPlan
    predicted_bytes: int
    after_load_bytes: int | None = None
    rows: list[SpeedRow] = field(default_factory=list)
    requests: list[int | None] = field(default_factory=list)  # memory after each request
    cliffs: list[str] = field(default_factory=list)
    flash_attention: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "system": {"devices": list(self.facts.devices), "driver": self.facts.driver,
                       "llama_cpp": self.facts.llama_cpp, "gpu_offload": self.facts.gpu_offload},
            "plan": {"n_ctx": self.plan.n_ctx, "kv_type": self.plan.kv_type,
                     "n_ubatch": self.plan.n_ubatch, "pack_budget": self.plan.pack_budget},
            "predicted_bytes": self.predicted_bytes,
            "after_load_bytes": self.after_load_bytes,
            "flash_attention": self.flash_attention,
            "rows": [{"depth": r.depth, "prefill_tok_s": round(r.prefill_tok_s, 1),
                      "decode_tok_s": round(r.decode_tok_s, 2),
                      "memory_bytes": r.memory_bytes} for r in self.rows],
            "requests_memory_bytes": self.requests,
            "cliffs": self.cliffs,
        }


def system_facts() -> SystemFacts:
    import llama_cpp

    info = llama_cpp.llama_print_system_info()
    text = info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info)
    return SystemFacts(_device_names(), _driver(), str(llama_cpp.__version__),
                       bool(llama_cpp.llama_supports_gpu_offload()), text.strip())


def measure(
    model: Path,
    plan: BudgetPlan,
    depths: Sequence[int],
    requests: int = 10,
    on_step: Callable[[str], None] | None = None,
    request_tokens: int = 16_384,
) -> Report:
    """Load ``model`` as ``plan`` says and time it; memory is this process's share."""
    say = on_step or (lambda _: None)
    baseline = memory_in_use(plan)
    say(f"loading {model.name} at n_ctx {plan.n_ctx:,}")
    backend = load_for_plan(model, plan)
    try:
        return measure_loaded(backend, plan, depths, requests, baseline, say, request_tokens)
    finally:
        backend.close()


def load_for_plan(model: Path, plan: BudgetPlan) -> Any:
    """A LlamaCppBackend configured exactly as the plan says (context, ubatch, KV type)."""
    # llama.cpp loads only when the measured run starts
    from repoctx.llm.llamacpp import LlamaCppBackend
    from repoctx.llm.runtime import LoadSettings

    settings = LoadSettings(n_ctx=plan.n_ctx, n_ubatch=plan.n_ubatch, type_k=plan.kv_type,
                            type_v=plan.kv_type,
                            n_gpu_layers=-1 if plan.device.is_gpu else 0)
    return LlamaCppBackend(model, settings)


def measure_loaded(
    backend: Any,
    plan: BudgetPlan,
    depths: Sequence[int],
    requests: int,
    baseline: int | None,
    say: Callable[[str], None],
    request_tokens: int = 16_384,
) -> Report:
    """The measured part of ``measure`` on an already loaded backend."""
    # llama.cpp loads only when the measured run starts
    from repoctx.llm.runtime import recent_log

    report = Report(system_facts(), plan, _predicted(plan))
    report.flash_attention = _flash_attention(recent_log())
    report.after_load_bytes = _delta(memory_in_use(plan), baseline)
    speed(backend, min(256, backend.context_length // 4), plan, baseline)  # warm-up
    for depth in [d for d in depths if d + DECODE_TOKENS < backend.context_length]:
        say(f"prefill {depth:,} tokens, then decode {DECODE_TOKENS}")
        report.rows.append(speed(backend, depth, plan, baseline))
    long = min(request_tokens, max(512, backend.context_length // 2))
    for i in range(requests):
        say(f"request {i + 1} of {requests} ({long:,} tokens)")
        speed(backend, long, plan, baseline, seed=i + 1)
        report.requests.append(_delta(memory_in_use(plan), baseline))
    report.cliffs = cliffs(report)
    return report


def speed(backend: Any, depth: int, plan: BudgetPlan, baseline: int | None,
          seed: int = 0) -> SpeedRow:
    """Prefill ``depth`` random ordinary tokens from empty, then decode one token at a time."""
    tokens = _random_tokens(backend, depth, seed)
    backend.state.invalidate()  # an empty context: every depth is measured from zero
    started = time.perf_counter()
    for _ in backend.prefill(tokens):
        pass
    prefill_s = time.perf_counter() - started
    memory = _delta(memory_in_use(plan), baseline)
    next_token = tokens[-1]
    started = time.perf_counter()
    for _ in range(DECODE_TOKENS):
        backend.state.decode([next_token])
    decode_s = time.perf_counter() - started
    return SpeedRow(depth, depth / prefill_s, DECODE_TOKENS / decode_s, memory)


def _random_tokens(backend: Any, count: int, seed: int) -> list[int]:
    """Ordinary vocabulary tokens (no controls): prompts of real length without real text."""
    import llama_cpp

    n_vocab = int(llama_cpp.llama_vocab_n_tokens(backend.rt.vocab))
    rng = random.Random(seed)
    special = {t for t in range(n_vocab) if backend.rt.is_eog(t)}
    high = min(n_vocab, 150_000)
    return [t for t in (rng.randrange(256, high) for _ in range(count + 64))
            if t not in special][:count]


def cliffs(report: Report) -> list[str]:
    found: list[str] = []
    if not report.facts.gpu_offload:
        found.append("llama.cpp was built without GPU offload: everything runs on the CPU "
                     "(reinstall llama-cpp-python with CUDA: docs/gpu.md)")
    if report.flash_attention is False:
        found.append("flash attention is off: attention scores need n_ctx × n_ubatch memory "
                     "per layer (~6 GiB at 128K); use a build and GPU that support it")
    if report.plan.kv_type in {"q8_0", "q4_0"}:
        found.append(f"{report.plan.kv_type} KV cache: half the memory of f16 or less, but "
                     "decode slows down with depth (measured −21% at 64K on an H100)")
    if len(report.rows) >= 2:
        first, last = report.rows[0], report.rows[-1]
        if last.decode_tok_s < 0.5 * first.decode_tok_s:
            found.append(f"decode collapses at long positions: {first.decode_tok_s:.1f} tok/s "
                         f"at {first.depth:,} but {last.decode_tok_s:.1f} at {last.depth:,}")
    seen = [m for m in report.requests if m is not None]
    if len(seen) >= 2 and max(seen) - seen[0] > STABLE_MARGIN:
        found.append(f"memory climbs across requests: +{(max(seen) - seen[0]) / MiB:.0f} MiB "
                     f"over {len(seen)} requests")
    return found


def _predicted(plan: BudgetPlan) -> int:
    for row in plan.rows:
        if row.n_ctx == plan.n_ctx:
            return row.total_bytes
    if plan.model is None:
        return 0
    footprint = Footprint(plan.model, plan.device, plan.n_seq_max, False)
    return footprint.row(plan.n_ctx, plan.kv_type, plan.n_ubatch).total_bytes


def _flash_attention(log: Sequence[str]) -> bool | None:
    for line in reversed(log):
        lowered = line.lower()
        if "flash_attn " in lowered or "flash attention" in lowered:  # not FLASH_ATTN_EXT nodes
            if any(word in lowered for word in ("= 0", "disabled", "not supported")):
                return False
            if any(word in lowered for word in ("= 1", "enabled", "auto")):
                return True
    return None


def memory_in_use(plan: BudgetPlan) -> int | None:
    """GPU memory in use on the plan's devices (NVML), or this process's RSS on the CPU."""
    if plan.device.is_gpu and plan.device.source == "nvml":
        with contextlib.suppress(Exception):
            import pynvml

            pynvml.nvmlInit()
            try:
                return sum(int(pynvml.nvmlDeviceGetMemoryInfo(
                    pynvml.nvmlDeviceGetHandleByIndex(i)).used)
                    for i in range(pynvml.nvmlDeviceGetCount()))
            finally:
                pynvml.nvmlShutdown()
        return None
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


def _delta(now: int | None, baseline: int | None) -> int | None:
    return None if now is None or baseline is None else max(0, now - baseline)


def _device_names() -> tuple[str, ...]:
    return tuple(d.name for d in detect().devices)


def _driver() -> str | None:
    with contextlib.suppress(Exception):
        import pynvml

        pynvml.nvmlInit()
        try:
            version = pynvml.nvmlSystemGetDriverVersion()
            return version.decode() if isinstance(version, bytes) else str(version)
        finally:
            pynvml.nvmlShutdown()
    return None
