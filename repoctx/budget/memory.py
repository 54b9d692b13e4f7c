"""Bytes llama.cpp allocates for a model at a given context: the formulas, with their sources.

Exact terms (tested against llama.cpp's own allocation log lines):
- context sizes: llama_context::llama_context pads n_ctx to 256 and splits it per sequence;
- attention KV: llama_kv_cache::llama_kv_cache, one K and one V tensor per KV layer of
  ``n_embd_{k,v}_gqa(il) × kv_size × n_stream`` elements of the cache type;
- sliding-window KV: llama_kv_cache_iswa::llama_kv_cache_iswa sizes the SWA cache
  ``GGML_PAD(min(kv_size, n_swa·(unified ? n_seq_max : 1) + n_ubatch), 256)``;
- recurrent state: llama_memory_recurrent::llama_memory_recurrent, f32 R and S rows of
  ``n_embd_r()`` / ``n_embd_s()`` per recurrent layer, ``max(1, n_seq_max)·(1 + n_rs_seq)`` rows.
Measured terms (``measured.json``, an H100 with flash attention): the compute buffer that
llama_context::sched_reserve reserves, and the CUDA context/pool overhead.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from repoctx.budget.arch import ModelMeta
from repoctx.errors import InputError
from repoctx.types import KV_CACHE_TYPES

KV_PAD = 256  # GGML_PAD(n_ctx, 256) in llama_context's constructor

# ggml type traits (ggml.c type_traits): (elements per block, bytes per block)
_TRAITS: dict[str, tuple[int, int]] = {
    "f32": (1, 4), "f16": (1, 2), "q8_0": (32, 34), "q4_0": (32, 18),
    "q4_1": (32, 20), "q5_0": (32, 22), "q5_1": (32, 24), "iq4_nl": (32, 18),
}  # fmt: skip
KV_TYPES: dict[str, tuple[int, int]] = {t: _TRAITS[t] for t in KV_CACHE_TYPES}


@functools.cache
def measured() -> dict[str, Any]:
    """The table of measured constants (see its ``source`` entries)."""
    text = files("repoctx.budget").joinpath("measured.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def pad(n: int, to: int = KV_PAD) -> int:
    return (n + to - 1) // to * to


def row_bytes(kv_type: str, n: int) -> int:
    """ggml_row_size: bytes of ``n`` elements of a (possibly block-quantised) type."""
    if kv_type not in KV_TYPES:
        raise InputError(f"unknown KV cache type {kv_type!r} (use one of {', '.join(KV_TYPES)})")
    block, size = KV_TYPES[kv_type]
    if n % block:
        raise InputError(f"KV cache type {kv_type} needs rows in blocks of {block}, not {n}")
    return n // block * size


@dataclass(frozen=True)
class Cparams:
    """The context parameters llama_context::llama_context derives from the request."""

    n_ctx: int  # padded, a multiple of n_seq_max·256 when not unified
    n_ctx_seq: int  # KV cells per stream
    n_seq_max: int
    n_stream: int
    n_ubatch: int
    unified: bool


def cparams(
    n_ctx: int,
    *,
    n_seq_max: int = 1,
    n_batch: int = 2048,
    n_ubatch: int = 512,
    unified: bool = False,
) -> Cparams:
    """Mirror llama_context::llama_context: batch clamps, n_ctx padding, per-sequence split."""
    n_seq_max = max(1, n_seq_max)
    batch = min(n_ctx, n_batch)  # causal attention: n_batch ≤ n_ctx (before padding)
    ubatch = min(batch, n_ubatch or batch)
    ctx = pad(n_ctx)
    if unified:
        return Cparams(ctx, ctx, n_seq_max, 1, ubatch, True)
    per_seq = pad(ctx // n_seq_max)
    if per_seq == 0:
        raise InputError(f"n_ctx {n_ctx} is too small for {n_seq_max} sequences")
    return Cparams(per_seq * n_seq_max, per_seq, n_seq_max, n_seq_max, ubatch, False)


@dataclass(frozen=True)
class CacheSize:
    """One KV cache as llama_kv_cache logs it: cells, layers, streams, K and V bytes."""

    cells: int
    layers: int
    n_stream: int
    k_bytes: int
    v_bytes: int
    per_layer: tuple[tuple[int, int], ...] = ()  # (layer, bytes)

    @property
    def total(self) -> int:
        return self.k_bytes + self.v_bytes


def _kv_cache(
    m: ModelMeta,
    layers: list[int],
    cells: int,
    n_stream: int,
    type_k: str,
    type_v: str,
    v_trans: bool,
) -> CacheSize:
    # llama_kv_cache ctor: k = [n_embd_k_gqa(il), kv_size, n_stream], v likewise; without
    # flash attention V is transposed and padded to n_embd_v_gqa_max() [TAG_V_CACHE_VARIABLE].
    v_max = max((_v_width(m, il) for il in range(m.n_layer_all)), default=0)
    per_layer, k_total, v_total = [], 0, 0
    for il in layers:
        k = row_bytes(type_k, _k_width(m, il)) * cells * n_stream
        v = row_bytes(type_v, v_max if v_trans else _v_width(m, il)) * cells * n_stream
        per_layer.append((il, k + v))
        k_total += k
        v_total += v
    return CacheSize(cells, len(layers), n_stream, k_total, v_total, tuple(per_layer))


def _k_width(m: ModelMeta, il: int) -> int:
    """llama_hparams::n_embd_k_gqa(il) = n_embd_head_k(il) · n_head_kv(il)."""
    return (m.head_k_swa if m.is_swa[il] else m.head_k) * m.n_head_kv[il]


def _v_width(m: ModelMeta, il: int) -> int:
    return (m.head_v_swa if m.is_swa[il] else m.head_v) * m.n_head_kv[il]


def kv_caches(
    m: ModelMeta,
    cp: Cparams,
    type_k: str = "f16",
    type_v: str | None = None,
    *,
    flash_attn: bool = True,
    swa_full: bool = False,
) -> list[CacheSize]:
    """The attention KV caches of the main context: one, or base + SWA for iswa models."""
    type_v = type_v or type_k
    layers = m.kv_layers()
    if not layers:
        return []
    if m.memory != "kv_iswa":
        return [_kv_cache(m, layers, cp.n_ctx_seq, cp.n_stream, type_k, type_v, not flash_attn)]
    base = [il for il in layers if not m.is_swa[il]]
    swa = [il for il in layers if m.is_swa[il]]
    size_swa = (
        cp.n_ctx_seq
        if swa_full
        else pad(min(cp.n_ctx_seq, m.n_swa * (cp.n_seq_max if cp.unified else 1) + cp.n_ubatch))
    )
    return [
        _kv_cache(m, base, cp.n_ctx_seq, cp.n_stream, type_k, type_v, not flash_attn),
        _kv_cache(m, swa, size_swa, cp.n_stream, type_k, type_v, not flash_attn),
    ]


@dataclass(frozen=True)
class StateSize:
    """Recurrent state as llama_memory_recurrent logs it (f32 R and S tensors)."""

    cells: int
    layers: int
    r_bytes: int
    s_bytes: int
    per_layer: tuple[tuple[int, int], ...] = ()

    @property
    def total(self) -> int:
        return self.r_bytes + self.s_bytes


def recurrent_state(m: ModelMeta, n_seq_max: int = 1, n_rs_seq: int = 0) -> StateSize:
    """llama_memory_recurrent: mem_size = max(1, n_seq_max) cells × (1 + n_rs_seq) rows each."""
    layers = m.recurrent_layers()
    cells = max(1, n_seq_max)
    rows = cells * (1 + n_rs_seq)
    r = m.n_embd_r * rows * 4
    s = m.n_embd_s * rows * 4
    return StateSize(
        cells, len(layers), r * len(layers), s * len(layers), tuple((il, r + s) for il in layers)
    )


def all_attention_kv(m: ModelMeta, cp: Cparams, type_k: str = "f16") -> int:
    """KV if every trunk layer were full attention with the attention layers' shape.

    What naive estimators charge a hybrid (and what a dense model of the same shape needs).
    """
    attn = m.kv_layers()
    n_head_kv = max((m.n_head_kv[il] for il in attn), default=max(m.n_head_kv, default=0))
    per_token = row_bytes(type_k, m.head_k * n_head_kv) + row_bytes(type_k, m.head_v * n_head_kv)
    return m.n_layer * per_token * cp.n_ctx_seq * cp.n_stream


def compute_bytes(m: ModelMeta, n_ubatch: int) -> int:
    """Compute buffer reserved by llama_context::sched_reserve, measured on an H100 with FA.

    ≈ n_ubatch × (4·n_vocab + 8·n_embd): the worst-case f32 logits of a full ubatch plus
    activations (measured 40 KiB per token at n_embd 5120; 505 MiB at n_ubatch 512 for
    Qwen 3.5 27B). Extrapolated by n_embd for other shapes.
    """
    c = measured()["compute"]
    per_token = c["logits_bytes_per_vocab"] * m.n_vocab + c["activation_bytes_per_embd"] * m.n_embd
    return int(n_ubatch * per_token)


def safety_margin_bytes(n_ubatch: int) -> int:
    """Headroom on top of the planned total: ggml-alloc's compute reservation varies by up to
    ~450 MiB between context sizes at n_ubatch 2048 (measured, not predictable in closed
    form), so the margin grows with the ubatch that drives it."""
    m = measured()["safety_margin"]
    return int(m["base_bytes"] + n_ubatch * m["per_ubatch_token_bytes"])


def pipeline_compute_factors() -> tuple[float, float]:
    """(other devices, output device): compute buffer of a layer split over several GPUs,
    relative to one GPU's. llama.cpp runs such a split as a pipeline with several graph
    copies, so each device reserves far more than its share (measured on two H200s)."""
    p = measured()["pipeline_parallel"]
    return float(p["other_devices_factor"]), float(p["output_device_factor"])


def gpu_overhead_bytes() -> int:
    """CUDA context, cuBLAS workspace and pools per GPU after the first prefill (measured)."""
    return int(measured()["cuda_overhead_bytes"])
