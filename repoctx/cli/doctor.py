"""``repoctx doctor``: this machine vs the budget plan, measured."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from repoctx.cli._common import parse_budget, warn
from repoctx.cli.budget import KV_CHOICES
from repoctx.units import format_gib

DEFAULT_DEPTHS = "8k,32k,64k"
DEFAULT_REQUESTS = 10
# Without a GPU the full check (prompts of 8K-64K, ten 16K requests) takes 20 minutes or more
# even for a small model: the CPU gets a short one unless --full or explicit sizes ask.
CPU_DEPTHS = "512,2048"
CPU_REQUESTS = 2
CPU_REQUEST_TOKENS = 2048
CPU_CTX = 8192


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "doctor", help="check GPU, llama.cpp build and budget plan; measure speed and memory",
        description="Checks the GPU, driver and llama.cpp build, prints the budget plan, then "
                    "loads the model at the planned context and measures memory against the "
                    "prediction, prefill and decode tokens/s at several depths, and memory "
                    "over consecutive long requests. Names known cliffs it sees.")
    parser.add_argument("--model", metavar="GGUF", help="model to check (default: discovery)")
    parser.add_argument("--kv-type", default="f16", choices=KV_CHOICES)
    parser.add_argument("--ctx", metavar="N", help="context to plan for (default: all that fits)")
    parser.add_argument("--depths", default=None, metavar="N,N,…",
                        help=f"prompt lengths to time (default {DEFAULT_DEPTHS}, up to what fits; "
                             f"{CPU_DEPTHS} without a GPU unless --full)")
    parser.add_argument("--requests", type=int, default=None, metavar="N",
                        help=f"consecutive long requests for the memory check (default "
                             f"{DEFAULT_REQUESTS}; {CPU_REQUESTS} without a GPU unless --full)")
    parser.add_argument("--full", action="store_true",
                        help="the full measurement even without a GPU (20 minutes or more on a "
                             "CPU)")
    parser.add_argument("--quick", action="store_true", help="checks and plan only, no model run")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from repoctx.budget import plan
    from repoctx.llm.discover import choose
    from repoctx.llm.doctor import measure, system_facts
    from repoctx.llm.fallback import fallback_model_path

    choice = choose(Path("."), model=args.model)
    model = choice.candidate.path if choice.candidate else fallback_model_path()
    facts = system_facts()
    short = not args.full and not args.quick and not _has_gpu(facts)
    ctx = parse_budget(args.ctx) if args.ctx else (CPU_CTX if short else None)
    planned = plan(model, kv_type=args.kv_type, ctx=ctx)
    for line in planned.warnings:
        warn(line)
    if args.quick:
        _print_facts(facts, planned, model)
        return 0
    depths, requests, request_tokens = _sizes(args, short)
    if short:
        warn(_cpu_note(facts, depths, requests, request_tokens))
    progress = None if args.json else (lambda step: print(f"… {step}", file=sys.stderr))
    report = measure(model, planned, depths, requests, on_step=progress,
                     request_tokens=request_tokens)  # fmt: skip
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
        return 0
    _print_facts(report.facts, planned, model)
    _print_report(report)
    return 0


def _has_gpu(facts: Any) -> bool:
    """llama.cpp can offload (a GPU build) and a GPU is there to offload to: an NVIDIA card
    NVML sees, or on macOS the Metal GPU of a Metal build (NVML sees none there)."""
    if not facts.gpu_offload:
        return False
    return sys.platform == "darwin" or any(d != "system RAM" for d in facts.devices)


def _sizes(args: argparse.Namespace, short: bool) -> tuple[list[int], int, int]:
    """(depths, requests, tokens per request): the user's, else the full or the CPU set."""
    depths_text = args.depths or (CPU_DEPTHS if short else DEFAULT_DEPTHS)
    depths = [_tokens(part) for part in depths_text.split(",") if part.strip()]
    requests = args.requests if args.requests is not None else (
        CPU_REQUESTS if short else DEFAULT_REQUESTS)
    return depths, requests, CPU_REQUEST_TOKENS if short else 16_384


def _cpu_note(facts: Any, depths: list[int], requests: int, request_tokens: int) -> str:
    why = ("llama.cpp was built without GPU offload" if not facts.gpu_offload
           else "no GPU found")
    sizes = ", ".join(f"{d:,}" for d in depths)
    return (f"{why}: the model runs on the CPU, slowly; running a short check (prompts of "
            f"{sizes} tokens, {requests} requests of {request_tokens:,}); `repoctx doctor "
            "--full` measures the GPU-sized set (20 minutes or more on a CPU); see docs/gpu.md "
            "for a CUDA build")


def _tokens(text: str) -> int:
    value = parse_budget(text.strip())
    assert value is not None
    return value


def _print_facts(facts: Any, planned: Any, model: Path) -> None:
    print(f"devices:     {', '.join(facts.devices)}")
    print(f"driver:      {facts.driver or 'no NVIDIA driver'}")
    print(f"llama.cpp:   llama-cpp-python {facts.llama_cpp}, GPU offload "
          f"{'yes' if facts.gpu_offload else 'NO'}")
    print(f"model:       {model}")
    print(f"plan:        n_ctx {planned.n_ctx:,} ({planned.kv_type} KV, n_ubatch "
          f"{planned.n_ubatch}) · packing budget {planned.pack_budget:,} tokens")


def _print_report(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    measured = (format_gib(report.after_load_bytes, 2) if report.after_load_bytes is not None
                else "not measurable here")
    where = "GPU (NVML)" if report.plan.device.is_gpu else "process RSS on the CPU"
    console.print(f"memory:      predicted {format_gib(report.predicted_bytes, 2)} at n_ctx "
                  f"{report.plan.n_ctx:,}; after load {measured} ({where})")
    flash = {True: "on", False: "OFF", None: "not reported by llama.cpp"}
    console.print(f"flash attention: {flash[report.flash_attention]}")
    table = Table(title="measured")
    for column in ("prompt tokens", "prefill tok/s", "decode tok/s", "memory after prefill"):
        table.add_column(column, justify="right")
    for row in report.rows:
        memory = "–" if row.memory_bytes is None else format_gib(row.memory_bytes, 2)
        table.add_row(f"{row.depth:,}", f"{row.prefill_tok_s:,.0f}", f"{row.decode_tok_s:.1f}",
                      memory)
    console.print(table)
    if report.requests:
        seen = ", ".join("–" if m is None else format_gib(m, 2, unit=False)
                         for m in report.requests)
        console.print(f"memory after each of {len(report.requests)} requests (GiB): {seen}")
    for cliff in report.cliffs:
        console.print(f"[bold yellow]cliff:[/] {cliff}")
    if not report.cliffs:
        console.print("no known cliffs seen")
