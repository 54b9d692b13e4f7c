"""cochange: which files changed together in the history reachable from HEAD.

Logical coupling (Zimmermann et al., ICSE 2004): files that were committed together tend to
change together again. The commits' file lists come from one ``git log --name-only`` over
the newest ``WINDOW`` commits, kept in the user cache dir keyed by the work tree and HEAD;
when HEAD moves forward only the new commits are read (``git log old..HEAD``). Commits that
touch more than ``HUGE`` files (reformatting, vendoring, renames of a tree) say nothing about
coupling and are dropped. Newer commits weigh more: weight ``0.5 ** (age / HALF_LIFE)`` by
position in the log, so a repository's pace does not matter.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from repoctx import stores
from repoctx.atomic import write_text_atomic
from repoctx.scanning.walk import git_output

WINDOW = 1500  # commits mined
HUGE = 40  # commits touching more files than this are ignored
HALF_LIFE = 400.0  # commits after which a co-change counts half
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class History:
    """The mined commits, newest first: each a tuple of repo paths (root-relative)."""

    commits: tuple[tuple[str, ...], ...]

    def touching(self) -> dict[str, list[int]]:
        """path → indexes of the commits that changed it."""
        out: dict[str, list[int]] = {}
        for index, files in enumerate(self.commits):
            for path in files:
                out.setdefault(path, []).append(index)
        return out


@dataclass(frozen=True, slots=True)
class Coupling:
    """How ``path`` changed with the focus: decayed support and confidence, raw count."""

    support: float  # Σ weight of the commits that changed both
    confidence: float  # support / Σ weight of the commits that changed the focus
    count: int  # commits that changed both (for the reason)
    reverse: float  # support / Σ weight of the commits that changed ``path``
    last: int  # age (in commits) of the newest commit that changed both


def weight(index: int) -> float:
    return float(0.5 ** (index / HALF_LIFE))


def coupling(history: History, touching: Mapping[str, list[int]],
             focus: Sequence[str]) -> dict[str, Coupling]:
    """Every path that changed with one of ``focus``, with its coupling to the focus set."""
    together: dict[int, None] = {}
    for path in focus:
        for index in touching.get(path, ()):
            together[index] = None
    total = sum(weight(i) for i in together)
    focus_set = set(focus)
    support: dict[str, float] = {}
    count: dict[str, int] = {}
    last: dict[str, int] = {}
    for index in together:
        w = weight(index)
        for path in history.commits[index]:
            if path not in focus_set:
                support[path] = support.get(path, 0.0) + w
                count[path] = count.get(path, 0) + 1
                last[path] = min(last.get(path, index), index)
    return {p: Coupling(s, s / total if total else 0.0, count[p],
                        s / sum(weight(i) for i in touching.get(p, [])), last[p])
            for p, s in support.items()}


def mine(root: Path, cache_dir: Path | None) -> History:
    """The history of the work tree holding ``root`` (paths relative to ``root``); empty
    without git or commits. ``cache_dir`` None: no cache read or written."""
    top = (git_output(root, "rev-parse", "--show-toplevel") or "").strip()
    head = (git_output(root, "rev-parse", "HEAD") or "").strip()
    if not top or not head:
        return History(())
    worktree, here = Path(top).resolve(), root.resolve()
    prefix = "" if worktree == here else here.relative_to(worktree).as_posix() + "/"
    key = hashlib.sha256(f"{FORMAT_VERSION}\0{worktree}\0{prefix}".encode()).hexdigest()[:24]
    path = stores.COCHANGE.path(cache_dir) / f"{key}.json" if cache_dir is not None else None
    cached = _load(path)
    if cached is not None and cached[0] == head:
        commits = cached[1]
    elif cached is not None and _is_ancestor(worktree, cached[0], head):
        commits = (_log(worktree, prefix, f"{cached[0]}..{head}") + cached[1])[:WINDOW]
    else:
        commits = _log(worktree, prefix, head)
    if path is not None and (cached is None or cached[0] != head):
        _store(path, head, commits)
    return History(tuple(tuple(p[len(prefix):] for p in files) for files in commits
                         if len(files) <= HUGE))


def _log(worktree: Path, prefix: str, revisions: str) -> list[list[str]]:
    output = git_output(worktree, "-c", "core.quotePath=off", "log", f"-n{WINDOW}",
                        "--no-renames", "--name-only", "--format=%x00", revisions, "--",
                        prefix or ".") or ""
    commits = []
    for record in output.split("\0")[1:]:
        commits.append(sorted({line for line in record.split("\n") if line}))
    return commits


def _is_ancestor(worktree: Path, old: str, new: str) -> bool:
    return git_output(worktree, "merge-base", "--is-ancestor", old, new) is not None


def _load(path: Path | None) -> tuple[str, list[list[str]]] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        head, commits = data["head"], data["commits"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or damaged: mined again
    if not isinstance(head, str) or not isinstance(commits, list):
        return None
    return head, [[str(p) for p in files] for files in commits if isinstance(files, list)]


def _store(path: Path, head: str, commits: list[list[str]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps({"head": head, "commits": commits},
                                           separators=(",", ":")))
    except OSError:
        pass  # a read-only cache dir: mined again next time
