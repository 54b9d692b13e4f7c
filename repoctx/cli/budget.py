"""``repoctx budget``: how much context this model gets on this GPU, and why.

Prints the memory table (weights, KV cache, recurrent state, compute buffer, overhead, total,
and what "all layers full attention" would cost) for 4K…256K, the largest context that fits
and the packing budget. ``--json`` prints the same as stable JSON for scripts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repoctx.errors import InputError
from repoctx.types import KV_CACHE_TYPES
from repoctx.units import format_gib, parse_tokens

if TYPE_CHECKING:
    from repoctx.budget.arch import ModelMeta
    from repoctx.budget.plan import BudgetPlan

KV_CHOICES = (*KV_CACHE_TYPES, "auto")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "budget",
        help="show the context this model fits on this GPU",
        description="Plan the context from the model's GGUF header and the GPU's free memory: "
        "KV cache for attention layers only, recurrent (Gated DeltaNet) state, "
        "compute buffer and runtime overhead, as llama.cpp allocates them.",
    )
    parser.add_argument(
        "--model",
        metavar="GGUF",
        help="model file or name (default: discovered model, else the embedded fallback); "
        "a built-in profile plans a model before it is downloaded: "
        "qwen3.5-27b-q4_k_m, -q5_k_m, -q6_k, -q8_0, -f16 (qwen3.5:27b = q4_k_m); "
        "with --server: the model id",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help="OpenAI-compatible server: the "
        "budget is its context (vLLM, llama-server, Ollama, llama_cpp.server)",
    )
    card = parser.add_mutually_exclusive_group()
    card.add_argument(
        "--gpu",
        metavar="NAME",
        help="plan for this card instead of the real "
        "GPUs: rtx4090, rtx4080, rtx4070, rtx3090, rtx3060, a100-40, a100-80, "
        "l40s, h100, h200, m2-max, …",
    )
    card.add_argument(
        "--vram",
        metavar="SIZE",
        help="plan for a GPU with this much free memory (24GiB, 24GB, 16000MiB)",
    )
    parser.add_argument(
        "--kv-type",
        choices=KV_CHOICES,
        default="f16",
        help="KV cache type (default f16; q8_0 halves it but decodes slower; "
        "auto: q8_0 only when f16 misses the wanted context)",
    )
    parser.add_argument(
        "--ctx",
        metavar="N",
        help="wanted context, e.g. 65536 or 64k (default: the model's trained context)",
    )
    parser.add_argument(
        "--ubatch",
        metavar="N",
        type=_ubatch,
        help="plan for this n_ubatch (default: the largest of 2048, 1024, 512 that still "
        "reaches the wanted context; larger prefills faster, costs compute-buffer memory)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON (bytes as integers)")
    parser.set_defaults(run=run)


def _ubatch(value: str) -> int:
    """argparse type for --ubatch: a positive whole number (llama.cpp caps it at n_ctx)."""
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number like 512, not {value!r}") from None
    if not 1 <= n <= 65536:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65536, not {n}")
    return n


def parse_ctx(value: str | None) -> int | None:
    return None if value is None else parse_tokens(value, "--ctx")


def run(args: argparse.Namespace) -> int:
    from repoctx.budget import gpu
    from repoctx.budget.plan import plan

    ctx = parse_ctx(args.ctx)
    device = None
    if args.gpu:
        device = gpu.what_if(args.gpu)
    elif args.vram:
        device = gpu.from_vram(args.vram)
    if args.server:
        result = _server_plan(args.server, args.model, ctx)
    else:
        device = device or gpu.detect()
        model, server = model_for(args.model, device.free_bytes,
                                  what_if=bool(args.gpu or args.vram))  # fmt: skip
        if server:
            result = _server_plan(server, None, ctx)
        else:
            result = plan(model, device, kv_type=args.kv_type, ctx=ctx, n_ubatch=args.ubatch)
    for note in result.warnings:
        print(f"repoctx: warning: {note}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        _print_table(result)
    return 0


def model_for(
    name: str | None, memory_bytes: int, *, what_if: bool = False
) -> tuple[Path | ModelMeta | None, str | None]:
    """(model to plan, server URL): a file or a discovered model first, else the built-in
    profile the name means (``qwen3.5-27b-q4_k_m``, ``qwen3.5:27b``), so a model can be
    planned before it is downloaded; a name that is neither is refused with the choices.
    A what-if card (``--gpu``/``--vram``) with no model on this machine plans Qwen 3.5 27B
    Q4_K_M, the question such a user asks, rather than the embedded fallback."""
    from repoctx.budget import profiles
    from repoctx.budget.default import resolve

    try:
        path, server, why = resolve(name, None, memory_bytes)
    except InputError as exc:
        if not name:  # a broken config, not a name: nothing a profile could answer
            raise
        picked = profiles.find(name)
        if picked is None:
            known = ", ".join(profiles.profiles())
            raise InputError(f"{exc} — or a built-in profile: {known}") from None
        return profiles.meta(picked), None
    if what_if and not name and server is None and "fallback" in why:
        default = profiles.find("qwen3.5-27b")
        assert default is not None
        print(f"repoctx: warning: no model configured or found (the embedded fallback would "
              f"run): planned the built-in profile {default}; --model GGUF|NAME plans "
              "another", file=sys.stderr)
        return profiles.meta(default), None
    return path, server


def _server_plan(url: str, model: str | None, ctx: int | None) -> BudgetPlan:
    from repoctx.budget.plan import plan_server
    from repoctx.budget.server import server_context

    return plan_server(server_context(url, model), ctx=ctx)


def _gib(n: int) -> str:
    return format_gib(n, 2, unit=False)


def _state_label(arch: str) -> str:
    if arch.startswith(("qwen35", "qwen3next")):
        return "DeltaNet state"
    if arch.startswith("rwkv") or arch == "arwkv7":
        return "RWKV state"
    return "SSM state"


def _print_table(p: BudgetPlan) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if sys.stdout.isatty() else 120, highlight=False)
    if p.server is not None:
        s = p.server
        console.print(f"[bold]{s.kind}[/] at {s.url}" + (f" · {s.model}" if s.model else ""))
        console.print(f"Server context: [bold]{s.n_ctx:,}[/] tokens (from {s.source})")
        _print_budget(console, p)
        return
    m = p.model
    assert m is not None
    console.print(_source_line(p))
    table = Table(title=_title(p), title_justify="left")
    for col in (
        "Context",
        "Weights",
        "KV cache",
        _state_label(m.arch),
        "Compute",
        "Overhead",
        "Total",
        "All attention",
        "Fits",
    ):
        table.add_column(col, justify="right")
    for r in p.rows:
        table.add_row(
            f"{r.n_ctx // 1024}K" if r.n_ctx % 1024 == 0 else f"{r.n_ctx:,}",
            _gib(r.weights_bytes),
            _gib(r.kv_bytes),
            _gib(r.state_bytes) if m.n_recurrent_layers else "—",
            _gib(r.compute_bytes),
            _gib(r.overhead_bytes),
            _gib(r.total_bytes),
            _gib(r.all_attention_total_bytes),
            "[green]yes[/]" if r.fits else "[red]no[/]",
        )
    console.print(table)
    console.print(
        'GiB; "All attention": the same model if every layer kept a KV cache '
        "(what naive estimators charge)."
    )
    _print_budget(console, p)


def _title(p: BudgetPlan) -> str:
    m = p.model
    assert m is not None
    layers = f"{m.n_layer} layers"
    if m.n_recurrent_layers and m.n_attn_layers:
        layers += f": {m.n_attn_layers} attention + {m.n_recurrent_layers} recurrent"
    d = p.device
    mem = f"{_gib(d.total_bytes)} GiB, {_gib(d.free_bytes)} free, {d.source}"
    return f"{m.name} ({m.arch}, {layers}) on {d.name} ({mem}) · KV {p.kv_type}"


def _source_line(p: BudgetPlan) -> str:
    """Which facts the plan rests on: a file's header, or a built-in profile."""
    m = p.model
    assert m is not None
    if m.profile:
        return f"Model: built-in profile {m.profile} (no file read; a downloaded one is read)"
    return f"Model: {m.path}"


def _print_budget(console: Any, p: BudgetPlan) -> None:
    if p.model is not None:
        console.print(
            f"Largest context that fits: [bold]{p.max_ctx:,}[/] tokens "
            f"({p.kv_type} KV, n_ubatch {p.n_ubatch}, flash attention)"
        )
    console.print(
        f"Packing budget: [bold]{p.pack_budget:,}[/] tokens = {p.n_ctx:,} context − "
        f"{p.template_tokens:,} prompt template − {p.reserve_answer:,} for the answer"
    )
