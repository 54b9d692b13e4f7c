"""The budget plan vs what a real GPU holds: Qwen 3.5 27B shape, llama.cpp CUDA, NVML.

Run on the GPU machine (see docs/benchmarks.md, "Budget"): ``gen`` writes the sparse 27B
Q4_K_M-shaped GGUF (ggufgen; zero weights are fine, memory does not depend on values),
``measure`` loads it in a fresh process per configuration with every layer offloaded and
flash attention, evaluates a prompt, reads NVML's used memory, and prints one JSON line per
run with repoctx's plan for the same configuration and llama.cpp's allocation log lines.

    python3 bench/gpu/budget_vs_nvml.py gen MODEL.gguf
    python3 bench/gpu/budget_vs_nvml.py measure MODEL.gguf 8192:f16:8192 32768:f16:32768:2048 ...
    (n_ctx:kv_type:prompt_tokens[:n_ubatch], n_ubatch 512 when left out)
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOG_KEYS = (
    "llama_kv_cache: size",
    "llama_memory_recurrent: size",
    "compute buffer size",
    "model buffer size",
    "KV buffer size",
    "RS buffer size",
    "output buffer size",
)


def gen(path: str) -> None:
    sys.modules.setdefault("pytest", types.SimpleNamespace(fixture=lambda **_: lambda f: f))
    sys.path.insert(0, str(ROOT / "tests"))
    import ggufgen

    t0 = time.time()
    ggufgen.write_27b_header(path)
    print(json.dumps({"gen_s": round(time.time() - t0, 1), "bytes": Path(path).stat().st_size}))


def _used() -> int:
    import pynvml

    pynvml.nvmlInit()
    try:
        return int(pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(0)).used)
    finally:
        pynvml.nvmlShutdown()


def child(path: str, n_ctx: int, kv: str, prompt: int, n_ubatch: int) -> None:
    import ctypes

    import llama_cpp  # before numpy: the other order crashed model loading there

    lines: list[str] = []

    @llama_cpp.llama_log_callback
    def capture(level, text, user):  # type: ignore[no-untyped-def]
        lines.append(text.decode("utf-8", "replace"))

    llama_cpp.llama_log_set(capture, ctypes.c_void_p(0))
    ids = {"f16": 1, "q8_0": 8, "q4_0": 2}
    t0 = time.time()
    llm = llama_cpp.Llama(
        model_path=path,
        n_gpu_layers=-1,
        flash_attn=True,
        n_ctx=n_ctx,
        n_batch=max(2048, n_ubatch),
        n_ubatch=n_ubatch,
        type_k=ids[kv],
        type_v=ids[kv],
        swa_full=False,
        verbose=True,
    )
    load_s = time.time() - t0
    after_load = _used()
    text = "".join(lines)
    result = {
        "after_load": after_load,
        "after_prefill": after_load,
        "load_s": round(load_s, 1),
        "prefill_s": None,
        "log": [ln.strip() for ln in text.splitlines() if any(k in ln for k in LOG_KEYS)],
    }
    print(json.dumps(result), flush=True)  # kept even if the prefill dies
    t0 = time.time()
    llm.eval([(i * 7919) % 200_000 + 1000 for i in range(prompt)])
    result["prefill_s"] = round(time.time() - t0, 1)
    result["after_prefill"] = _used()
    print(json.dumps(result), flush=True)


def measure(path: str, configs: list[str]) -> None:
    sys.path.insert(0, str(ROOT))
    from repoctx.budget import detect, plan, read_model_meta

    meta = read_model_meta(path)
    for config in configs:
        n_ctx, kv, prompt, *rest = config.split(":")
        n_ubatch = rest[0] if rest else "512"
        base = _used()
        device = detect()
        p = plan(meta, device, kv_type=kv, ctx=int(n_ctx), n_ubatch=int(n_ubatch))
        row = next(r for r in p.rows if r.n_ctx == int(n_ctx))
        out = subprocess.run(
            [sys.executable, "-X", "faulthandler", __file__, "child", path, n_ctx, kv, prompt,
             n_ubatch],
            capture_output=True,
            text=True,
            timeout=500,
        )
        found = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if out.returncode != 0:
            err = {"config": config, "rc": out.returncode, "stderr": out.stderr[-3000:]}
            print(json.dumps(err), flush=True)
        if not found:
            continue
        got = json.loads(found[-1])
        used = got["after_prefill"] - base
        print(
            json.dumps(
                {
                    "config": config,
                    "n_ubatch": int(n_ubatch),
                    "prefilled": got["prefill_s"] is not None,
                    "device": device.name,
                    "baseline_used": base,
                    "nvml_used_by_run": used,
                    "plan_total": row.total_bytes,
                    "plan_error_pct": round(100 * (row.total_bytes - used) / used, 2),
                    "plan": {k: v for k, v in row.to_json().items() if k.endswith("_bytes")},
                    "after_load_used": got["after_load"] - base,
                    "load_s": got["load_s"],
                    "prefill_s": got["prefill_s"],
                    "log": got["log"],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "gen":
        gen(sys.argv[2])
    elif cmd == "child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif cmd == "measure":
        measure(sys.argv[2], sys.argv[3:])
    else:
        raise SystemExit(f"unknown command {cmd!r}")
