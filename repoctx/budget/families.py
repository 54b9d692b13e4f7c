"""Architecture families: how llama.cpp builds each one's memory, as data.

One row per ``general.architecture``: which memory class llama_model::create_memory builds
(plain llama_kv_cache, llama_kv_cache_iswa, llama_memory_hybrid, llama_memory_recurrent), the
rule its load_arch_hparams uses to mark recurrent layers, and its sliding-window defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Memory = Literal["kv", "kv_iswa", "hybrid", "recurrent"]
RecrRule = Literal["interval", "kv_zero", "nemotron", "all", "none"]


@dataclass(frozen=True)
class Family:
    """How llama.cpp builds memory for an architecture (llama_model::create_memory)."""

    memory: Memory
    recr: RecrRule = "none"
    swa_pattern: int = 0  # default of load_swa_pattern(ml, n) for iswa families
    swa_default: int = 0  # default n_swa when the key is absent (0: no window unless given)


FAMILIES: dict[str, Family] = {
    # hybrids: Gated DeltaNet / Mamba layers + attention (llama_memory_hybrid)
    "qwen35": Family("hybrid", "interval"),
    "qwen35moe": Family("hybrid", "interval"),
    "qwen3next": Family("hybrid", "interval"),
    "jamba": Family("hybrid", "kv_zero"),
    "granitehybrid": Family("hybrid", "kv_zero"),
    "lfm2": Family("hybrid", "kv_zero"),
    "lfm2moe": Family("hybrid", "kv_zero"),
    "nemotron_h": Family("hybrid", "nemotron"),
    "nemotron_h_moe": Family("hybrid", "nemotron"),
    "falcon-h1": Family("hybrid", "all"),
    # pure recurrent (llm_arch_is_recurrent → llama_memory_recurrent)
    "mamba": Family("recurrent", "all"),
    "mamba2": Family("recurrent", "all"),
    "rwkv6": Family("recurrent", "all"),
    "rwkv6qwen2": Family("recurrent", "all"),
    "rwkv7": Family("recurrent", "all"),
    "arwkv7": Family("recurrent", "all"),
    # sliding-window mixes (llama_kv_cache_iswa)
    "gemma2": Family("kv_iswa", swa_pattern=2, swa_default=4096),
    "gemma3": Family("kv_iswa", swa_pattern=6),
    "cohere2": Family("kv_iswa", swa_pattern=4),
    "gpt-oss": Family("kv_iswa", swa_pattern=2),
}
# Plain attention (llama_kv_cache over every layer): known, so no "assumed" note.
PLAIN = frozenset({
    "llama", "qwen2", "qwen2moe", "qwen2vl", "qwen3", "qwen3moe", "qwen3vl", "qwen3vlmoe",
    "mistral3", "gemma", "phi3", "phimoe", "starcoder2", "granite", "granitemoe", "olmo2",
    "olmoe", "deci", "internlm2", "command-r", "smollm3", "glm4", "glm4moe", "ernie4_5",
    "ernie4_5-moe", "seed_oss", "apertus", "arcee", "exaone", "hunyuan-dense", "hunyuan-moe",
    "dots1", "falcon", "stablelm", "starcoder", "bailingmoe", "bailingmoe2",
})  # fmt: skip
