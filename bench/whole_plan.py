"""Whole-repo plans on a large repository: plan time and pack count at several budgets.

    python bench/whole_plan.py [REPO] [--budgets 32768,65536,131072] [--runs 5] [--json FILE]

REPO defaults to bench/.work/django-5.2.19 (the PyPI sdist, unpacked). The repository is
scanned once with the user's scan cache (warm after the first run; the scan is not what is
measured), then ``multipack.plan_packs`` is timed ``--runs`` times per budget (median and min
of wall time; CPU time too, since this machine is shared). One pack per budget is also
rendered, timed the same way: a whole review renders every pack once, just before the model
reads it. Also reported: how many packs change their files when one file grows by 200 tokens
(12 files spread over the order, one at a time) — packs a re-run after such an edit reviews
again besides the edited one (its text changed anyway).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

DEFAULT_REPO = Path(__file__).parent / ".work" / "django-5.2.19"


def _timed(fn: Any, runs: int) -> tuple[Any, list[float], list[float]]:
    walls, cpus, result = [], [], None
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return result, walls, cpus


def _shifted(repo: Any, plan: Any, budget: int, samples: int = 12,
             growth: int = 200) -> dict[str, Any]:
    """Packs whose file list changes when one file grows by ``growth`` tokens, for files
    spread evenly over the order: what a re-run after such an edit reviews again."""
    from repoctx.packing.plan import plan_packs

    order = [p for pack in plan.packs for p in pack.files]
    before = {p.files for p in plan.packs}
    changed: list[int] = []
    for path in order[len(order) // (2 * samples)::max(1, len(order) // samples)][:samples]:
        entry = repo.files[path]
        repo.files[path] = replace(entry, tokens=(entry.tokens or 0) + growth)
        try:
            grown = plan_packs(repo, budget, fmt="qwen")
        finally:
            repo.files[path] = entry
        changed.append(sum(1 for p in grown.packs if p.files not in before))
    return {"edits": len(changed), "growth": growth, "changed_median": statistics.median(changed),
            "changed_max": max(changed), "changed_unchanged_plans": changed.count(0)}


def measure(root: Path, budgets: list[int], runs: int) -> dict[str, Any]:
    import repoctx
    from repoctx.packing.plan import plan_packs, render_packs
    from repoctx.review.whole.job import source_tokens
    from repoctx.scanning.cache import Cache

    cache = Cache()
    try:
        repo = repoctx.scan(root, cache=cache)
    finally:
        cache.close()
    rows = []
    for budget in budgets:
        plan, walls, cpus = _timed(lambda b=budget: plan_packs(repo, b, fmt="qwen"), runs)
        middle = plan.packs[len(plan.packs) // 2]
        _, render_walls, _ = _timed(lambda p=plan, m=middle: render_packs(repo, p, m, "qwen"),
                                    max(1, runs // 2))
        rows.append({
            "budget": budget, "packs": len(plan.packs), "files": plan.files,
            "skeleton_only": len(plan.skeleton_only), "split_cycles": len(plan.split_cycles),
            "largest_split_cycle": max((len(c) for c in plan.split_cycles), default=0),
            "plan_s_median": statistics.median(walls), "plan_s_min": min(walls),
            "plan_cpu_s_median": statistics.median(cpus),
            "render_one_pack_s": statistics.median(render_walls),
            **_shifted(repo, plan, budget),
        })  # fmt: skip
    return {"repo": root.name, "files": len(repo.files), "source_tokens": source_tokens(repo),
            "runs": runs, "budgets": rows}


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['repo']}: {result['files']:,} files, {result['source_tokens']:,} source "
        f"tokens (Qwen 3.5); median of {result['runs']} runs.",
        "",
        "| budget | packs | files in full | skeleton only | split cycles (largest) "
        "| plan (s, median / min) | plan CPU (s) | render one pack (s) "
        "| packs re-planned when one file grows 200 tokens |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in result["budgets"]:
        lines.append(
            f"| {row['budget'] // 1024}K | {row['packs']} | {row['files']:,} "
            f"| {row['skeleton_only']} | {row['split_cycles']} ({row['largest_split_cycle']}) "
            f"| {row['plan_s_median']:.2f} / {row['plan_s_min']:.2f} "
            f"| {row['plan_cpu_s_median']:.2f} | {row['render_one_pack_s']:.2f} "
            f"| median {row['changed_median']:g}, max {row['changed_max']} "
            f"({row['changed_unchanged_plans']} of {row['edits']} edits shift no pack) |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repo", nargs="?", type=Path, default=DEFAULT_REPO)
    parser.add_argument("--budgets", default="32768,65536,131072")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = parser.parse_args()
    if not args.repo.is_dir():
        print(f"{args.repo}: not a directory (see bench/README.md)", file=sys.stderr)
        return 2
    result = measure(args.repo, [int(b) for b in args.budgets.split(",")], args.runs)
    sys.stdout.write(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":  # the scan spawns worker processes: keep imports under main
    raise SystemExit(main())
