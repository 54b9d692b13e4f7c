"""Incremental ingest on the GPU (issue 9): the 27B shape at 64K. NOT RUN YET — written when
this session's device time was used up; docs/benchmarks.md "Incremental ingest" says so.

Runs bench/incremental.py's cases on the device after bench/gpu/incremental_gpu.sh built
llama-cpp-python with CUDA:

* the model is ggufgen's 27B-shaped Qwen 3.5 GGUF (64 layers, 48 Gated DeltaNet + 16
  attention, Q4_K_M sizes; sparse zero weights, as bench/gpu/suite.py: memory and timing
  follow the shape, the answers mean nothing);
* the repository is this one's ``repoctx/`` sources, whole files in path order up to
  ~60K Qwen tokens, so the review and the hook pack all of it in a 64K context;
* cases (a) cold review, (b) nothing changed, (c) a late file edited, (d) an early file
  edited — with one loaded model (``memory``: what ``repoctx serve`` keeps) and a new load
  per case resuming from the state cache (``disk``: ~4.3 GiB KV + 16 × 150 MiB checkpoints
  per state) — and (e) the hook on a one-file commit against a warm ``repoctx serve``.

Every case appends a JSON line to ``$OUT/results.jsonl`` as soon as it is measured, with
``target_s`` and ``met`` for the issue's targets: (b) ≤ 1 s, (c) ≤ 5 s, (e) ≤ 5 s to the
first token. ``CASES=review`` or ``CASES=hook`` splits the run over two device calls.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import time
import types
from pathlib import Path
from typing import Any

import llama_cpp  # noqa: F401  (before numpy: DESIGN.md §7)

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(os.environ.get("OUT", "/tmp/out"))
TINY = os.environ.get("SUITE_TINY") == "1"  # check the script on the tiny hybrid, any machine
BUDGET = 3_000 if TINY else 62_000  # + answer and instructions: a 64K context
TARGETS = {"b again": 1.0, "c late edit": 5.0, "e same file again": 5.0,
           "e another file (middle)": 5.0}  # fmt: skip


def emit(step: str, **data: Any) -> None:
    with open(OUT / "results.jsonl", "a") as stream:
        stream.write(json.dumps({"step": step, "t": round(time.time(), 1), **data}) + "\n")
    print(f"[{step}] {json.dumps(data)[:400]}", flush=True)


def model() -> Path:
    shim = types.ModuleType("pytest")  # ggufgen's fixtures decorate with pytest.fixture
    shim.fixture = lambda **_: lambda f: f  # type: ignore[attr-defined]
    sys.modules.setdefault("pytest", shim)
    sys.path.insert(0, str(ROOT / "tests"))
    ggufgen = importlib.import_module("ggufgen")

    started = time.time()
    if TINY:
        path = ggufgen.cached_qwen35_hybrid()
    elif Path("/tmp/qwen35-27b.gguf").exists():  # written by an earlier step of the session
        path = Path("/tmp/qwen35-27b.gguf")
    else:
        path = ggufgen.write_27b_header("/tmp/qwen35-27b.gguf")
    emit("gen", path=str(path), seconds=round(time.time() - started, 1))
    return Path(path)


def source(limit: int) -> Path:
    """This repository's ``repoctx/`` files in path order, up to ``limit`` Qwen tokens."""
    from repoctx.scanning.tokens import qwen35

    counter = qwen35()
    out = Path("/tmp/incremental-src/repoctx_src")
    shutil.rmtree(out.parent, ignore_errors=True)
    total = 0
    for path in sorted((ROOT / "repoctx").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        cost = counter.count(text) + 30  # the block's own markers
        if total + cost > limit:
            continue
        target = out / path.relative_to(ROOT / "repoctx")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        total += cost
    emit("source", files=sum(1 for _ in out.rglob("*.py")), tokens=total)
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT / "bench"))
    incremental = importlib.import_module("incremental")

    def log(case: str, row: dict[str, Any]) -> None:
        key = case.split(" (")[0]
        first = row.get("ttft_s", (row.get("timings") or {}).get("first_token"))
        target = TARGETS.get(key)
        met = None if target is None or first is None else first <= target
        emit("incremental", case=case, target_s=target, met=met, **row)

    gguf = model()
    src = source(int(BUDGET * 0.93))  # room for the summary, tree and file markers
    work = Path("/tmp/incremental-work")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cases = os.environ.get("CASES", "review,hook")
    result = incremental.measure(gguf, src, BUDGET, work, log, cases)
    emit("done", table=incremental.table(result))


if __name__ == "__main__":
    main()
