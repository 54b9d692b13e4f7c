"""One GPU session's measurements for the Qwen 3.5 27B shape (issue: GPU verification).

Runs on the device machine after bench/gpu/run_suite.sh has built llama-cpp-python with
CUDA. Steps run in priority order and each appends one JSON line to ``$OUT/results.jsonl``
as soon as it finishes, so a run cut off by the time limit still returns what it measured:

1. ``doctor``: the 27B hybrid at the planned context — memory after load vs the plan,
   prefill/decode tok/s at 8K/32K/64K, memory over consecutive long requests.
2. ``reuse``: time to first token of a question after a 64K-token repo prefix, cold (full
   prefill) and warm (prefix snapshot restored, only the question evaluated).
3. ``control``: the same shape with 63 attention layers + 1 recurrent (llama.cpp refuses
   zero recurrent layers) at 32K and 64K: memory and tok/s beside the hybrid.

The weights are the sparse file's zeros (memory does not depend on values; matrix-unit
timing on zeros can be optimistic — METHOD.md — which docs/benchmarks.md states).
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
from pathlib import Path
from typing import Any

import llama_cpp  # noqa: F401  (import before numpy: DESIGN.md §7)

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("OUT", "/tmp/out"))
DEADLINE = float(os.environ.get("SUITE_DEADLINE", "inf"))  # unix time to stop starting steps
# SUITE_TINY=1: the same steps on the tiny qwen35 hybrid at small depths, on any machine, to
# check the script before spending device time on it.
TINY = os.environ.get("SUITE_TINY") == "1"
DEPTHS = (256, 512, 1024) if TINY else (8192, 32768, 65536)
CTX = 2048 if TINY else 131072
PREFIX = 900 if TINY else 64_000


def emit(step: str, **data: Any) -> None:
    with open(OUT / "results.jsonl", "a") as stream:
        stream.write(json.dumps({"step": step, "t": round(time.time(), 1), **data}) + "\n")
    print(f"[{step}] {json.dumps(data)[:400]}", flush=True)


def time_left() -> float:
    return DEADLINE - time.time()


def gen(recurrent: list[bool] | None, path: str) -> Path:
    if Path(path).exists() and os.environ.get("SUITE_REGEN") != "1":  # an earlier step's
        return Path(path)
    sys.modules.setdefault("pytest", types.SimpleNamespace(fixture=lambda **_: lambda f: f))
    sys.path.insert(0, str(ROOT / "tests"))
    import ggufgen

    started = time.time()
    if TINY:
        pattern = recurrent[:4] if recurrent else None
        out = ggufgen.write_qwen35_hybrid(path, n_layer=4, recurrent_layers=pattern)
    else:
        out = ggufgen.write_27b_header(path, recurrent=recurrent)
    emit("gen", path=path, seconds=round(time.time() - started, 1))
    return out


def doctor(model: Path, ctx: int) -> tuple[Any, Any]:
    from repoctx.budget import detect, plan
    from repoctx.llm.doctor import load_for_plan, measure_loaded, memory_in_use

    planned = plan(model, detect(), ctx=ctx)
    emit("plan", n_ctx=planned.n_ctx, max_ctx=planned.max_ctx, kv=planned.kv_type,
         n_ubatch=planned.n_ubatch, rows=[{"n_ctx": r.n_ctx, "total": r.total_bytes}
                                         for r in planned.rows])
    baseline = memory_in_use(planned)
    started = time.time()
    backend = load_for_plan(model, planned)
    emit("load", seconds=round(time.time() - started, 1))
    requests = 10 if time_left() > 400 else 3
    report = measure_loaded(backend, planned, DEPTHS, requests, baseline,
                            lambda s: print(f"  {s}", flush=True),
                            request_tokens=1024 if TINY else 8192)
    emit("doctor", **report.to_json())
    return backend, planned


def reuse(backend: Any) -> None:
    """TTFT after a ~64K-token prefix: cold, then warm twice with other questions."""
    from repoctx.llm.base import Message, Options, Prompt, Text, Thinking

    prefix = _repo_text(backend, PREFIX)
    timings = []
    for question in ("Where is the budget computed?", "What does walk skip?",
                     "Which module renders the pack?"):
        prompt = Prompt((Message("system", prefix), Message("user", question)),
                        prefix_messages=1)
        started = time.perf_counter()
        first = None
        stats = None
        for event in backend.stream(prompt, Options(max_tokens=16, temperature=0.0,
                                                    think=False)):
            if first is None and isinstance(event, Text | Thinking):
                first = time.perf_counter() - started
            stats = getattr(event, "stats", stats)
        timings.append({"question": question, "ttft_s": round(first or -1, 3),
                        "prompt_tokens": stats.prompt_tokens if stats else None,
                        "cached_tokens": stats.cached_tokens if stats else None,
                        "total_s": round(time.perf_counter() - started, 3)})
    emit("reuse", questions=timings)


def _repo_text(backend: Any, tokens: int) -> str:
    """Real source text (this repository) cut at about ``tokens`` model tokens."""
    parts: list[str] = []
    for path in sorted((ROOT / "repoctx").rglob("*.py")) + sorted((ROOT / "tests").rglob("*.py")):
        parts.append(f"# file: {path.relative_to(ROOT)}\n{path.read_text()}")
    text = "\n".join(parts)
    while backend.count_tokens(text) < tokens:
        text += "\n" + text
    ids = backend.rt.tokenize(text, add_special=False)[:tokens]
    return b"".join(backend.rt.piece(t) for t in ids).decode("utf-8", "replace")


def control(hybrid_plan: Any) -> None:
    from repoctx.budget import detect, plan
    from repoctx.llm.doctor import load_for_plan, memory_in_use, speed

    recurrent = [False] * 64
    recurrent[0] = True
    model = gen(recurrent, "/tmp/control-27b.gguf")
    planned = plan(model, detect(), ctx=hybrid_plan.n_ctx)
    baseline = memory_in_use(planned)
    backend = load_for_plan(model, planned)
    try:
        after_load = memory_in_use(planned)
        rows = []
        for depth in DEPTHS[1:]:
            if time_left() < 90:
                break
            row = speed(backend, depth, planned, baseline)
            rows.append({"depth": depth, "prefill_tok_s": round(row.prefill_tok_s, 1),
                         "decode_tok_s": round(row.decode_tok_s, 2),
                         "memory_bytes": row.memory_bytes})
        emit("control", n_ctx=planned.n_ctx,
             predicted=[{"n_ctx": r.n_ctx, "total": r.total_bytes} for r in planned.rows],
             after_load_bytes=None if after_load is None or baseline is None
             else after_load - baseline, rows=rows)
    finally:
        backend.close()


def main() -> None:
    """``SUITE_STEPS`` (default ``doctor,reuse,control``) picks the steps, in that order."""
    from repoctx.budget import detect, plan
    from repoctx.llm.doctor import load_for_plan

    OUT.mkdir(parents=True, exist_ok=True)
    steps = os.environ.get("SUITE_STEPS", "doctor,reuse,control").split(",")
    model = gen(None, "/tmp/qwen35-27b.gguf")
    planned = plan(model, detect(), ctx=CTX)
    if "doctor" in steps or "reuse" in steps:
        if "doctor" in steps:
            backend, planned = doctor(model, CTX)
        else:
            backend = load_for_plan(model, planned)
        try:
            if "reuse" in steps and time_left() > 90:
                reuse(backend)
        finally:
            backend.close()
    if "control" in steps and time_left() > 200:
        control(planned)
    emit("done", steps=steps)


if __name__ == "__main__":
    main()
