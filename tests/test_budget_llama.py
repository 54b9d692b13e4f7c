"""The planner's KV-cache and recurrent-state bytes equal what llama.cpp allocates.

Each tiny GGUF (tests/ggufgen.py) is loaded by llama-cpp-python 0.3.36 on the CPU; contexts
are created at several n_ctx / n_seq_max / KV types through the C API, and llama.cpp's own
allocation lines, captured with ``llama_log_set``, are compared with the planner:
  llama_kv_cache: size = X MiB (N cells, L layers, s/S seqs), K (t): a MiB, V (t): b MiB
  llama_memory_recurrent: size = X MiB (N cells, L layers, s seqs r rs_seq), R (f32): …, S …
Cells, layers and streams must be equal; sizes must print identically (llama.cpp prints
``(float)bytes / MiB`` with two decimals, so the planner's bytes are formatted the same way).
The qwen35 model used for the hybrid checks has the real Qwen 3.5 27B per-layer shapes
(24 heads, 4 KV heads of 256; DeltaNet 16 key heads, 48 value heads, state 128, conv 4) on a
64-wide residual stream, so every per-layer term is the 27B one.
"""

from __future__ import annotations

import ctypes
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ggufgen
import llama_cpp
import pytest
from ggufgen import AttnDims, SsmDims

from repoctx.budget import memory, read_model_meta
from repoctx.budget.arch import ModelMeta

REAL_ATTN = AttnDims(n_embd=64, n_head=24, n_head_kv=4, head_dim=256, n_ff=128)
REAL_SSM = SsmDims(d_conv=4, d_state=128, n_group=16, dt_rank=48)
GGML = {"f16": 1, "q8_0": 8, "q4_0": 2, "f32": 0}

KV_RE = re.compile(
    r"llama_kv_cache: size = +([\d.]+) MiB \( *(\d+) cells, +(\d+) layers, +(\d+)/(\d+) seqs\),"
    r" K \((\w+)\): +([\d.]+) MiB, V \((\w+)\): +([\d.]+) MiB"
)
RS_RE = re.compile(
    r"llama_memory_recurrent: size = +([\d.]+) MiB \( *(\d+) cells, +(\d+) layers, +(\d+) seqs"
    r" +(\d+) rs_seq\), R \(f32\): +([\d.]+) MiB, S \(f32\): +([\d.]+) MiB"
)
COMPUTE_RE = re.compile(r"sched_reserve: +CPU compute buffer size = +([\d.]+) MiB")


def mib(n: int) -> str:
    """How llama.cpp prints a size: ``(float)bytes / (1024.0f*1024.0f)`` with %.2f."""
    f32 = struct.unpack("f", struct.pack("f", float(n)))[0]
    return f"{f32 / 1048576.0:.2f}"


@dataclass
class Allocation:
    kv: list[tuple[str, ...]]
    rs: list[tuple[str, ...]]
    compute_mib: float | None
    n_ctx: int
    n_ctx_seq: int


class Engine:
    """One model loaded through the C API; contexts are created and freed on demand."""

    def __init__(self, path: Path, lines: list[str]) -> None:
        self.lines = lines
        params = llama_cpp.llama_model_default_params()
        params.n_gpu_layers = 0
        self.model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        assert self.model, f"llama.cpp could not load {path}"

    def allocate(
        self,
        n_ctx: int,
        *,
        kv: str = "f16",
        n_seq_max: int = 1,
        n_ubatch: int = 512,
        n_rs_seq: int = 0,
        swa_full: bool = False,
        unified: bool = False,
        flash_attn: bool = True,
    ) -> Allocation:
        p = llama_cpp.llama_context_default_params()
        p.n_ctx, p.n_batch, p.n_ubatch = n_ctx, 2048, n_ubatch
        p.n_seq_max, p.n_rs_seq, p.swa_full, p.kv_unified = n_seq_max, n_rs_seq, swa_full, unified
        p.type_k = p.type_v = GGML[kv]
        p.flash_attn_type = 1 if flash_attn else 0
        p.n_threads = p.n_threads_batch = 2
        self.lines.clear()
        ctx = llama_cpp.llama_init_from_model(self.model, p)
        assert ctx, "llama.cpp could not create the context"
        try:
            text = "".join(self.lines)
            compute = COMPUTE_RE.search(text)
            return Allocation(
                [m.groups() for m in KV_RE.finditer(text)],
                [m.groups() for m in RS_RE.finditer(text)],
                float(compute.group(1)) if compute else None,
                llama_cpp.llama_n_ctx(ctx),
                llama_cpp.llama_n_ctx_seq(ctx),
            )
        finally:
            llama_cpp.llama_free(ctx)

    def close(self) -> None:
        llama_cpp.llama_model_free(self.model)


@pytest.fixture(scope="module")
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []

    @llama_cpp.llama_log_callback  # type: ignore[misc]
    def capture(level: int, text: bytes, user_data: Any) -> None:
        lines.append(text.decode("utf-8", errors="replace"))

    llama_cpp.llama_log_set(capture, ctypes.c_void_p(0))
    yield lines
    from llama_cpp import _logger  # restore llama-cpp-python's own logger

    llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))


def _engine(path: Path, lines: list[str]) -> Iterator[tuple[Engine, ModelMeta]]:
    engine = Engine(path, lines)
    yield engine, read_model_meta(path)
    engine.close()


@pytest.fixture(scope="module")
def hybrid(log_lines: list[str]) -> Iterator[tuple[Engine, ModelMeta]]:
    path = ggufgen.cached_qwen35_hybrid(n_layer=8, attn=REAL_ATTN, ssm=REAL_SSM)
    yield from _engine(path, log_lines)


@pytest.fixture(scope="module")
def plain(log_lines: list[str]) -> Iterator[tuple[Engine, ModelMeta]]:
    yield from _engine(ggufgen.cached_plain(n_layer=3, attn=REAL_ATTN), log_lines)


@pytest.fixture(scope="module")
def gemma3(log_lines: list[str]) -> Iterator[tuple[Engine, ModelMeta]]:
    yield from _engine(ggufgen.cached_gemma3_swa(n_layer=7, sliding_window=300), log_lines)


def _expect_kv(
    caches: list[memory.CacheSize], cp: memory.Cparams, kv: str
) -> list[tuple[str, ...]]:
    return [
        (mib(c.total), str(c.cells), str(c.layers), str(cp.n_seq_max), str(c.n_stream),
         kv, mib(c.k_bytes), kv, mib(c.v_bytes))
        for c in caches
    ]  # fmt: skip


def _check(engine: Engine, meta: ModelMeta, n_ctx: int, **kw: Any) -> Allocation:
    got = engine.allocate(n_ctx, **kw)
    kv = kw.get("kv", "f16")
    cp = memory.cparams(
        n_ctx,
        n_seq_max=kw.get("n_seq_max", 1),
        n_ubatch=kw.get("n_ubatch", 512),
        unified=kw.get("unified", False),
    )
    assert (got.n_ctx, got.n_ctx_seq) == (cp.n_ctx, cp.n_ctx_seq)
    caches = memory.kv_caches(
        meta, cp, kv, swa_full=kw.get("swa_full", False), flash_attn=kw.get("flash_attn", True)
    )
    assert got.kv == _expect_kv(caches, cp, kv)
    if meta.recurrent_layers():
        st = memory.recurrent_state(meta, cp.n_seq_max, kw.get("n_rs_seq", 0))
        assert got.rs == [
            (
                mib(st.total),
                str(st.cells),
                str(meta.n_layer),
                str(cp.n_seq_max),
                str(kw.get("n_rs_seq", 0)),
                mib(st.r_bytes),
                mib(st.s_bytes),
            )
        ]
    else:
        assert got.rs == []
    return got


@pytest.mark.parametrize("n_ctx", [256, 1000, 4096, 8192, 33_000])
@pytest.mark.parametrize("kv", ["f16", "q8_0", "q4_0"])
def test_hybrid_kv_and_state_equal_llama_cpp(
    hybrid: tuple[Engine, ModelMeta], n_ctx: int, kv: str
) -> None:
    engine, meta = hybrid
    assert (meta.n_attn_layers, meta.n_recurrent_layers) == (2, 6)
    _check(engine, meta, n_ctx, kv=kv)


@pytest.mark.parametrize(("n_ctx", "n_seq_max"), [(4096, 2), (5000, 4), (8192, 3), (1024, 8)])
def test_hybrid_sequences(hybrid: tuple[Engine, ModelMeta], n_ctx: int, n_seq_max: int) -> None:
    engine, meta = hybrid
    _check(engine, meta, n_ctx, n_seq_max=n_seq_max)
    _check(engine, meta, n_ctx, n_seq_max=n_seq_max, unified=True)


@pytest.mark.parametrize("n_rs_seq", [1, 4])
def test_hybrid_rollback_rows(hybrid: tuple[Engine, ModelMeta], n_rs_seq: int) -> None:
    engine, meta = hybrid
    _check(engine, meta, 2048, n_seq_max=2, n_rs_seq=n_rs_seq)


def test_hybrid_state_is_the_27b_per_layer_state(hybrid: tuple[Engine, ModelMeta]) -> None:
    _, meta = hybrid
    per_layer = memory.recurrent_state(meta).total // meta.n_recurrent_layers
    assert per_layer * 48 == int(149.625 * 2**20)  # DESIGN.md §3, 48 DeltaNet layers


@pytest.mark.parametrize("n_ctx", [512, 3000, 16384])
@pytest.mark.parametrize("kv", ["f16", "q8_0"])
def test_plain_attention_equals_llama_cpp(
    plain: tuple[Engine, ModelMeta], n_ctx: int, kv: str
) -> None:
    engine, meta = plain
    _check(engine, meta, n_ctx, kv=kv)
    _check(engine, meta, n_ctx, kv=kv, n_seq_max=2)


def test_plain_without_flash_attention_transposes_v(plain: tuple[Engine, ModelMeta]) -> None:
    engine, meta = plain
    _check(engine, meta, 4096, flash_attn=False)


@pytest.mark.parametrize(
    ("n_ctx", "n_ubatch"), [(512, 512), (2048, 512), (8192, 512), (8192, 128), (20_000, 1024)]
)
def test_gemma3_sliding_window_equals_llama_cpp(
    gemma3: tuple[Engine, ModelMeta], n_ctx: int, n_ubatch: int
) -> None:
    engine, meta = gemma3
    assert meta.memory == "kv_iswa" and meta.n_swa == 300
    assert sum(meta.is_swa) == 6  # layers 0-4 and 6 local, layer 5 global (pattern 6)
    got = _check(engine, meta, n_ctx, n_ubatch=n_ubatch)
    assert len(got.kv) == 2
    _check(engine, meta, n_ctx, n_ubatch=n_ubatch, n_seq_max=2)
    _check(engine, meta, n_ctx, n_ubatch=n_ubatch, swa_full=True)


def test_mtp_block_has_no_cache_in_the_main_context(log_lines: list[str]) -> None:
    path = ggufgen.cached_qwen35_hybrid(nextn_layers=1, attn=REAL_ATTN, ssm=REAL_SSM)
    for engine, meta in _engine(path, log_lines):
        assert (meta.n_layer_all, meta.n_layer, meta.n_attn_layers) == (5, 4, 1)
        _check(engine, meta, 4096)


def test_recurrent_layers_array(log_lines: list[str]) -> None:
    path = ggufgen.cached_qwen35_hybrid(
        recurrent_layers=[True, False, True, False, True, True],
        n_layer=6,
        attn=REAL_ATTN,
        ssm=REAL_SSM,
    )
    for engine, meta in _engine(path, log_lines):
        assert meta.kv_layers() == [1, 3]
        _check(engine, meta, 4096, n_seq_max=2)


def test_compute_term_matches_the_cpu_reserve(plain: tuple[Engine, ModelMeta]) -> None:
    # The measured (H100) compute term is worst-case logits + 8·n_embd per token; on the CPU
    # the same graph reserves the same logits: a check of the shape of the formula.
    engine, meta = plain
    for n_ubatch in (128, 512):
        got = engine.allocate(4096, n_ubatch=n_ubatch).compute_mib
        assert got is not None
        assert memory.compute_bytes(meta, n_ubatch) / 2**20 == pytest.approx(got, rel=0.01)


@pytest.mark.parametrize("n_seq_max", [1, 3])
def test_pure_recurrent_mamba2_equals_llama_cpp(log_lines: list[str], n_seq_max: int) -> None:
    path = ggufgen.cached_mamba2(
        n_layer=3, d_inner=2048, ssm=SsmDims(d_conv=4, d_state=128, n_group=8, dt_rank=32)
    )
    for engine, meta in _engine(path, log_lines):
        assert meta.memory == "recurrent" and meta.kv_layers() == []
        got = _check(engine, meta, 8192, n_seq_max=n_seq_max)
        assert got.kv == []  # no attention KV at any context


def test_llama_arch_untied_equals_llama_cpp(log_lines: list[str]) -> None:
    path = ggufgen.cached_plain(
        arch="llama", n_layer=2, tied=False, attn=AttnDims(n_head=8, n_head_kv=2, head_dim=128)
    )
    for engine, meta in _engine(path, log_lines):
        for n_ctx in (2048, 10_000):
            _check(engine, meta, n_ctx, kv="q8_0")
