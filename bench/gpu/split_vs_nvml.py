"""The budget plan's layer split over several GPUs vs what each GPU really holds (NVML).

Run on a machine with two or more GPUs after bench/gpu/session.sh set up llama-cpp-python
with CUDA: plans the 27B-shaped GGUF on the detected devices (llama.cpp's default layer
split, proportional to free memory), loads it exactly as planned, evaluates ``--prompt``
tokens and prints one JSON line: per device, the plan's total and NVML's used memory
(after the prefill, minus before the load).

    python3 bench/gpu/split_vs_nvml.py MODEL.gguf [--ctx 131072] [--prompt 8192]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import llama_cpp  # noqa: F401  (before numpy: DESIGN.md §7)


def used_per_device() -> list[int]:
    import pynvml

    pynvml.nvmlInit()
    try:
        return [
            int(pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(i)).used)
            for i in range(pynvml.nvmlDeviceGetCount())
        ]
    finally:
        pynvml.nvmlShutdown()


def main() -> None:
    from repoctx.budget import detect, plan
    from repoctx.llm.doctor import load_for_plan

    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("--ctx", type=int, default=131072)
    ap.add_argument("--prompt", type=int, default=8192)
    args = ap.parse_args()
    device = detect()
    planned = plan(args.model, device, ctx=args.ctx)
    row = min(planned.rows, key=lambda r: abs(r.n_ctx - planned.n_ctx))
    before = used_per_device()
    started = time.time()
    backend = load_for_plan(args.model, planned)
    load_s = time.time() - started
    after_load = used_per_device()
    tokens = [(i * 7919) % 200_000 + 1000 for i in range(args.prompt)]
    started = time.time()
    for _ in backend.prefill(tokens):
        pass
    prefill_s = time.time() - started
    after = used_per_device()
    print(
        json.dumps(
            {
                "devices": [d.name for d in device.devices],
                "free_bytes": [d.free_bytes for d in device.devices],
                "n_ctx": planned.n_ctx,
                "n_ubatch": planned.n_ubatch,
                "kv_type": planned.kv_type,
                "plan_device_totals": list(row.device_totals),
                "used_after_load": [a - b for a, b in zip(after_load, before, strict=True)],
                "used_after_prefill": [a - b for a, b in zip(after, before, strict=True)],
                "plan_error_pct": [
                    round(100 * (p - (a - b)) / (a - b), 2)
                    for p, a, b in zip(row.device_totals, after, before, strict=True)
                ],
                "load_s": round(load_s, 1),
                "prefill_s": round(prefill_s, 1),
                "prefill_tok_s": round(args.prompt / prefill_s, 1),
            }
        ),
        flush=True,
    )
    backend.close()


if __name__ == "__main__":
    main()
