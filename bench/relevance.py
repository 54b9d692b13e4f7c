"""Relevance benchmark: does the pack give full text to the files a developer would pick?

Replays real commits (issue 18). For each repository, the newest 40 commits that have one
parent, are not by a bot and not reverts, touch at most 40 paths, add at most 15 files and
modify 2-8 existing source files (at least 2 beyond whitespace; docs, config, vendored,
generated and test-data files do not count). A *case* is (commit, one changed source file
f as the focus), packed at the commit's parent with the history up to the parent only: the
case's work tree is a repository whose only ref is the parent, its objects shared with the
mirror through git alternates, so no later commit is reachable.

Scores, read from the pack's manifest, over the commit's *other* changed source files:
``recall_full`` = share with tier full, ``recall_any`` = share with tier full or skeleton.
A commit's figure is the mean of its cases, a repository's the mean of its commits, ALL
the mean of the repositories. Baselines go through the same packer with a fixed ranking:
alphabetical, random (seeded by commit and focus), focus directory first, and the ceiling
(the focus and only the co-changed files, smallest first, full text as many as fit).

The mirrors are bare clones of the public GitHub repositories (``git clone --bare
https://github.com/<owner>/<name>``) with full history; pass their paths as arguments::

    python bench/relevance.py /mirrors/pallets+flask/repo /mirrors/encode+httpx/repo ...
    python bench/relevance.py --write-docs ...   # also rewrite the Relevance section

Work trees and per-commit results live under bench/.work/relevance/ (git-ignored). The
results of repoctx's own ranking are keyed by a hash of the package's source, so a rerun
after a change repacks only what the change can affect; baselines are reused as they are.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = Path(os.environ.get("RELEVANCE_WORK", HERE / ".work" / "relevance"))
BUDGETS = (16_384, 32_768)
COMMITS = 40
DOCS = ROOT / "docs" / "benchmarks.md"

SOURCE_EXTENSIONS = frozenset({
    ".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts", ".go", ".rs",
    ".java", ".kt", ".kts", ".scala", ".rb", ".erb", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs",
    ".php", ".swift", ".m", ".ex", ".exs", ".vue", ".svelte", ".lua", ".sh", ".pl",
})
NOT_SOURCE_DIRS = re.compile(
    r"(^|/)(vendor|vendors|third_party|third-party|node_modules|dist|build|generated"
    r"|fixtures?|testdata|test_data|__fixtures__|__snapshots__|docs?)/"
)
NOT_SOURCE_NAMES = re.compile(r"\.(min\.js|pb\.go|snap|d\.ts\.map)$|_pb2\.py$|(^|/)\.github/")
BOT = re.compile(r"bot\b|\[bot\]|dependabot|renovate|github-actions", re.IGNORECASE)


def is_source(path: str) -> bool:
    """Code a developer edits: not docs, config, vendored, generated or test data."""
    suffix = os.path.splitext(path)[1]
    return (suffix in SOURCE_EXTENSIONS and not NOT_SOURCE_DIRS.search(path)
            and not NOT_SOURCE_NAMES.search(path))


def git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True,
                          capture_output=True, text=True, errors="surrogateescape").stdout


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    parent: str
    subject: str
    changed: tuple[str, ...]  # the modified source files (2-8): each is a focus in turn


def select_commits(mirror: Path, count: int = COMMITS) -> list[Commit]:
    """The newest ``count`` commits reachable from HEAD that qualify (see module doc)."""
    log = git(mirror, "log", "--min-parents=1", "--max-parents=1", "-n2000",
              "--format=%H%x00%P%x00%an%x00%ae%x00%s", "HEAD")
    chosen: list[Commit] = []
    for line in log.splitlines():
        sha, parent, name, email, subject = line.split("\0", 4)
        if BOT.search(name) or BOT.search(email) or subject.lower().startswith("revert"):
            continue
        status = git(mirror, "diff-tree", "-r", "--no-renames", "--name-status", "-z",
                     parent, sha).split("\0")
        pairs = list(zip(status[0::2], status[1::2], strict=False))
        added = sum(1 for code, _ in pairs if code == "A")
        if len(pairs) > 40 or added > 15:
            continue
        modified = sorted(p for code, p in pairs if code == "M" and is_source(p))
        if not 2 <= len(modified) <= 8:
            continue
        beyond = _beyond_whitespace(mirror, parent, sha, modified)
        if len(beyond) < 2:
            continue
        chosen.append(Commit(sha, parent, subject, tuple(modified)))
        if len(chosen) == count:
            break
    return chosen


def _beyond_whitespace(mirror: Path, parent: str, sha: str, paths: Sequence[str]) -> set[str]:
    numstat = git(mirror, "diff", "-w", "--numstat", "--no-renames", parent, sha, "--", *paths)
    out = set()
    for row in numstat.splitlines():
        added, removed, path = row.split("\t", 2)
        if added != "0" or removed != "0":
            out.add(path)
    return out


class Checkout:
    """One work tree per repository whose only ref is the case's parent (alternates)."""

    def __init__(self, mirror: Path, name: str) -> None:
        self.tree = WORK / name / "tree"
        self.git_dir = self.tree / ".git"
        if not self.git_dir.exists():
            self.tree.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "init", "-q", str(self.tree)], check=True)
            alternates = self.git_dir / "objects" / "info" / "alternates"
            alternates.write_text(str((mirror / "objects").resolve()) + "\n")

    def at(self, parent: str) -> Path:
        """The tree at ``parent``, with ``main`` → parent the only ref."""
        for ref in git(self.git_dir, "for-each-ref", "--format=%(refname)").split():
            if ref != "refs/heads/main":
                git(self.git_dir, "update-ref", "-d", ref)
        git(self.git_dir, "update-ref", "refs/heads/main", parent)
        git(self.git_dir, "symbolic-ref", "HEAD", "refs/heads/main")
        run = ["git", "-C", str(self.tree)]
        if subprocess.run([*run, "reset", "-q", "--hard", parent],
                          capture_output=True).returncode != 0:
            self._leave_out_missing(parent)  # a mirror without its largest blobs
            subprocess.run([*run, "reset", "-q", "--hard", parent], check=True)
        subprocess.run([*run, "clean", "-qfdx"], check=True)
        return self.tree

    def _leave_out_missing(self, parent: str) -> None:
        """Blobs the mirror lacks (large binaries a snapshot left out) stay unchecked-out
        through a sparse checkout: they are listed in the tree, never packed."""
        listing = git(self.git_dir, "ls-tree", "-r", "-z", parent).split("\0")
        blobs = {row.split()[2]: row.split("\t", 1)[1] for row in listing if "\t" in row}
        check = subprocess.run(["git", f"--git-dir={self.git_dir}", "cat-file",
                                "--batch-check"], input="\n".join(blobs), capture_output=True,
                               text=True).stdout
        missing = [blobs[line.split()[0]] for line in check.splitlines()
                   if line.endswith(" missing")]
        git(self.git_dir, "config", "core.sparseCheckout", "true")
        (self.git_dir / "info").mkdir(exist_ok=True)
        (self.git_dir / "info" / "sparse-checkout").write_text(
            "/*\n" + "".join(f"!/{path}\n" for path in missing))


# -- the methods ------------------------------------------------------------------------

Order = Callable[[Commit, str, list[str], dict[str, int]], list[str]]


def alphabetical(_c: Commit, focus: str, nodes: list[str], _t: dict[str, int]) -> list[str]:
    return [focus, *sorted(p for p in nodes if p != focus)]


def random_files(commit: Commit, focus: str, nodes: list[str],
                 _t: dict[str, int]) -> list[str]:
    rest = sorted(p for p in nodes if p != focus)
    random.Random(f"{commit.sha}:{focus}").shuffle(rest)
    return [focus, *rest]


def focus_directory(_c: Commit, focus: str, nodes: list[str],
                    _t: dict[str, int]) -> list[str]:
    here = os.path.dirname(focus)
    rest = sorted((p for p in nodes if p != focus),
                  key=lambda p: (os.path.dirname(p) != here, p))
    return [focus, *rest]


BASELINES: dict[str, Order] = {
    "alphabetical": alphabetical, "random files": random_files,
    "focus directory first": focus_directory,
}
CEILING = "ceiling (co-changed only)"
FEATURES = "features"  # not a method: the model's signals per case, for bench/relevance_fit.py
BASELINE_VERSION = "2"


def code_key() -> str:
    """A hash of repoctx's source: results of the model are reused only for the same code."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "repoctx").rglob("*")):
        if path.is_file() and path.suffix in {".py", ".scm"}:
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def recall(manifest: dict[str, object], others: Sequence[str]) -> tuple[float, float]:
    tiers = {f["path"]: f["tier"] for f in manifest["files"]}  # type: ignore[attr-defined]
    full = sum(1 for p in others if tiers.get(p) == "full")
    seen = sum(1 for p in others if tiers.get(p) in ("full", "skeleton"))
    return full / len(others), seen / len(others)


def run_commit(repo: object, commit: Commit, methods: Sequence[str]) -> dict[str, object]:
    """method → budget → [[recall_full, recall_any] per focus] for one scanned parent."""
    import repoctx
    from repoctx.graph.order import Ranking

    files = repo.files  # type: ignore[attr-defined]
    nodes = [p for p, f in files.items() if not (f.skip and f.skip.tier == "excluded")]
    out: dict[str, object] = {}
    for method in methods:
        if method == FEATURES:
            out[method] = [features(repo, f, [p for p in commit.changed if p != f])
                           for f in commit.changed if f in files]
            continue
        per_budget: dict[str, list[list[float]]] = {}
        for budget in BUDGETS:
            rows = []
            for focus in commit.changed:
                if focus not in files:
                    continue
                others = [p for p in commit.changed if p != focus]
                if method == "repoctx":
                    result = repoctx.pack(repo, budget, focus=[focus])  # type: ignore[arg-type]
                elif method == CEILING:
                    result = _ceiling_pack(repo, budget, commit, focus)
                else:
                    repo.ensure_counts()  # type: ignore[attr-defined]
                    tokens = {p: files[p].tokens or 0 for p in nodes if files[p].packable}
                    order = BASELINES[method](commit, focus, nodes, tokens)
                    ranking = Ranking(order=order, score={}, reason={p: method for p in order})
                    result = repoctx.pack(repo, budget, focus=[focus],  # type: ignore[arg-type]
                                          ranking=ranking)
                rows.append(list(recall(result.manifest(), others)))
            per_budget[str(budget)] = rows
        out[method] = per_budget
    return out


def features(repo: object, focus: str, others: list[str]) -> dict[str, object]:
    """The model's signals for one case, with the costs the plan needs (for fitting)."""
    from repoctx.packing.relevance import model

    nodes = [p for p, f in repo.files.items()  # type: ignore[attr-defined]
             if not (f.skip and f.skip.tier == "excluded")]
    found = model.collect(repo, [focus], nodes)  # type: ignore[arg-type]
    named = [p for p in found.values if repo.files[p].packable]  # type: ignore[attr-defined]
    repo.ensure_counts([focus, *named])  # type: ignore[attr-defined]
    costs = {p: [model.item(repo, p, 0).full, model.item(repo, p, 0).skeleton]  # type: ignore[arg-type]
             for p in [focus, *named]}
    return {"focus": focus, "others": others, "rows": {p: found.values[p] for p in named},
            "costs": costs}


def _ceiling_pack(repo: object, budget: int, commit: Commit, focus: str) -> object:
    """The focus and the co-changed files in full text, smallest first, as many as fit
    (the focus as a skeleton when it alone is over the budget)."""
    from repoctx.packing.pack import PackOverflow, pack

    files = repo.files  # type: ignore[attr-defined]
    repo.ensure_counts([p for p in commit.changed if p in files])  # type: ignore[attr-defined]
    others = sorted((p for p in commit.changed if p != focus and p in files
                     and files[p].packable), key=lambda p: (files[p].tokens or 0, p))
    plan = [focus, *others]
    focus_tier = "full"
    while True:
        fixed = {p: ("full", "co-changed") for p in plan}
        if plan and plan[0] == focus:
            fixed[focus] = (focus_tier, "focus")  # type: ignore[assignment]
        try:
            return pack(repo, budget, fixed=fixed)  # type: ignore[arg-type]
        except PackOverflow:
            if len(plan) > 1:
                plan.pop()
            elif focus_tier == "full":
                focus_tier = "skeleton"
            else:
                plan.pop()


def bench_repo(mirror: Path, name: str, methods: Sequence[str], key: str,
               log: Callable[[str], None]) -> dict[str, dict[str, list[list[list[float]]]]]:
    """method → budget → per commit → per case [full, any]."""
    import repoctx

    store = WORK / name / "results"
    store.mkdir(parents=True, exist_ok=True)
    commits_file = WORK / name / "commits.json"
    head = git(mirror, "rev-parse", "HEAD").strip()
    cached = json.loads(commits_file.read_text()) if commits_file.exists() else {}
    if cached.get("head") != head:
        commits = select_commits(mirror)
        cached = {"head": head, "commits": [[c.sha, c.parent, c.subject, list(c.changed)]
                                            for c in commits]}
        commits_file.write_text(json.dumps(cached, indent=1))
    commits = [Commit(s, p, subj, tuple(ch)) for s, p, subj, ch in cached["commits"]]
    checkout = Checkout(mirror, name)
    table: dict[str, dict[str, list[list[list[float]]]]] = {
        m: {"cases": []} if m == FEATURES else {str(b): [] for b in BUDGETS} for m in methods}
    for index, commit in enumerate(commits):
        path = store / f"{commit.sha}.json"
        saved = json.loads(path.read_text()) if path.exists() else {}
        wanted = [m for m in methods if _saved_key(m, key) not in saved]
        if wanted:
            started = time.perf_counter()
            repo = repoctx.scan(checkout.at(commit.parent), count=False)
            fresh = run_commit(repo, commit, wanted)
            for method in wanted:
                saved[_saved_key(method, key)] = fresh[method]
            path.write_text(json.dumps(saved))
            log(f"{name} {index + 1}/{len(commits)} {commit.sha[:8]} "
                f"{time.perf_counter() - started:.1f}s")
        for method in methods:
            if method == FEATURES:
                table[method]["cases"].append(saved[_saved_key(method, key)])  # type: ignore[arg-type]
                continue
            for budget in BUDGETS:
                rows = saved[_saved_key(method, key)][str(budget)]
                if rows:
                    table[method][str(budget)].append(rows)
    return table


def _saved_key(method: str, key: str) -> str:
    return f"{method}@{key}" if method in ("repoctx", FEATURES) else \
        f"{method}@{BASELINE_VERSION}"


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def repo_score(commits: list[list[list[float]]], which: int) -> float:
    return mean([mean([case[which] for case in cases]) for cases in commits])


def name_of(mirror: Path) -> str:
    """``/x/pallets+flask/repo`` → ``pallets+flask``."""
    return mirror.parent.name if mirror.name in {"repo", ".git"} else mirror.name


def report(results: dict[str, dict[str, dict[str, list[list[list[float]]]]]],
           methods: Sequence[str]) -> str:
    names = list(results)
    lines = ["| method | budget | ALL recall_full | ALL recall_any | "
             + " | ".join(n.split("+")[-1] for n in names) + " |",
             "|---|---|---|---|" + "---|" * len(names)]
    for method in methods:
        for budget in BUDGETS:
            per_repo = [(repo_score(results[n][method][str(budget)], 0),
                         repo_score(results[n][method][str(budget)], 1)) for n in names]
            lines.append(
                f"| {method} | {budget // 1024}K | {mean([f for f, _ in per_repo]):.3f} | "
                f"{mean([a for _, a in per_repo]):.3f} | "
                + " | ".join(f"{f:.2f}/{a:.2f}" for f, a in per_repo) + " |")
    return "\n".join(lines)


def counts_line(results: dict[str, dict[str, dict[str, list[list[list[float]]]]]]) -> str:
    parts = []
    for name, table in results.items():
        commits = table["repoctx"][str(BUDGETS[0])]
        parts.append(f"{name.replace('+', '/')} {len(commits)} commits "
                     f"{sum(len(c) for c in commits)} cases")
    return "; ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mirrors", nargs="+", type=Path, help="bare git repositories")
    parser.add_argument("--baselines", action="store_true", help="also the four baselines")
    parser.add_argument("--features", action="store_true",
                        help="also dump the model's signals per case (bench/relevance_fit.py)")
    parser.add_argument("--features-only", action="store_true",
                        help="only dump the signals (no packs): for fitting")
    parser.add_argument("--write-docs", action="store_true",
                        help="rewrite the Relevance section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    methods = [] if args.features_only else \
        ["repoctx", *([*BASELINES, CEILING] if args.baselines else [])]
    run = [*methods, *([FEATURES] if args.features or args.features_only else [])]
    key = code_key()
    results = {}
    for mirror in args.mirrors:
        if not (mirror / "objects").is_dir():
            print(f"relevance: {mirror}: not a bare git repository", file=sys.stderr)
            return 2
        results[name_of(mirror)] = bench_repo(mirror, name_of(mirror), run, key,
                                              lambda line: print(line, file=sys.stderr))
    if FEATURES in run:
        (WORK / "features.json").write_text(json.dumps(
            {name: table.pop(FEATURES)["cases"] for name, table in results.items()}))
    if not methods:
        return 0
    table = report(results, methods)
    print(table)
    print(counts_line(results))
    if args.write_docs:
        write_docs(table, counts_line(results))
    return 0


def write_docs(table: str, counts: str) -> None:
    import platform

    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    section = (
        "## Relevance\n\n"
        f"{time.strftime('%Y-%m-%d')}, {platform.machine()} {os.cpu_count()} cores, "
        f"repoctx {commit}. `python bench/relevance.py --baselines --write-docs <mirrors>` "
        "(see bench/README.md). Each cell: recall_full/recall_any; a case is (commit, one "
        "changed source file as the focus), packed at the parent with the history up to the "
        "parent only; the score is the share of the commit's other changed source files that "
        "get full text (recall_full) or full text or a skeleton (recall_any). Commit = mean of "
        "its cases, repository = mean of its commits, ALL = mean of the repositories.\n\n"
        f"Cases: {counts}.\n\n{table}\n"
    )
    text = DOCS.read_text()
    match = re.search(r"^## Relevance\n.*?(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL)
    text = (text[:match.start()] + section + "\n" + text[match.end():] if match
            else text.rstrip("\n") + "\n\n" + section)
    DOCS.write_text(text.rstrip("\n") + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
