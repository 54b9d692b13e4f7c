"""Fit the relevance model's weights with leave-one-repository-out cross-validation.

Reads the signals ``bench/relevance.py --features`` dumped per case (every file some signal
names, with its token costs, and the files the commit really changed with the focus), fits a
logistic regression of "changed with the focus" on the signals, and scores each held-out
repository by simulating the pack's plan (``repoctx.packing.relevance.knapsack.plan``) at 16K and
32K. A fold never sees its repository: the figures are what an unseen repository gets.
Repositories weigh the same in the fit, whatever their number of cases.

    python bench/relevance_fit.py   # CV table and ablation (Markdown), weights fitted on all

The simulation counts only the plan (the packer may still upgrade a skeleton or add files
the plan left, so the real benchmark's figures are a little higher); the real figures come
from ``bench/relevance.py`` with the weights this script prints.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from repoctx.packing.relevance import knapsack, model, signals  # noqa: E402

FEATURES = HERE / ".work" / "relevance" / "features.json"
BUDGETS = (16_384, 32_768)
Case = dict[str, object]


def load() -> dict[str, list[list[Case]]]:
    """repo → commits → cases."""
    return json.loads(FEATURES.read_text())  # type: ignore[no-any-return]


def matrix(cases: Sequence[Case], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = [], []
    for case in cases:
        others = set(case["others"])  # type: ignore[call-overload]
        for path, row in case["rows"].items():  # type: ignore[attr-defined]
            rows.append([row.get(n, 0.0) for n in names])
            labels.append(1.0 if path in others else 0.0)
    return np.asarray(rows, dtype=float).reshape(-1, len(names)), np.asarray(labels)


def fit(data: dict[str, list[list[Case]]], repos: Sequence[str], names: Sequence[str],
        l2: float = 1.0) -> tuple[dict[str, float], float]:
    """Logistic regression by Newton's method; each repository weighs the same."""
    blocks = [matrix([c for commit in data[r] for c in commit], names) for r in repos]
    x = np.vstack([np.hstack([b[0], np.ones((len(b[0]), 1))]) for b in blocks])
    y = np.concatenate([b[1] for b in blocks])
    w_rows = np.concatenate([np.full(len(b[1]), 1.0 / max(1, len(b[1]))) for b in blocks])
    w_rows *= len(y) / w_rows.sum()
    theta = np.zeros(x.shape[1])
    reg = np.full(x.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(30):
        p = 1.0 / (1.0 + np.exp(-(x @ theta)))
        grad = x.T @ (w_rows * (p - y)) + reg * theta
        hess = (x * (w_rows * p * (1 - p))[:, None]).T @ x + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-6:
            break
    return {n: float(theta[i]) for i, n in enumerate(names)}, float(theta[-1])


def simulate(case: Case, weights: dict[str, float], bias: float, budget: int
             ) -> tuple[float, float]:  # fmt: skip
    others = case["others"]
    costs = case["costs"]
    focus = case["focus"]
    items = []
    for path, row in case["rows"].items():  # type: ignore[attr-defined]
        score = bias + sum(weights.get(n, 0.0) * v for n, v in row.items())
        full, skeleton = costs[path]  # type: ignore[index]
        items.append(knapsack.Item(path, 1.0 / (1.0 + math.exp(-score)), full, skeleton))
    full, skeleton = costs[focus]  # type: ignore[index]
    plan = knapsack.plan([knapsack.Item(focus, 1.0, full, skeleton)], items,  # type: ignore[arg-type]
                         int(budget * model.HEAD_SHARE))
    chosen_full, chosen_any = set(plan.full), set(plan.full) | set(plan.skeleton)
    n = len(others)  # type: ignore[arg-type]
    return (sum(p in chosen_full for p in others) / n,  # type: ignore[attr-defined]
            sum(p in chosen_any for p in others) / n)  # type: ignore[attr-defined]


def score_repo(commits: list[list[Case]], weights: dict[str, float], bias: float
               ) -> dict[int, tuple[float, float]]:  # fmt: skip
    out = {}
    for budget in BUDGETS:
        per_commit = [np.mean([simulate(c, weights, bias, budget) for c in cases], axis=0)
                      for cases in commits if cases]
        full, any_ = np.mean(per_commit, axis=0)
        out[budget] = (float(full), float(any_))
    return out


def cross_validate(data: dict[str, list[list[Case]]], names: Sequence[str]
                   ) -> dict[str, dict[int, tuple[float, float]]]:  # fmt: skip
    repos = sorted(data)
    out = {}
    for held in repos:
        weights, bias = fit(data, [r for r in repos if r != held], names)
        out[held] = score_repo(data[held], weights, bias)
    return out


def summary(per_repo: dict[str, dict[int, tuple[float, float]]]) -> tuple[float, float, float]:
    """(ALL recall_full 16K, recall_full 32K, recall_any 16K)."""
    return (float(np.mean([v[BUDGETS[0]][0] for v in per_repo.values()])),
            float(np.mean([v[BUDGETS[1]][0] for v in per_repo.values()])),
            float(np.mean([v[BUDGETS[0]][1] for v in per_repo.values()])))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.parse_args(argv)
    data = load()
    names = list(signals.NAMES)
    cv = cross_validate(data, names)
    lines = ["| held-out repository | 16K full | 16K any | 32K full | 32K any |",
             "|---|---|---|---|---|"]
    for repo, figures in cv.items():
        (f16, a16), (f32, a32) = figures[BUDGETS[0]], figures[BUDGETS[1]]
        lines.append(f"| {repo.replace('+', '/')} | {f16:.3f} | {a16:.3f} | {f32:.3f} | "
                     f"{a32:.3f} |")
    full16, full32, any16 = summary(cv)
    lines.append(f"| ALL (cross-validated) | {full16:.3f} | {any16:.3f} | {full32:.3f} | |")
    lines += ["", "| signal removed | 16K full | 32K full | 16K any | Δ sum |",
              "|---|---|---|---|---|", f"| (none) | {full16:.3f} | {full32:.3f} | "
              f"{any16:.3f} | |"]
    base = full16 + full32 + any16
    for name in names:
        f16, f32, a16 = summary(cross_validate(data, [n for n in names if n != name]))
        lines.append(f"| {name} | {f16:.3f} | {f32:.3f} | {a16:.3f} | "
                     f"{f16 + f32 + a16 - base:+.3f} |")
    weights, bias = fit(data, sorted(data), names)
    print("\n".join(lines))
    print()
    print("WEIGHTS = {" + ", ".join(f'"{n}": {w:.2f}' for n, w in weights.items()) + "}")
    print(f"BIAS = {bias:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
