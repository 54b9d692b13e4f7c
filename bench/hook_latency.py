"""Hook latency on a one-file commit in a medium repository: warm `repoctx serve` vs cold load.

    python bench/hook_latency.py [--model GGUF] [--runs 3] [--source DIR] [--json OUT]

The medium repository is a copy of a package directory (default: ``rich`` as installed in
this interpreter's site-packages, ~100 Python files / 38K lines) in a fresh git repository
with one staged change (a function added to one module). Every measurement is a fresh
process, as git runs the hook, timed from outside (wall clock, interpreter start included):

* ``nothing staged``: the start-up path (argparse, gitpython, two git calls);
* ``REPOCTX_HOOK=off``: the cheapest skip;
* ``cold``: the hook loads the GGUF itself (``--model``), scans, packs and asks;
* ``warm, first``: ``repoctx serve`` holds the model; the repo prefix is not evaluated yet;
* ``warm, again``: the same staged change again (a re-run after a refused commit): the
  server answers from its prefix snapshot;
* ``warm, next commit``: the change committed, another module changed and staged: the pack
  focuses elsewhere, so the prefix differs and is read again (issue 9 makes this cheap).

For the model runs a probe process calls :func:`repoctx.hook.run.run` and prints the core's own
stage timings (scan, model load/connect, pack, time to first token, answer). The default
model is the embedded Gemma 3 270M on the CPU; GPU numbers come from passing the 27B GGUF.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CLI = [sys.executable, "-c", "import sys; from repoctx.cli import main; sys.exit(main())"]
PROBE = """
import json, os, sys, time
from pathlib import Path
from repoctx.hook import run as hook
outcome, _ = hook.run(Path.cwd(), json.loads(sys.argv[1]), os.environ)
stats = outcome.stats
print(json.dumps({"kind": outcome.kind, "reason": outcome.reason, "model": outcome.model,
                  "findings": len(outcome.findings), "timings": outcome.timings,
                  "prompt_tokens": stats.prompt_tokens if stats else None,
                  "output_tokens": stats.output_tokens if stats else None}))
"""
CHANGE = '''

def describe_padding(padding: "Padding", verbose: bool = False) -> str:
    """A one-line description of a Padding, for debugging."""
    parts = []
    for name in ("top", "right", "bottom", "left"):
        parts.append(f"{name}={getattr(padding, name)}")
    if verbose == True:
        return "Padding(" + ", ".join(parts) + ", renderable=" + repr(padding.renderable) + ")"
    return "Padding(" + ", ".join(parts) + ")"
'''


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout  # fmt: skip


def medium_repo(source: Path, where: Path) -> Path:
    """Copy ``source`` into a new git repo and commit it."""
    root = where / "medium"
    shutil.copytree(source, root / source.name, ignore=shutil.ignore_patterns("__pycache__"))
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "bench")
    git(root, "config", "user.email", "bench@example.com")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "import")
    return root


def stage_change(root: Path, package: str, name: str = "padding.py") -> str:
    """Add a function to one module (padding.py in rich) and stage it."""
    modules = sorted(p for p in (root / package).glob("*.py") if p.stat().st_size > 2000)
    target = next((p for p in modules if p.name == name), modules[len(modules) // 2])
    with target.open("a", encoding="utf-8") as f:
        f.write(CHANGE)
    rel = target.relative_to(root).as_posix()
    git(root, "add", rel)
    return rel


def timed(
    cmd: list[str], cwd: Path, env: dict[str, str]
) -> tuple[float, subprocess.CompletedProcess[str]]:
    began = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - began, done


def probe(root: Path, env: dict[str, str], cli: dict[str, Any]) -> dict[str, Any]:
    wall, done = timed([sys.executable, "-c", PROBE, json.dumps(cli)], root, env)
    if done.returncode != 0:
        raise SystemExit(f"probe failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def start_serve(model: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, float]:
    from repoctx.running import read_state
    from repoctx.serve.client import wait_ready

    began = time.perf_counter()
    proc = subprocess.Popen([*CLI, "serve", "--model", str(model), "--port", "0"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    while time.perf_counter() - began < 600:
        state = read_state(env)
        if state is not None and state.pid == proc.pid and wait_ready(state.url, 5):
            return proc, state.url, time.perf_counter() - began
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("repoctx serve did not start")


def summary(runs: list[float]) -> dict[str, float]:
    return {"median_s": statistics.median(runs), "min_s": min(runs), "max_s": max(runs)}


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    root = medium_repo(args.source, work)
    empty = root.parent / "empty"  # the same repo with nothing staged
    shutil.copytree(root, empty)
    changed = stage_change(root, args.source.name)
    env = {**os.environ, "REPOCTX_CACHE_DIR": str(work / "cache")}
    env.pop("REPOCTX_SERVER", None)
    files = len(git(root, "ls-files").splitlines())
    out: dict[str, Any] = {"repo": f"{args.source.name} ({files} files)", "changed": changed,
                           "model": str(args.model), "cpus": os.cpu_count(),
                           "loadavg_before": os.getloadavg()}  # fmt: skip
    out["nothing staged"] = summary([timed([*CLI, "hook", "run"], empty, env)[0]
                                     for _ in range(max(5, args.runs))])  # fmt: skip
    off = {**env, "REPOCTX_HOOK": "off"}
    out["REPOCTX_HOOK=off"] = summary([timed([*CLI, "hook", "run"], root, off)[0]
                                       for _ in range(max(5, args.runs))])  # fmt: skip
    # the per-file cache is warm in daily use: fill it once, untimed
    timed([*CLI, "pack", ".", "--budget", "4096", "--output", os.devnull], root, env)
    limit = {"timeout_s": 900}  # measure the whole answer, not the hook's 90 s cut
    out["cold"] = [probe(root, env, {"model": str(args.model), **limit})
                   for _ in range(args.runs)]  # fmt: skip
    proc, url, load_s = start_serve(args.model, env)
    try:
        from repoctx.serve.client import health

        out["serve start (model load)"] = load_s
        out["serve n_ctx"] = (health(url) or {}).get("n_ctx")
        out["warm, first"] = probe(root, env, limit)
        out["warm, again"] = [probe(root, env, limit) for _ in range(args.runs)]
        sample = subprocess.run([*CLI, "hook", "run"], cwd=root, env=env, capture_output=True,
                                text=True)  # fmt: skip
        out["sample output"] = sample.stdout + sample.stderr
        git(root, "commit", "-q", "--no-verify", "-m", "first change")
        out["next commit"] = stage_change(root, args.source.name, name="rule.py")
        out["warm, next commit"] = probe(root, env, limit)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    out["loadavg_after"] = os.getloadavg()
    return out


def table(result: dict[str, Any]) -> str:
    rows = ["| case | wall (s) | scan | load | pack | first token | answer | tokens in/out |",
            "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for case in ("nothing staged", "REPOCTX_HOOK=off"):
        s = result[case]
        rows.append(f"| {case} | {s['median_s']:.2f} (min {s['min_s']:.2f}) | | | | | | |")
    for case in ("cold", "warm, first", "warm, again", "warm, next commit"):
        runs = result[case] if isinstance(result[case], list) else [result[case]]
        for r in runs:
            t = r["timings"]
            cells = [f"{t.get(k, 0):.2f}" for k in ("scan", "load", "pack", "first_token",
                                                    "answer")]  # fmt: skip
            rows.append(f"| {case} | {r['wall_s']:.2f} | {' | '.join(cells)} | "
                        f"{r['prompt_tokens']}/{r['output_tokens']} |")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None,
                        help="GGUF to use (default: the embedded Gemma 3 270M)")
    parser.add_argument("--source", type=Path, default=None,
                        help="directory to commit as the medium repo (default: rich)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args()
    if args.model is None:
        from repoctx.llm.fallback import fallback_model_path

        args.model = fallback_model_path()
    if args.source is None:
        import rich

        args.source = Path(rich.__file__).parent
    with tempfile.TemporaryDirectory(prefix="repoctx-hook-bench-") as tmp:
        result = measure(args, Path(tmp))
    print(table(result))
    print(result["sample output"])
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
