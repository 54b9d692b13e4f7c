"""Bytes per device for a model on a set of devices, as a function of the context.

With every layer offloaded (llama.cpp ``n_gpu_layers = -1``), each device holds its share of
the weights by layer split (llama_model_base::load_tensors), the KV cache and recurrent state
of its layers (offload_kqv: the cache of layer il lives with layer il), a compute buffer
(llama_context::sched_reserve; the logits part with the output layer) and the runtime
overhead. A layer split over several GPUs runs as llama.cpp's pipeline, whose compute
buffers are measured multiples of one GPU's. A row fits when every device's total plus the
safety margin (growing with n_ubatch) is within its free memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from repoctx.budget import memory
from repoctx.budget.arch import ModelMeta
from repoctx.budget.gpu import DeviceInfo
from repoctx.budget.memory import KV_PAD, Cparams
from repoctx.budget.weights import layer_devices, split_weights


@dataclass(frozen=True)
class Row:
    """Memory at one context length (bytes; per-device totals for multi-GPU plans)."""

    n_ctx: int
    weights_bytes: int
    kv_bytes: int
    state_bytes: int
    compute_bytes: int
    overhead_bytes: int
    all_attention_total_bytes: int
    fits: bool
    device_totals: tuple[int, ...] = ()

    @property
    def total_bytes(self) -> int:
        return (
            self.weights_bytes
            + self.kv_bytes
            + self.state_bytes
            + self.compute_bytes
            + self.overhead_bytes
        )

    def to_json(self) -> dict[str, Any]:
        keys = (
            "n_ctx",
            "weights_bytes",
            "kv_bytes",
            "state_bytes",
            "compute_bytes",
            "overhead_bytes",
            "total_bytes",
            "all_attention_total_bytes",
            "fits",
        )
        return {k: getattr(self, k) for k in keys}


class Footprint:
    """Bytes per device for one model on one set of devices, as a function of n_ctx."""

    def __init__(self, m: ModelMeta, device: DeviceInfo, n_seq_max: int, swa_full: bool):
        self.m, self.device, self.n_seq_max, self.swa_full = m, device, n_seq_max, swa_full
        self.w = split_weights(m)
        free = [d.free_bytes for d in device.devices]
        self.dev_of = (
            layer_devices(m.n_layer_all, free) if device.is_gpu else [0] * (m.n_layer_all + 1)
        )
        self.n_dev = len(device.devices)
        self.state = memory.recurrent_state(m, n_seq_max)

    def _weights(self) -> list[int]:
        out = [0] * self.n_dev
        if not self.device.is_gpu:  # everything in system RAM, tied output not duplicated
            out[0] = self.w.total_bytes
            return out
        for il, b in enumerate(self.w.layer_bytes):
            out[self.dev_of[il]] += b
        out[self.dev_of[-1]] += self.w.output_bytes
        return out

    def row(self, n_ctx: int, kv_type: str, n_ubatch: int) -> Row:
        cp = memory.cparams(n_ctx, n_seq_max=self.n_seq_max, n_ubatch=n_ubatch)
        per = [
            self._weights(),
            [0] * self.n_dev,
            [0] * self.n_dev,
            [0] * self.n_dev,
            [0] * self.n_dev,
        ]
        for cache in memory.kv_caches(self.m, cp, kv_type, swa_full=self.swa_full):
            for il, b in cache.per_layer:
                per[1][self.dev_of[il]] += b
        for il, b in self.state.per_layer:
            per[2][self.dev_of[il]] += b
        self._compute(per[3], cp)
        if self.device.is_gpu:
            per[4] = [memory.gpu_overhead_bytes()] * self.n_dev
        totals = tuple(sum(col[i] for col in per) for i in range(self.n_dev))
        margin = memory.safety_margin_bytes(cp.n_ubatch)
        fits = all(
            t + margin <= d.free_bytes
            for t, d in zip(totals, self.device.devices, strict=True)
        )
        naive = memory.all_attention_kv(self.m, cp, kv_type)
        w, kv, st, cb, ov = (sum(col) for col in per)
        return Row(cp.n_ctx, w, kv, st, cb, ov, w + naive + cb + ov, fits, totals)

    def _compute(self, out: list[int], cp: Cparams) -> None:
        single = memory.compute_bytes(self.m, cp.n_ubatch)
        used = sorted(set(self.dev_of))
        if self.device.is_gpu and len(used) > 1:  # a pipeline: measured per-device factors
            others, output = memory.pipeline_compute_factors()
            for i in used:
                out[i] += int(single * (output if i == self.dev_of[-1] else others))
            return
        # one device: the logits with the output layer, activations on every device
        logits = single - self._activations(cp.n_ubatch)
        out[self.dev_of[-1]] += logits
        for i in range(self.n_dev):
            out[i] += self._activations(cp.n_ubatch)

    def _activations(self, n_ubatch: int) -> int:
        return int(
            n_ubatch * memory.measured()["compute"]["activation_bytes_per_embd"] * self.m.n_embd
        )

    def max_ctx(self, cap: int, kv_type: str, n_ubatch: int) -> int:
        """Largest multiple of 256 ≤ cap that fits every device (0 if none does)."""
        lo, hi = 0, cap // KV_PAD
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.row(mid * KV_PAD, kv_type, n_ubatch).fits:
                lo = mid
            else:
                hi = mid - 1
        return lo * KV_PAD
