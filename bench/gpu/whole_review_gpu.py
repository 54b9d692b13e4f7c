"""GPU comparison for a whole-repo review (issue 8): the same part prompts through
llama-cpp-python one pack at a time (what ``repoctx review --whole --model`` does) and
through llama-server with N parallel slots (what ``--server URL --parallel N`` does).

NOT RUN YET: written while this project's device time was used up; bench/gpu/
whole_review_gpu.sh drives it on the device machine (DESIGN.md §7).

    # here (any machine with repoctx and the repository): the exact part prompts
    python bench/gpu/whole_review_gpu.py prepare --repo bench/.work/django-5.2.19 \\
        --budget 32768 --packs 16 --out bench/gpu/.devcarry/whole_parts.jsonl
    # on the device, through the shell script:
    python3 bench/gpu/whole_review_gpu.py local --model M.gguf --parts P --ctx 34816
    python3 bench/gpu/whole_review_gpu.py server --url http://127.0.0.1:8080 --parts P \\
        --parallel 4

Scan, plan and render happen on the CPU before any model runs, so they are done once here
and carried; the device measures only the model's side, through repoctx's own backends
(``LlamaCppBackend``; ``OpenAICompatBackend`` on ``whole_run.Pool``'s threads). Output:
one JSON object on stdout with the wall time, tokens in/out and per-pack seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def prepare(args: argparse.Namespace) -> int:
    import repoctx
    from repoctx.llm.base import Options
    from repoctx.packing.plan import plan_packs, render_packs
    from repoctx.review.whole.prompts import Spec, part_prompt

    repo = repoctx.scan(args.repo)
    plan = plan_packs(repo, args.budget, fmt="qwen")
    spec = Spec(repo.root.name, "bench", Options(max_tokens=args.max_tokens, think=False))
    middle = max(0, len(plan.packs) // 2 - args.packs // 2)  # typical packs, not the edges
    with args.out.open("w", encoding="utf-8") as out:
        for number, planned in enumerate(plan.packs[middle:middle + args.packs], 1):
            for _, packed in render_packs(repo, plan, planned, "qwen"):
                prompt, options, _ = part_prompt(repo, spec, packed.text, planned.files,
                                                 number, args.packs)
                out.write(json.dumps({
                    "number": number, "tokens": packed.total_tokens,
                    "messages": [[m.role, m.content] for m in prompt.messages],
                    "max_tokens": options.max_tokens}) + "\n")  # fmt: skip
    print(f"{args.out}: {args.packs} of {len(plan.packs)} packs at {args.budget}", file=sys.stderr)
    return 0


def _parts(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _prompt(part: dict[str, Any]) -> Any:
    from repoctx.llm.base import Message, Prompt

    messages = tuple(Message(role, content) for role, content in part["messages"])
    return Prompt(messages, prefix_messages=1)


def _options(part: dict[str, Any]) -> Any:
    from repoctx.llm.base import Options

    # random weights: the answer runs to max_tokens, so both sides decode the same amount
    return Options(max_tokens=part["max_tokens"], temperature=0.6, seed=1, think=False)


def local(args: argparse.Namespace) -> int:
    import llama_cpp  # noqa: F401  (before numpy: see repoctx/llm/runtime.py)

    from repoctx.llm.base import collect
    from repoctx.llm.llamacpp import LlamaCppBackend
    from repoctx.llm.runtime import LoadSettings

    parts = _parts(args.parts)
    backend = LlamaCppBackend(args.model, LoadSettings(n_ctx=args.ctx, n_batch=2048,
                                                        n_ubatch=512, n_gpu_layers=-1))
    rows = []
    started = time.perf_counter()
    try:
        for part in parts:
            began = time.perf_counter()
            result = collect(backend.stream(_prompt(part), _options(part)))
            rows.append({"number": part["number"], "seconds": time.perf_counter() - began,
                         "in": result.stats.prompt_tokens, "out": result.stats.output_tokens})
    finally:
        backend.close()
    _report("llama-cpp-python, one pack at a time", started, rows)
    return 0


def server(args: argparse.Namespace) -> int:
    from repoctx.llm.openai_compat import OpenAICompatBackend
    from repoctx.review.whole.run import Part, Pool

    parts = _parts(args.parts)
    backend = OpenAICompatBackend(args.url)
    pool = Pool(args.parallel, backend)
    rows = []
    started = time.perf_counter()
    try:
        for part in parts:
            pool.submit(Part(part["number"], (), (), part["tokens"], 0, _prompt(part),
                             _options(part), ""))
        while pool.pending:
            done, answer = pool.next()
            if answer.error is not None:
                raise answer.error
            rows.append({"number": done.number, "seconds": answer.seconds,
                         "in": answer.stats.prompt_tokens, "out": answer.stats.output_tokens})
    finally:
        pool.close()
        backend.close()
    _report(f"llama-server, --parallel {args.parallel}", started, rows)
    return 0


def _report(label: str, started: float, rows: list[dict[str, Any]]) -> None:
    wall = time.perf_counter() - started
    out = sum(r["out"] for r in rows)
    print(json.dumps({"leg": label, "packs": len(rows), "wall_s": round(wall, 2),
                      "tokens_in": sum(r["in"] for r in rows), "tokens_out": out,
                      "out_per_s": round(out / wall, 1) if wall else 0.0,
                      "per_pack": sorted(rows, key=lambda r: r["number"])}, indent=1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--repo", type=Path, default=Path("bench/.work/django-5.2.19"))
    p.add_argument("--budget", type=int, default=32768)
    p.add_argument("--packs", type=int, default=16)
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--out", type=Path, default=Path("bench/gpu/.devcarry/whole_parts.jsonl"))
    p = sub.add_parser("local")
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--parts", type=Path, required=True)
    p.add_argument("--ctx", type=int, default=34816)
    p = sub.add_parser("server")
    p.add_argument("--url", required=True)
    p.add_argument("--parts", type=Path, required=True)
    p.add_argument("--parallel", type=int, default=4)
    args = parser.parse_args()
    return {"prepare": prepare, "local": local, "server": server}[args.what](args)


if __name__ == "__main__":  # the scan spawns worker processes: keep work under main
    raise SystemExit(main())
