"""What an out-of-memory during the prefill looks like through repoctx's backend (issue 7).

Loads the 27B-shaped GGUF as planned, then a second process (PyTorch, present on the device
image) takes all but ``--leave`` MiB of the GPU's free memory, then the prefill runs. Prints
one JSON line: whether ``OutOfMemory`` (or another error) reached Python, or the process
died (then the parent, ``--child`` off, reports the exit code).

    python3 bench/gpu/oom_prefill.py MODEL.gguf [--leave 64] [--prompt 32768]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HOG = """
import sys, time, torch
free, _ = torch.cuda.mem_get_info()
keep = int(sys.argv[1]) << 20
x = torch.empty(max(free - keep, 0), dtype=torch.uint8, device="cuda")
print("hogged", free - keep, flush=True)
time.sleep(600)
"""


def say(stage: str) -> None:
    """A progress line, so a run cut off by its time limit still shows where it stopped."""
    print(json.dumps({"stage": stage, "t": round(time.time(), 1)}), flush=True)


def child(model: Path, leave: int, prompt: int) -> None:
    import llama_cpp  # noqa: F401  (before numpy)

    from repoctx.budget import detect, plan
    from repoctx.llm.doctor import load_for_plan
    from repoctx.llm.runtime import ModelError, OutOfMemory

    planned = plan(model, detect(), ctx=65536)
    say("loading")
    backend = load_for_plan(model, planned)
    say("loaded; starting the memory hog")
    hog = subprocess.Popen([sys.executable, "-c", HOG, str(leave)], stdout=subprocess.PIPE,
                           text=True)  # fmt: skip
    hogged = hog.stdout.readline().strip() if hog.stdout else ""
    say(f"hog: {hogged or 'no answer (torch failed?)'}; prefill")
    tokens = [(i * 7919) % 200_000 + 1000 for i in range(prompt)]
    started = time.time()
    result: dict[str, object] = {"hog": hogged, "n_ctx": planned.n_ctx}
    try:
        for _ in backend.prefill(tokens):
            pass
        result["outcome"] = "prefill finished"
    except OutOfMemory as exc:
        result["outcome"] = f"OutOfMemory: {exc}"
    except ModelError as exc:
        result["outcome"] = f"ModelError: {exc}"
    result["seconds"] = round(time.time() - started, 1)
    hog.kill()
    print(json.dumps(result), flush=True)
    try:  # after the failure: does the same backend still work once memory is back?
        backend.state.invalidate()
        for _ in backend.prefill(tokens[:4096]):
            pass
        print(json.dumps({"after_release": "a 4K prefill on the same backend worked"}), flush=True)
    except Exception as exc:
        print(json.dumps({"after_release": f"{type(exc).__name__}: {exc}"}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("--leave", type=int, default=64)
    ap.add_argument("--prompt", type=int, default=32768)
    ap.add_argument("--timeout", type=float, default=150.0)
    ap.add_argument("--child", action="store_true")
    args = ap.parse_args()
    if args.child:
        child(args.model, args.leave, args.prompt)
        return
    # one GPU only: with a layer split over several, the hog would starve just one of them
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "0")}
    command = [sys.executable, __file__, str(args.model), "--leave", str(args.leave),
               "--prompt", str(args.prompt), "--child"]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout,
                              env=env)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        print("\n".join(ln for ln in out.splitlines() if ln.startswith("{")))
        print(json.dumps({"child": f"still running after {args.timeout:.0f} s, killed: "
                                   "llama.cpp hung rather than failing the call"}))  # fmt: skip
        return
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            print(line)
    tail = [ln for ln in done.stderr.splitlines() if "alloc" in ln.lower() or "error" in ln.lower()
            or "memory" in ln.lower()][-8:]  # fmt: skip
    print(json.dumps({"child_rc": done.returncode, "stderr_lines": tail}))


if __name__ == "__main__":
    main()
