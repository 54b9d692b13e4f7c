"""Incremental ingest (issue 9): time to the first token when the repo changed a little.

    python bench/incremental.py [--model GGUF] [--source DIR] [--budget N] [--json OUT]

The medium repository is ``--source`` (default: ``h11`` as installed here, 12 files, ~24K
Qwen tokens) copied into a fresh git repository. The review prompt is the real one
(``prepare_fitted``: pack + static facts + instructions); the hook runs for real
(``repoctx.hook.run.run`` in a probe process against a real ``repoctx serve``). Cases:

* (a) cold: a new process, empty state cache: the whole prompt is read;
* (b) again, nothing changed; (c) one late file edited (the last in the pack);
  (d) one early file edited (the first): each twice — a new process resuming from the
  state the previous one saved (``disk``), and one loaded model answering in turn
  (``memory``: what ``repoctx serve`` and the TUI keep);
* (e) the hook on a one-file commit, ``repoctx serve`` warm: the same file committed again,
  and another file (one in the middle of the pack).

Time to first token (TTFT) runs from the request to the first answer event (model load
excluded; reported apart). Effective ingest rate = prompt tokens / TTFT (what the user
sees); prefill rate = tokens actually evaluated / prefill seconds (llama.cpp's speed).
bench/gpu/incremental_gpu.py runs the same on the 27B shape at 64K.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import llama_cpp  # noqa: F401  (before numpy: repoctx/llm/runtime.py)

CLI = [sys.executable, "-c", "import sys; from repoctx.cli import main; sys.exit(main())"]
PROBE = """
import json, os, sys
from pathlib import Path
from repoctx.hook import run as hook
outcome, _ = hook.run(Path.cwd(), json.loads(sys.argv[1]), os.environ)
s = outcome.stats
print(json.dumps({"kind": outcome.kind, "reason": outcome.reason, "timings": outcome.timings,
                  "prompt_tokens": s.prompt_tokens if s else None,
                  "cached_tokens": s.cached_tokens if s else None}))
"""
EDIT = '\n\ndef _bench_edit_{n}(value):\n    """Added by the benchmark."""\n    return value\n'
Log = Callable[[str, dict[str, Any]], None]  # (case, its row) as soon as it is measured


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def medium_repo(source: Path, where: Path, budget: int) -> Path:
    """``source`` in a new git repo; the hook config packs all of it (budget)."""
    root = where / "medium"
    shutil.copytree(source, root / source.name, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pyproject.toml").write_text(
        f"[tool.repoctx.hook]\nbudget = {budget}\nmax_suggestions = 2\ntimeout_s = 3000\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "bench")
    git(root, "config", "user.email", "bench@example.com")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "import")
    return root


def edit(root: Path, rel: str, n: int) -> None:
    with (root / rel).open("a", encoding="utf-8") as f:
        f.write(EDIT.format(n=n))


class Reviewer:
    """The review's prompt for ``root`` and its TTFT on a backend (new or kept)."""

    def __init__(self, root: Path, model: Path, ctx: int, budget: int, states: Path | None):
        self.root, self.model, self.ctx, self.budget, self.states = root, model, ctx, budget, states

    def load(self, *, disk: bool = True) -> tuple[Any, float]:
        from repoctx.llm.llamacpp import LlamaCppBackend
        from repoctx.llm.prefix_states import StateStore
        from repoctx.llm.runtime import LoadSettings

        started = time.perf_counter()
        store = StateStore(self.states) if self.states and disk else None
        backend = LlamaCppBackend(self.model, LoadSettings(n_ctx=self.ctx), states=store)
        return backend, time.perf_counter() - started

    def order(self, backend: Any) -> list[str]:
        """Emitted files in pack order."""
        pack = self._prepared(backend).pack
        return [e.path for e in sorted(pack.files, key=lambda e: e.position or 0)
                if e.tier == "full"]  # fmt: skip

    def _prepared(self, backend: Any) -> Any:
        import repoctx
        from repoctx.llm.base import Options
        from repoctx.review.job import prepare_fitted

        plain = not backend.has_chat_template
        options = Options(max_tokens=16, temperature=0.0, think=False)
        return prepare_fitted(repoctx.scan(self.root), backend.count_tokens,
                              backend.context_length, budget=self.budget, plain=plain,
                              options=options)  # fmt: skip

    def ttft(self, backend: Any) -> dict[str, Any]:
        from repoctx.llm.base import Done, PrefillProgress

        prepared = self._prepared(backend)
        started = time.perf_counter()
        first, stats = None, None
        for event in backend.stream(prepared.prompt, prepared.options):
            if first is None and not isinstance(event, PrefillProgress):
                first = time.perf_counter() - started
            if isinstance(event, Done):
                stats = event.stats
        assert stats is not None and first is not None
        evaluated = stats.prompt_tokens - stats.cached_tokens
        return {"ttft_s": round(first, 3), "prompt_tokens": stats.prompt_tokens,
                "cached_tokens": stats.cached_tokens, "prefill_s": round(stats.prefill_s, 3),
                "effective_tok_s": round(stats.prompt_tokens / first, 1),
                "prefill_tok_s": round(evaluated / stats.prefill_s, 1) if evaluated else None}


def review_cases(rv: Reviewer, late: str, early: str, log: Log) -> dict[str, Any]:
    """(a)–(d): in memory (one backend), then from disk (a new backend per case)."""
    originals = {p: (rv.root / p).read_text(encoding="utf-8") for p in (late, early)}
    out: dict[str, Any] = {}
    for mode in ("memory", "disk"):
        for path, text in originals.items():
            (rv.root / path).write_text(text, encoding="utf-8")
        if rv.states is not None:
            shutil.rmtree(rv.states, ignore_errors=True)  # (a) is cold in both modes
        kept = None
        for case, change in (("a cold", None), ("b again", None), ("c late edit", late),
                             ("d early edit", early)):  # fmt: skip
            if change:
                edit(rv.root, change, len(out))
            if mode == "memory" and case != "a cold" and kept is not None:
                backend, load_s = kept, 0.0
            else:
                backend, load_s = rv.load(disk=mode == "disk")
            row = {**rv.ttft(backend), "load_s": round(load_s, 2)}
            if mode == "disk" or case == "d early edit":
                backend.close()  # saves the prefix state (disk mode)
            else:
                kept = backend
            out[f"{case} ({mode})"] = row
            log(f"{case} ({mode})", row)
    for path, text in originals.items():
        (rv.root / path).write_text(text, encoding="utf-8")
    return out


def start_serve(model: Path, ctx: int, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    from repoctx.running import read_state
    from repoctx.serve.client import wait_ready

    began = time.perf_counter()
    proc = subprocess.Popen([*CLI, "serve", "--model", str(model), "--port", "0", "--ctx",
                             str(ctx)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    while time.perf_counter() - began < 1800:
        state = read_state(env)
        if state is not None and state.pid == proc.pid and wait_ready(state.url, 5):
            return proc, state.url
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("repoctx serve did not start")


def probe(root: Path, env: dict[str, str]) -> dict[str, Any]:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PROBE, "{}"], cwd=root, env=env,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"probe failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = round(time.perf_counter() - began, 2)
    first = result["timings"].get("first_token")
    if first and result["prompt_tokens"]:
        result["effective_tok_s"] = round(result["prompt_tokens"] / first, 1)
    return result


def hook_cases(root: Path, model: Path, ctx: int, late: str, middle: str, cache: Path,
               log: Log) -> dict[str, Any]:  # fmt: skip
    """(e): commits through the hook with ``repoctx serve`` warm."""
    env = {**os.environ, "REPOCTX_CACHE_DIR": str(cache)}
    env.pop("REPOCTX_SERVER", None)
    proc, _url = start_serve(model, ctx, env)
    out: dict[str, Any] = {}
    try:
        for n, (case, path) in enumerate((("e first commit (reads all)", late),
                                          ("e same file again", late),
                                          ("e another file (middle)", middle))):  # fmt: skip
            edit(root, path, 100 + n)
            git(root, "add", path)
            out[case] = {"file": path, **probe(root, env)}
            git(root, "commit", "-q", "--no-verify", "-m", case)
            log(case, out[case])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(300)
    return out


def measure(model: Path, source: Path, budget: int, work: Path, log: Log,
            cases: str = "review,hook") -> dict[str, Any]:  # fmt: skip
    from repoctx.llm.open import PROMPT_OVERHEAD

    root = medium_repo(source, work, budget)
    ctx = budget + PROMPT_OVERHEAD + 1024
    rv = Reviewer(root, model, ctx, budget, work / "states")
    backend, load_s = rv.load()
    order = rv.order(backend)
    backend.close()
    py = [p for p in order if p.endswith(".py")]
    late, early, middle = py[-1], py[0], py[len(py) // 2]
    out: dict[str, Any] = {"model": str(model), "repo": f"{source.name} ({len(order)} files)",
                           "ctx": ctx, "budget": budget, "late": late, "early": early,
                           "middle": middle, "cpus": os.cpu_count(), "load_s": round(load_s, 2),
                           "loadavg_before": os.getloadavg()}  # fmt: skip
    if "review" in cases:
        out.update(review_cases(rv, late, early, log))
    if "hook" in cases:
        out.update(hook_cases(root, model, ctx, late, middle, work / "serve-cache", log))
    out["loadavg_after"] = os.getloadavg()
    return out


def table(result: dict[str, Any]) -> str:
    rows = ["| case | TTFT (s) | prompt tokens | reused | effective tok/s | prefill tok/s |",
            "|---|---|---|---|---|---|"]
    for case, r in result.items():
        if not isinstance(r, dict) or "prompt_tokens" not in r:
            continue
        ttft = r.get("ttft_s", r.get("timings", {}).get("first_token"))
        rate = r.get("prefill_tok_s")
        rows.append(f"| {case} | {ttft:.2f} | {r['prompt_tokens']:,} | {r['cached_tokens']:,} "
                    f"| {r.get('effective_tok_s', 0):,.0f} | "
                    f"{'' if rate is None else f'{rate:,.0f}'} |")  # fmt: skip
    return "\n".join(rows)


def _log(case: str, row: dict[str, Any]) -> None:
    print(f"{case}: {json.dumps(row)}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None,
                        help="GGUF (default: the embedded Gemma 3 270M)")
    parser.add_argument("--source", type=Path, default=None, help="default: h11 (site-packages)")
    parser.add_argument("--budget", type=int, default=30_000, help="pack budget (tokens)")
    parser.add_argument("--cases", default="review,hook")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    if args.model is None:
        from repoctx.llm.fallback import fallback_model_path

        args.model = fallback_model_path()
    if args.source is None:
        import h11

        args.source = Path(h11.__file__).parent
    with tempfile.TemporaryDirectory(prefix="repoctx-incremental-") as tmp:
        result = measure(args.model, args.source, args.budget, Path(tmp), _log, args.cases)
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
