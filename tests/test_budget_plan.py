"""The plan for the real Qwen 3.5 27B shape against DESIGN.md §3, and the device logic.

The 27B model is the sparse full-length header from ggufgen (exact tensor layout, Q4_K_M
types per llama-quant.cpp: 15.39 GiB of tensors, the released file is 15.41 GiB).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import ggufgen
import pytest
from gguf import GGMLQuantizationType as QT

from repoctx.budget import (
    DeviceInfo,
    GpuDevice,
    detect,
    from_vram,
    memory,
    plan,
    read_model_meta,
    what_if,
)
from repoctx.budget.arch import ModelMeta
from repoctx.budget.weights import layer_devices, split_weights
from repoctx.errors import InputError
from repoctx.units import parse_size

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@pytest.fixture(scope="module")
def m27() -> ModelMeta:
    return read_model_meta(ggufgen.write_27b_header())


def _kv(m: ModelMeta, n_ctx: int, kv: str = "f16", **kw: Any) -> int:
    cp = memory.cparams(n_ctx, **kw)
    return sum(c.total for c in memory.kv_caches(m, cp, kv))


def test_27b_layers(m27: ModelMeta) -> None:
    assert (m27.n_layer, m27.n_attn_layers, m27.n_recurrent_layers) == (64, 16, 48)
    assert m27.kv_layers() == list(range(3, 64, 4))  # layer i is attention iff (i+1) % 4 == 0
    assert m27.n_ctx_train == 262_144 and m27.n_vocab == 248_320


@pytest.mark.parametrize(
    ("kv", "per_token"), [("f16", 64 * KiB), ("q8_0", 34 * KiB), ("q4_0", 18 * KiB)]
)
def test_27b_kv_per_token(m27: ModelMeta, kv: str, per_token: int) -> None:
    assert _kv(m27, 65_536, kv) == 65_536 * per_token


def test_27b_all_attention_is_four_times(m27: ModelMeta) -> None:
    cp = memory.cparams(65_536)
    assert memory.all_attention_kv(m27, cp) == 65_536 * 256 * KiB  # what naive estimators charge


def test_27b_published_log_values(m27: ModelMeta) -> None:
    assert _kv(m27, 131_072, "q8_0") == 4352 * MiB  # llama_kv_cache: size = 4352.00 MiB
    assert memory.recurrent_state(m27, 1).total == int(149.625 * MiB)
    assert memory.recurrent_state(m27, 4).total == int(598.5 * MiB)  # 4 sequences


def test_27b_n_ctx_is_padded_to_256(m27: ModelMeta) -> None:
    assert _kv(m27, 1000) == _kv(m27, 1024) == 1024 * 64 * KiB
    assert memory.cparams(100_000, n_seq_max=3).n_ctx == 3 * 33_536


def test_27b_weights_on_gpu(m27: ModelMeta) -> None:
    w = split_weights(m27)
    assert w.host_bytes == 682 * MiB + 32 * KiB  # token_embd Q4_K: 682.03 MiB stays on the host
    assert 15.35 * GiB < m27.file_bytes < 15.45 * GiB
    assert w.gpu_bytes == w.total_bytes - w.host_bytes and not w.tied_output


def test_h100_totals_within_1_percent(m27: ModelMeta) -> None:
    h100 = what_if("h100")
    result = plan(m27, h100, n_ubatch=512)
    rows = {r.n_ctx: r for r in result.rows}
    measured = memory.measured()["h100_q4_k_m_f16_n_ubatch_512_total_mib"]
    for n_ctx, mib in measured.items():
        total = rows[int(n_ctx)].total_bytes
        assert total == pytest.approx(mib * MiB, rel=0.01), n_ctx
        assert total + memory.safety_margin_bytes(512) >= mib * MiB  # an upper bound


def test_h100_fits_everything_with_a_large_ubatch(m27: ModelMeta) -> None:
    result = plan(m27, what_if("h100"))
    assert result.max_ctx == 262_144 and result.n_ubatch == 2048
    assert all(r.fits for r in result.rows)
    assert result.rows[0].compute_bytes == 2048 * (4 * 248_320 + 40 * KiB)  # 2020 MiB


def test_rtx4090_q4_k_m_context(m27: ModelMeta) -> None:
    result = plan(m27, what_if("rtx4090"))
    # DESIGN.md §3: "≈6.5 GiB for KV … ≈104K tokens f16 or ≈196K q8_0" on a 24 GiB card.
    assert result.kv_type == "f16" and result.n_ubatch == 512
    assert 100_000 <= result.max_ctx <= 116_000 and result.max_ctx % 256 == 0
    assert result.max_ctx == 109_824  # 320 MiB margin at n_ubatch 512
    assert result.pack_budget == result.max_ctx - 512 - 4096
    assert [r.fits for r in result.rows] == [True] * 5 + [False] * 2
    q8 = plan(m27, what_if("rtx4090"), kv_type="q8_0")
    assert 190_000 <= q8.max_ctx <= 215_000
    assert any("q8_0" in w and "slower" in w for w in result.warnings)
    assert any("slower" in w for w in q8.warnings)


def test_auto_kv_proposes_q8_0_with_its_cost(m27: ModelMeta) -> None:
    result = plan(m27, what_if("rtx4090"), kv_type="auto")
    assert result.kv_type == "q8_0" and result.max_ctx > 200_000
    assert any("decodes slower" in w for w in result.warnings)
    assert plan(m27, what_if("h100"), kv_type="auto").kv_type == "f16"


def test_wanted_context(m27: ModelMeta) -> None:
    result = plan(m27, what_if("rtx4090"), ctx=32_768)
    assert result.n_ctx == 32_768 and result.n_ubatch == 2048  # room for the faster prefill
    assert result.pack_budget == 32_768 - 512 - 4096
    assert 32_768 in {r.n_ctx for r in result.rows}
    too_big = plan(m27, what_if("rtx4090"), ctx=200_000)
    assert too_big.n_ctx == too_big.max_ctx
    assert any("does not fit" in w for w in too_big.warnings)


def test_llama_params_realise_the_plan(m27: ModelMeta) -> None:
    params = plan(m27, what_if("rtx4090"), kv_type="q8_0").llama_params()
    assert params["type_k"] == params["type_v"] == 8 and params["flash_attn"] is True
    assert params["n_gpu_layers"] == -1 and params["n_ubatch"] <= params["n_batch"]


def test_model_that_does_not_fit(m27: ModelMeta) -> None:
    result = plan(m27, what_if("rtx4070"))
    assert result.max_ctx == 0 and result.pack_budget == 0
    assert any("does not fit" in w for w in result.warnings)


def test_mtp_block_is_neither_loaded_nor_cached() -> None:
    with_mtp = read_model_meta(ggufgen.write_27b_header(mtp=True))
    plain = read_model_meta(ggufgen.write_27b_header())
    assert with_mtp.n_nextn == 1 and with_mtp.n_layer == 64
    assert split_weights(with_mtp).gpu_bytes == split_weights(plain).gpu_bytes
    assert split_weights(with_mtp).skipped_bytes > 200 * MiB  # one attention + FFN block
    assert _kv(with_mtp, 8192) == _kv(plain, 8192)


# --------------------------------------------------------------------------- devices


def test_layer_split_follows_free_memory() -> None:
    assert layer_devices(64, [10, 10]) == [0] * 33 + [1] * 32
    uneven = layer_devices(64, [30 * GiB, 10 * GiB])
    assert uneven.count(0) == 49 and uneven[-1] == 1  # 0.75 of 65 layers; output on the last


def test_two_gpus_hold_more_context(m27: ModelMeta) -> None:
    card = what_if("rtx4090").devices[0]
    two = DeviceInfo("what-if", (card, card))
    result = plan(m27, two)
    assert result.max_ctx > plan(m27, DeviceInfo("what-if", (card,))).max_ctx
    assert result.device.name == "2× NVIDIA GeForce RTX 4090"
    row = result.rows[0]
    assert len(row.device_totals) == 2 and sum(row.device_totals) == row.total_bytes


def test_vram_and_sizes() -> None:
    assert from_vram("24GiB").free_bytes == 24 * GiB
    assert parse_size("24GB") == 24_000_000_000
    assert parse_size("16000MiB") == 16_000 * MiB
    assert parse_size("24G") == 24 * GiB
    with pytest.raises(InputError):
        parse_size("lots")


@pytest.mark.parametrize("name", ["rtx4090", "RTX 4090", "4090", "NVIDIA GeForce RTX 4090"])
def test_what_if_names(name: str) -> None:
    assert what_if(name).devices[0].name == "NVIDIA GeForce RTX 4090"


def test_unknown_card() -> None:
    with pytest.raises(InputError, match="unknown GPU"):
        what_if("voodoo2")


class _FakeNvml(types.ModuleType):
    def __init__(self, fail: str | None = None, n: int = 2) -> None:
        super().__init__("pynvml")
        self.fail, self.n = fail, n

    def nvmlInit(self) -> None:
        if self.fail == "init":
            raise RuntimeError("NVML Shared Library Not Found")

    def nvmlShutdown(self) -> None:
        pass

    def nvmlDeviceGetCount(self) -> int:
        if self.fail == "count":
            raise RuntimeError("Unknown Error")
        return self.n

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetName(self, h: int) -> bytes:
        return b"NVIDIA H100 80GB HBM3"

    def nvmlDeviceGetUUID(self, h: int) -> str:
        return f"GPU-{h}aaa"

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
        return types.SimpleNamespace(total=81_559 * MiB, free=(81_079 - h) * MiB)


def test_nvml_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", _FakeNvml())
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    info = detect()
    assert info.source == "nvml" and len(info.devices) == 2
    assert info.devices[1].free_bytes == 81_078 * MiB
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert [d.free_bytes for d in detect().devices] == [81_078 * MiB]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-0")
    assert [d.free_bytes for d in detect().devices] == [81_079 * MiB]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    hidden = detect()
    assert hidden.source == "system-ram" and "CUDA_VISIBLE_DEVICES" in hidden.warnings[0]


@pytest.mark.parametrize("fail", ["init", "count", "missing"])
def test_nvml_failure_falls_back_to_system_ram(monkeypatch: pytest.MonkeyPatch, fail: str) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None if fail == "missing" else _FakeNvml(fail))
    info = detect()
    assert info.source == "system-ram" and not info.is_gpu
    assert info.warnings and "system RAM" in info.warnings[0]
    assert info.devices[0].total_bytes > 0


def test_system_ram_plan_keeps_everything_in_ram(m27: ModelMeta) -> None:
    ram = DeviceInfo("system-ram", (GpuDevice("system RAM", 64 * GiB, 48 * GiB, "cpu"),))
    row = plan(m27, ram).rows[0]
    assert row.weights_bytes == split_weights(m27).total_bytes and row.overhead_bytes == 0


# --------------------------------------------------------------------------- other families


def _meta(
    tmp_path: Path,
    arch: str,
    kv: dict[str, Any],
    tensors: list[tuple[str, tuple[int, ...], QT]] | None = None,
) -> ModelMeta:
    base = {
        "{arch}.block_count": 8,
        "{arch}.embedding_length": 256,
        "{arch}.context_length": 8192,
        "{arch}.attention.head_count": 4,
    }
    tensors = tensors or [("token_embd.weight", (256, 1000), QT.F16)]
    path = ggufgen.write_metadata_only(tmp_path / f"{arch}.gguf", arch, base | kv, tensors)
    return read_model_meta(path)


def test_ollama_style_qwen35_head_count_kv_zeros(tmp_path: Path) -> None:
    hkv = [0, 0, 0, 2] * 2
    m = _meta(
        tmp_path,
        "qwen35",
        {
            "{arch}.attention.head_count_kv": hkv,
            "{arch}.ssm.conv_kernel": 4,
            "{arch}.ssm.inner_size": 64,
            "{arch}.ssm.state_size": 16,
            "{arch}.ssm.group_count": 2,
        },
    )
    # llama.cpp's qwen35 uses full_attention_interval (default 4); the zeros agree with it
    assert m.kv_layers() == [3, 7] and m.n_recurrent_layers == 6
    assert _kv(m, 1024) == 2 * 1024 * 2 * (2 * 64) * 2


def test_jamba_recurrent_layers_from_zero_kv_heads(tmp_path: Path) -> None:
    m = _meta(
        tmp_path,
        "jamba",
        {
            "{arch}.attention.head_count_kv": [0, 0, 0, 0, 1, 0, 0, 0],
            "{arch}.ssm.conv_kernel": 4,
            "{arch}.ssm.inner_size": 512,
            "{arch}.ssm.state_size": 16,
            "{arch}.ssm.time_step_rank": 16,
        },
    )
    assert m.kv_layers() == [4] and m.n_recurrent_layers == 7
    assert m.n_embd_r == 3 * 512 and m.n_embd_s == 16 * 512  # Mamba-1: no groups


def test_rwkv_state(tmp_path: Path) -> None:
    m = _meta(tmp_path, "rwkv7", {"{arch}.wkv.head_size": 64})
    assert m.memory == "recurrent" and m.kv_layers() == []
    assert (m.n_embd_r, m.n_embd_s) == (2 * 256, 256 * 64)  # token shift 2, one WKV matrix
    assert memory.recurrent_state(m, 2).total == 8 * 2 * (2 * 256 + 256 * 64) * 4


def test_gemma2_default_window(tmp_path: Path) -> None:
    m = _meta(
        tmp_path,
        "gemma2",
        {
            "{arch}.attention.head_count_kv": 2,
            "{arch}.attention.key_length": 64,
            "{arch}.attention.value_length": 64,
        },
    )
    assert m.n_swa == 4096 and m.is_swa == (True, False) * 4  # every other layer is local
    cp = memory.cparams(8192)
    base, swa = memory.kv_caches(m, cp)
    assert (base.cells, swa.cells) == (8192, 4096 + 512) and (base.layers, swa.layers) == (4, 4)


def test_unknown_architecture_says_what_it_assumed(tmp_path: Path) -> None:
    m = _meta(tmp_path, "frobnicator", {"{arch}.attention.head_count_kv": 2})
    assert m.assumptions and "unknown architecture 'frobnicator'" in m.assumptions[0]
    assert "full attention" in m.assumptions[-1] and m.n_attn_layers == 8
    result = plan(m, from_vram("8GiB"))
    assert any("frobnicator" in w for w in result.warnings)


def test_moe_experts_are_all_resident(tmp_path: Path) -> None:
    experts = [(f"blk.{i}.ffn_up_exps.weight", (256, 512, 64), QT.Q4_K) for i in range(8)]
    m = _meta(
        tmp_path,
        "qwen3moe",
        {"{arch}.expert_count": 64, "{arch}.expert_used_count": 8},
        [("token_embd.weight", (256, 1000), QT.F16), *experts],
    )
    w = split_weights(m)
    assert sum(w.layer_bytes) == 8 * 256 * 512 * 64 * 144 // 256  # all 64 experts, every layer
    # no output.weight: llama.cpp duplicates token_embd onto the output device (tied)
    assert w.tied_output and w.output_bytes == w.host_bytes == 256 * 1000 * 2


def test_h100_validation_run(m27: ModelMeta) -> None:
    """Our own H100 run (bench/gpu/budget_vs_nvml.py): plan vs NVML, f16 and q8_0 KV."""
    margin = memory.safety_margin_bytes(512)
    for n_ctx, kv, _, nvml_mib, _ in memory.measured()["validation_h100_2026_11_27"]["rows"]:
        result = plan(m27, what_if("h100"), kv_type=kv, ctx=n_ctx, n_ubatch=512)
        total = next(r for r in result.rows if r.n_ctx == n_ctx).total_bytes
        assert total == pytest.approx(nvml_mib * MiB, rel=0.011), (n_ctx, kv)
        assert total + margin >= nvml_mib * MiB


def test_h200_validation_run_at_the_planners_ubatch(m27: ModelMeta) -> None:
    """Our H200 run at n_ubatch 2048: within 2 % of NVML, and an upper bound with the margin."""
    margin = memory.safety_margin_bytes(2048)
    h200 = DeviceInfo("what-if", (GpuDevice("NVIDIA H200", 143_771 * MiB, 143_155 * MiB, "gpu"),))
    for n_ctx, kv, _, nvml_mib, _, _ in memory.measured()["validation_h200_2026_11_27"]["rows"]:
        result = plan(m27, h200, kv_type=kv, ctx=n_ctx, n_ubatch=2048)
        total = next(r for r in result.rows if r.n_ctx == n_ctx).total_bytes
        assert total == pytest.approx(nvml_mib * MiB, rel=0.02), (n_ctx, kv)
        assert total + margin >= nvml_mib * MiB, (n_ctx, kv)


def test_two_h200_layer_split_per_device(m27: ModelMeta) -> None:
    """bench/gpu/split_vs_nvml.py on two H200s, 128K f16: NVML used per device after an 8K
    prefill. llama.cpp's pipeline reserves far more compute than one GPU's share."""
    card = GpuDevice("NVIDIA H200", 143_771 * MiB, 150_109_880_320, "gpu")
    result = plan(m27, DeviceInfo("nvml", (card, card)), ctx=131_072)
    row = next(r for r in result.rows if r.n_ctx == 131_072)
    measured = (15_484_125_184, 17_681_940_480)
    for predicted, used in zip(row.device_totals, measured, strict=True):
        assert predicted == pytest.approx(used, rel=0.02)
        assert predicted + memory.safety_margin_bytes(result.n_ubatch) >= used
