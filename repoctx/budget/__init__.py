"""The DeltaNet-aware budget: from a GGUF header and the real GPU to the context that fits.

Library API (UI-free; the ``budget`` command and ``pack --budget auto`` are shells over it)::

    from repoctx.budget import plan, read_model_meta, detect, what_if
    p = plan("Qwen3.5-27B-Q4_K_M.gguf", what_if("rtx4090"), kv_type="f16")
    p.max_ctx, p.pack_budget, p.n_ubatch, p.rows, p.warnings, p.llama_params()

See docs/budget.md for the formulas and the llama.cpp functions they mirror.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repoctx.budget.arch import ModelMeta, meta_from_header, read_model_meta
from repoctx.budget.footprint import Row
from repoctx.budget.gguf_meta import GGUFHeader, read_gguf
from repoctx.budget.gpu import DeviceInfo, GpuDevice, detect, from_vram, system_ram, what_if
from repoctx.budget.plan import BudgetPlan, plan, plan_server
from repoctx.budget.server import ServerInfo, server_context


def plan_for_model(path: str | Path, **kwargs: Any) -> BudgetPlan:
    """``plan(path, detect())`` — the sizing the llm backend asks for when loading a GGUF."""
    return plan(path, **kwargs)


__all__ = [
    "BudgetPlan", "DeviceInfo", "GGUFHeader", "GpuDevice", "ModelMeta", "Row", "ServerInfo",
    "detect", "from_vram", "meta_from_header", "plan", "plan_for_model", "plan_server",
    "read_gguf", "read_model_meta", "server_context", "system_ram", "what_if",
]  # fmt: skip
