"""What a whole-repo review will cost in time, before it starts.

A plan of 34 packs is over an hour on one GPU and days on a CPU: ``review --whole`` says so
and asks first. The estimate uses the prefill and decode rates this model last *measured* on
this machine (kept after every review, keyed by the model's identity), else rates *planned*
from the kind of model and device, and says which.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from repoctx.llm.base import Stats
    from repoctx.packing.plan import PackPlan

RATES_FILE = "rates.json"
# Measured on an H100 for Qwen 3.5 27B Q4_K_M, f16 KV (prefill 2,365 → 1,547 tok/s from 8K
# to 256K prompts; decode 77.7 → 50.5 tok/s): the mid-range of both.
GPU_RATES = (1_900.0, 60.0)
# A CPU reads and writes about inversely to the weights it streams per token: the 253 MB
# fallback measured ~55 prefill and ~22 decode tok/s on two shared cores.
CPU_RATE_BYTES = (55.0 * 253e6, 22.0 * 253e6)


@dataclass(frozen=True, slots=True)
class Rates:
    prefill: float  # prompt tokens per second
    decode: float  # answer tokens per second
    source: str  # where the numbers come from, for the user


@dataclass(frozen=True, slots=True)
class Estimate:
    low_s: float  # every answer short: prefill alone
    high_s: float  # every answer at its token cap
    rates: Rates

    def text(self) -> str:
        return (f"~{duration(self.low_s)}–{duration(self.high_s)} at {self.rates.prefill:,.0f} "
                f"prefill and {self.rates.decode:,.1f} decode tok/s ({self.rates.source})")


def estimate(plan: PackPlan, rates: Rates, max_tokens: int, parallel: int = 1) -> Estimate:
    """Prefill of every pack plus up to ``max_tokens`` per answer (and the merge pass)."""
    prompt = sum(p.estimate + plan.overhead for p in plan.packs)
    answers = (len(plan.packs) + (1 if len(plan.packs) > 1 else 0)) * max_tokens
    low = prompt / rates.prefill
    high = low + answers / rates.decode
    at_once = max(1, parallel)
    return Estimate(low / at_once, high / at_once, rates)


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def rates_path() -> Path:
    from repoctx.scanning.cache import default_cache_dir

    return default_cache_dir() / RATES_FILE


def measured(identity: str, path: Path | None = None) -> Rates | None:
    """The rates this model last reached here, or None (never measured, or unreadable)."""
    try:
        doc = json.loads((path or rates_path()).read_text(encoding="utf-8"))
        entry = doc[identity]
        prefill, decode, when = float(entry["prefill"]), float(entry["decode"]), entry["when"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if prefill <= 0 or decode <= 0:
        return None
    day = time.strftime("%Y-%m-%d", time.localtime(float(when)))
    return Rates(prefill, decode, f"measured with this model on {day}")


def record(identity: str, stats: Stats, path: Path | None = None) -> None:
    """Keep a finished review's rates for the next estimate; a prefill mostly served from
    cache (or a very short one) says nothing about the rate, so it is not kept. Best effort:
    an unwritable cache only loses the estimate's precision."""
    evaluated = stats.prompt_tokens - stats.cached_tokens
    if evaluated < 256 or stats.output_tokens < 16 or stats.prefill_s <= 0 or stats.decode_s <= 0:
        return
    from repoctx.atomic import write_text_atomic

    target = path or rates_path()
    try:
        doc = json.loads(target.read_text(encoding="utf-8"))
        if not isinstance(doc, dict):
            doc = {}
    except (OSError, ValueError):
        doc = {}
    doc[identity] = {"prefill": round(stats.prefill_tokens_per_s, 2),
                     "decode": round(stats.decode_tokens_per_s, 2), "when": time.time()}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, json.dumps(doc, indent=1, sort_keys=True) + "\n")
    except OSError:
        pass


def planned(model_bytes: int | None, on_gpu: bool) -> Rates:
    """Rates from the model's size and the device, when nothing was measured."""
    if on_gpu:
        return Rates(*GPU_RATES, "planned from an H100 with Qwen 3.5 27B; not yet measured here")
    size = max(model_bytes or 16e9, 1e8)
    return Rates(CPU_RATE_BYTES[0] / size, CPU_RATE_BYTES[1] / size,
                 "planned for this model's size on a CPU; not yet measured here")
