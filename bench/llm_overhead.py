"""Our llama.cpp wrapper vs bare llama-cpp-python: prefill and decode tokens/s, same model.

    python bench/llm_overhead.py [--model GGUF] [--prompt-tokens 4096] [--decode 128]
                                 [--n-gpu-layers -1] [--repeats 3]

Both sides load the same GGUF with the same n_ctx / n_batch / n_ubatch / flash attention /
offload. Bare: ``Llama.eval`` on the whole prompt, then ``Llama.generate`` (greedy) from the
evaluated prompt. Ours: ``LlamaCppBackend.prefill`` (chunked, with progress events and a
snapshot-capable state keeper) and ``stream`` (sampler chain, UTF-8 and think splitting).
Each side's best of ``--repeats`` runs is reported; the target is ≤ 3 % overhead.
Default model: the embedded Gemma 3 270M (CPU); pass a Qwen 3.5 GGUF on a GPU box.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import llama_cpp  # before numpy (see repoctx/llm/runtime.py)


def _bare_llama(path: Path, n_ctx: int, n_batch: int, ngl: int) -> llama_cpp.Llama:
    from repoctx.llm.runtime import cpu_has_amx

    if cpu_has_amx():  # same AMX workaround as ours, or bare llama-cpp-python segfaults here
        default = llama_cpp.llama_model_default_params

        def params() -> llama_cpp.llama_model_params:
            p = default()
            p.use_extra_bufts = False
            return p

        llama_cpp.llama_model_default_params = params
        llama_cpp.llama_cpp.llama_model_default_params = params
    return llama_cpp.Llama(
        str(path), n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_batch, flash_attn=True,
        n_gpu_layers=ngl, verbose=False,
    )  # fmt: skip


def bench_bare(path: Path, tokens: list[int], n_decode: int, n_ctx: int, n_batch: int,
               ngl: int) -> tuple[float, float]:  # fmt: skip
    llm = _bare_llama(path, n_ctx, n_batch, ngl)
    llm.reset()
    t0 = time.perf_counter()
    llm.eval(tokens)
    prefill = len(tokens) / (time.perf_counter() - t0)
    # decode through Llama.generate (its sampler is built once; the prompt is already
    # evaluated, so generate only samples and evaluates the new tokens)
    t0 = time.perf_counter()
    produced = 0
    for _ in llm.generate(tokens, temp=0.0, top_k=1):
        produced += 1
        if produced == n_decode:
            break
    decode = produced / (time.perf_counter() - t0)
    llm.close()
    return prefill, decode


def bench_ours(path: Path, tokens: list[int], n_decode: int, n_ctx: int, n_batch: int,
               ngl: int) -> tuple[float, float]:  # fmt: skip
    from repoctx.llm.base import Options
    from repoctx.llm.llamacpp import LlamaCppBackend
    from repoctx.llm.runtime import LoadSettings

    settings = LoadSettings(n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_batch, n_gpu_layers=ngl)
    backend = LlamaCppBackend(path, settings)
    t0 = time.perf_counter()
    for _ in backend.prefill(tokens):
        pass
    prefill = len(tokens) / (time.perf_counter() - t0)
    opts = Options(temperature=0, max_tokens=n_decode)
    stats = None
    for event in backend._generate(opts, False, _empty_stats()):
        stats = getattr(event, "stats", stats)
    backend.close()
    assert stats is not None
    return prefill, stats.decode_tokens_per_s


def _empty_stats():  # type: ignore[no-untyped-def]
    from repoctx.llm.base import Stats

    return Stats()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--prompt-tokens", type=int, default=2048)
    ap.add_argument("--decode", type=int, default=64)
    ap.add_argument("--n-batch", type=int, default=512)
    ap.add_argument("--n-gpu-layers", type=int, default=-1)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from repoctx.llm.fallback import fallback_model_path
    from repoctx.llm.runtime import LoadSettings, Runtime

    path = args.model or fallback_model_path()
    n_ctx = args.prompt_tokens + args.decode + 256
    rt = Runtime(path, LoadSettings(n_ctx=512, n_batch=64))
    text = Path(__file__).resolve().parent.parent.joinpath("repoctx/llm/llamacpp.py").read_text()
    tokens = (rt.tokenize(text * 50, add_special=True))[: args.prompt_tokens]
    rt.close()
    rows = {"bare": [], "ours": []}  # type: dict[str, list[tuple[float, float]]]
    for _ in range(args.repeats):  # interleaved so machine noise hits both sides alike
        common = (path, tokens, args.decode, n_ctx, args.n_batch, args.n_gpu_layers)
        rows["bare"].append(bench_bare(*common))
        rows["ours"].append(bench_ours(*common))
    best = {k: (max(r[0] for r in v), max(r[1] for r in v)) for k, v in rows.items()}
    result = {
        "model": path.name, "prompt_tokens": len(tokens), "decode_tokens": args.decode,
        "bare_prefill_tok_s": round(best["bare"][0], 1),
        "ours_prefill_tok_s": round(best["ours"][0], 1),
        "bare_decode_tok_s": round(best["bare"][1], 2),
        "ours_decode_tok_s": round(best["ours"][1], 2),
        "prefill_overhead_pct": round(100 * (1 - best["ours"][0] / best["bare"][0]), 2),
        "decode_overhead_pct": round(100 * (1 - best["ours"][1] / best["bare"][1]), 2),
    }  # fmt: skip
    print(json.dumps(result))


if __name__ == "__main__":
    main()
