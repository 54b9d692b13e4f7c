"""The budget plan: the largest context this model fits in this memory, and the packing budget.

For each device the plan adds what llama.cpp would hold there with every layer offloaded:
weights (by layer split), attention KV and recurrent state (exact, ``memory.py``), the
compute buffer and the GPU runtime overhead (measured, ``measured.json``), plus a safety
margin, and compares it with the device's *free* memory. The largest context that fits is
found by bisection over multiples of 256 (llama.cpp pads n_ctx to 256 anyway), capped at the
trained context. The plan also chooses n_ubatch and may propose a quantised KV cache, with
its decode-speed cost spelled out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repoctx.budget import memory
from repoctx.budget.arch import ModelMeta, read_model_meta
from repoctx.budget.footprint import Footprint, Row
from repoctx.budget.gpu import DeviceInfo, GpuDevice, detect
from repoctx.budget.memory import KV_PAD
from repoctx.budget.server import ServerInfo
from repoctx.budget.weights import Weights
from repoctx.errors import InputError
from repoctx.units import format_gib

CONTEXTS = (4096, 8192, 16384, 32768, 65536, 131072, 262144)
UBATCHES = (2048, 1024, 512)
DEFAULT_RESERVE_ANSWER = 4096  # tokens kept free for the model's answer (thinking included)
DEFAULT_TEMPLATE_TOKENS = 512  # chat template, system prompt and instructions around the repo
GGML_TYPE_IDS = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8,
                 "iq4_nl": 20}  # fmt: skip


@dataclass
class BudgetPlan:
    """What ``repoctx budget`` prints and what pack/llm consume."""

    model: ModelMeta | None
    device: DeviceInfo
    kv_type: str
    n_ubatch: int
    rows: list[Row]
    max_ctx: int
    n_ctx: int  # the context to run with: min(wanted, max_ctx)
    pack_budget: int
    template_tokens: int
    reserve_answer: int
    weights: Weights | None = None
    server: ServerInfo | None = None
    n_seq_max: int = 1
    alternatives: dict[str, int] = field(default_factory=dict)  # kv type → its max_ctx
    warnings: list[str] = field(default_factory=list)

    def llama_params(self) -> dict[str, Any]:
        """Keyword arguments for ``llama_cpp.Llama`` that realise this plan."""
        return {
            "n_ctx": self.n_ctx,
            "n_batch": max(self.n_ubatch, 2048),
            "n_ubatch": self.n_ubatch if self.model is not None else None,
            "type_k": GGML_TYPE_IDS[self.kv_type],
            "type_v": GGML_TYPE_IDS[self.kv_type],
            "flash_attn": True,
            "swa_full": False,
            "n_gpu_layers": -1 if self.device.is_gpu else 0,
        }

    def to_json(self) -> dict[str, Any]:
        """The stable ``--json`` shape of the issue (bytes as integers)."""
        m, w = self.model, self.weights
        return {
            "model": {
                "path": str(m.path) if m and m.path else None,
                "profile": m.profile if m else None,
                "arch": m.arch if m else (self.server.arch if self.server else None),
                "n_layer": m.n_layer if m else None,
                "n_attn_layers": m.n_attn_layers if m else None,
                "n_recurrent_layers": m.n_recurrent_layers if m else None,
                "weights_bytes": w.total_bytes if w else None,
                "weights_gpu_bytes": self.rows[0].weights_bytes if self.rows else None,
                "n_ctx_train": m.n_ctx_train
                if m
                else (self.server.n_ctx_train if self.server else None),
            },
            "device": {
                "name": self.device.name,
                "total_bytes": self.device.total_bytes,
                "free_bytes": self.device.free_bytes,
                "source": self.device.source,
            },
            "kv_type": self.kv_type,
            "n_ubatch": self.n_ubatch if self.model is not None else None,
            "flash_attn": True if self.model is not None else None,  # llama_params() sets it
            "n_ctx": self.n_ctx,
            "rows": [r.to_json() for r in self.rows],
            "max_ctx": self.max_ctx,
            "pack_budget": self.pack_budget,
        }


def _decode_tok_s(kv_type: str, depth: int) -> float | None:
    d = memory.measured()["decode"].get(kv_type)
    if not d:
        return None
    return 1000.0 / (float(d["ms_per_token"]) + float(d["ns_per_depth_token"]) * depth / 1e6)


def _slow_kv_note(kv_type: str, depth: int) -> str:
    fast, slow = _decode_tok_s("f16", depth), _decode_tok_s(kv_type, depth)
    speed = (
        (
            f" (H100, 27B: ~{slow:.0f} vs ~{fast:.0f} tok/s at {depth // 1024}K; −21% "
            "measured at 64K)"
        )
        if fast and slow
        else ""
    )
    return (
        f"{kv_type} KV halves KV memory or better but decodes slower than f16 as the "
        f"context grows{speed}"
    )


def _choose(
    fp: Footprint, cap: int, target: int, kv_type: str, n_ubatch: int | None
) -> tuple[int, int]:
    """(n_ubatch, max_ctx): the largest ubatch (faster prefill) that still fits ``target``."""
    if n_ubatch:
        return n_ubatch, fp.max_ctx(cap, kv_type, n_ubatch)
    for u in UBATCHES:
        best = fp.max_ctx(cap, kv_type, u)
        if best >= target:
            return u, best
    return UBATCHES[-1], best


def _model(model: str | Path | ModelMeta | None) -> ModelMeta:
    if isinstance(model, ModelMeta):
        return model
    if model is None:
        # default.py asks llm's discovery: only when no model is named
        from repoctx.budget.default import default_model_path

        model = default_model_path()
    return read_model_meta(model)


def plan(
    model: str | Path | ModelMeta | None,
    device: DeviceInfo | None = None,
    kv_type: str = "f16",
    ctx: int | None = None,
    reserve_answer: int | None = None,
    template_tokens: int | None = None,
    *,
    n_seq_max: int = 1,
    n_ubatch: int | None = None,
    swa_full: bool = False,
) -> BudgetPlan:
    """Plan ``model`` (a GGUF path or ModelMeta; None: the discovered default) on ``device``.

    ``kv_type`` is a llama.cpp cache type or ``"auto"`` (f16 unless q8_0 is needed to reach
    the wanted context). ``ctx`` is the wanted context (default: the trained context).
    ``reserve_answer`` / ``template_tokens`` default to 4096 / 512, or a quarter / an eighth
    of a smaller context.
    """
    m = _model(model)
    device = device or detect()
    if kv_type != "auto":
        memory.row_bytes(kv_type, 0)  # validates the name
    cap = m.n_ctx_train // KV_PAD * KV_PAD or KV_PAD
    target = min(ctx, cap) if ctx else cap
    fp = Footprint(m, device, n_seq_max, swa_full)
    chosen, choices = _pick_kv(fp, cap, target, kv_type, n_ubatch)
    u, best = choices[chosen]
    rows = _rows(fp, cap, ctx, chosen, u)
    n_ctx = min(target, best)
    reserve, template = _reserves(n_ctx, reserve_answer, template_tokens)
    result = BudgetPlan(
        m,
        device,
        chosen,
        u,
        rows,
        best,
        n_ctx,
        max(0, n_ctx - template - reserve),
        template,
        reserve,
        fp.w,
        None,
        n_seq_max,
        {t: c[1] for t, c in choices.items()},
    )
    result.warnings = _warnings(result, fp, cap, ctx, target)
    return result


def _pick_kv(
    fp: Footprint, cap: int, target: int, kv_type: str, n_ubatch: int | None
) -> tuple[str, dict[str, tuple[int, int]]]:
    """The KV type and, per candidate type, (n_ubatch, max_ctx). ``auto``: f16 unless it
    misses the target and q8_0 gets further."""
    types = ("f16", "q8_0") if kv_type == "auto" else (kv_type,)
    choices = {t: _choose(fp, cap, target, t, n_ubatch) for t in types}
    if kv_type != "auto":
        return kv_type, choices
    f16, q8 = choices["f16"][1], choices["q8_0"][1]
    return ("q8_0" if f16 < target and q8 > f16 else "f16"), choices


def _reserves(n_ctx: int, reserve: int | None, template: int | None) -> tuple[int, int]:
    """Tokens kept for the answer and the prompt template (small contexts keep less)."""
    if reserve is None:
        reserve = min(DEFAULT_RESERVE_ANSWER, n_ctx // 4)
    if template is None:
        template = min(DEFAULT_TEMPLATE_TOKENS, n_ctx // 8)
    return reserve, template


def _rows(fp: Footprint, cap: int, ctx: int | None, kv_type: str, u: int) -> list[Row]:
    sizes = {c for c in CONTEXTS if c <= cap}
    if cap < CONTEXTS[-1]:
        sizes.add(cap)  # the trained context itself, when it is not one of the steps
    if ctx:
        sizes.add(memory.pad(ctx))
    return [fp.row(n, kv_type, u) for n in sorted(sizes)]


def _warnings(p: BudgetPlan, fp: Footprint, cap: int, ctx: int | None, target: int) -> list[str]:
    notes = list(p.device.warnings)
    assert p.model is not None
    notes += [f"{p.model.label}: {a}" for a in p.model.assumptions]
    if p.max_ctx == 0:
        need = fp.row(KV_PAD, p.kv_type, p.n_ubatch)
        notes.append(
            f"the model does not fit {p.device.name} even at 256 tokens: "
            f"{format_gib(need.total_bytes)} needed, "
            f"{format_gib(p.device.free_bytes)} free (partial offload is not planned)"
        )
    elif ctx and ctx > p.max_ctx:
        notes.append(f"--ctx {ctx:,} does not fit: the largest context is {p.max_ctx:,}")
    if ctx and ctx > p.model.n_ctx_train:
        notes.append(f"--ctx {ctx:,} is beyond the trained context ({p.model.n_ctx_train:,})")
    if p.kv_type not in ("f16", "f32"):
        notes.append(_slow_kv_note(p.kv_type, 65536))
    elif p.max_ctx < target and p.kv_type == "f16":
        q8 = fp.max_ctx(cap, "q8_0", p.n_ubatch)
        if q8 > p.max_ctx:
            notes.append(
                f"with --kv-type q8_0 the context would be {q8:,} instead of "
                f"{p.max_ctx:,}; {_slow_kv_note('q8_0', 65536)}"
            )
    if p.model.n_swa and p.model.memory == "kv_iswa":
        notes.append(
            "sliding-window layers are sized with swa_full=False: load the model "
            "with swa_full=False (llama-cpp-python's default is a full-size cache)"
        )
    return notes


def plan_server(
    info: ServerInfo,
    reserve_answer: int | None = None,
    template_tokens: int | None = None,
    ctx: int | None = None,
) -> BudgetPlan:
    """The budget of a remote model: the server's own context (``server.server_context``)."""
    if ctx is not None and ctx <= 0:
        raise InputError(f"--ctx must be positive, not {ctx}")
    n_ctx = min(ctx, info.n_ctx) if ctx else info.n_ctx
    device = DeviceInfo("server", (GpuDevice(f"{info.kind} at {info.url}", 0, 0),), info.warnings)
    reserve, template = _reserves(n_ctx, reserve_answer, template_tokens)
    result = BudgetPlan(
        None,
        device,
        "server",
        0,
        [],
        info.n_ctx,
        n_ctx,
        max(0, n_ctx - template - reserve),
        template,
        reserve,
        server=info,
    )
    result.warnings = list(info.warnings)
    if ctx and ctx > info.n_ctx:
        result.warnings.append(f"--ctx {ctx:,} is more than the server's context ({info.n_ctx:,})")
    return result
