"""history: how often each file changes, so stable files can go first in the prompt.

A model server can reuse the evaluated prefix of a prompt up to the first changed token.
Among the orders that respect the dependency graph, putting files that rarely change early
and files being edited late means a typical commit changes the prompt as late as
possible (issue: incremental ingest). The facts come from ``git log`` over a window of
recent commits plus ``git status`` for work-tree edits; without git every file is
"unknown" and the order falls back to paths.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from repoctx.scanning.walk import git_output

WINDOW = 500  # recent commits looked at
RECENT = 3  # files changed by the newest commits count as volatile: likely to change again


@dataclass(frozen=True, slots=True)
class Churn:
    commits: int = 0  # commits in the window that touched the file
    last_change: int = 0  # unix time of the newest of those (0: none in the window)
    dirty: bool = False  # modified, staged or untracked in the work tree
    recent: bool = False  # changed by one of the newest RECENT commits

    @property
    def bucket(self) -> int:
        """0 untouched in the window, 1 rarely changed, 2 often or recently changed, 3 being
        edited.

        Recency keeps a file that was just committed late: without it, a file edited for one
        commit went last while dirty and jumped back to its old place once committed, so the
        next commit's prompt changed there (the hook through ``repoctx serve``, issue 9).
        """
        if self.dirty:
            return 3
        if self.commits == 0:
            return 0
        return 1 if self.commits <= 2 and not self.recent else 2

    def describe(self) -> str:
        if self.dirty:
            return "being edited (changed in the work tree)"
        if self.commits == 0:
            return f"stable (unchanged in the last {WINDOW} commits)"
        day = time.strftime("%Y-%m-%d", time.gmtime(self.last_change))
        noun = "commit" if self.commits == 1 else "commits"
        recent = self.recent and self.commits <= 2  # what moved it to the volatile bucket
        late = f"; changed in the last {RECENT} commits" if recent else ""
        return f"{self.commits} {noun} in the last {WINDOW}, last on {day}{late}"


def churn(root: Path, paths: set[str], window: int = WINDOW) -> dict[str, Churn]:
    """Per repo path; files git doesn't know (or no git at all) get the default Churn."""
    pending = start(root, window)
    return pending.result(paths) if pending is not None else {}


class PendingChurn:
    """``git log`` and ``git status`` running while the caller does other work (a scan
    starts them before parsing; the pack reads them after): on a large repository each
    costs tens of milliseconds, and neither needs anything the scan computes."""

    def __init__(self, prefix: str, log: subprocess.Popen[bytes],
                 status: subprocess.Popen[bytes]) -> None:
        self._prefix, self._log, self._status = prefix, log, status

    def result(self, paths: set[str]) -> dict[str, Churn]:
        log, log_ok = _finish(self._log)
        status, status_ok = _finish(self._status)
        if not (log_ok and status_ok):  # no commits yet, a corrupt repository
            return {}
        counts, newest, recent = _parse_log(log, self._prefix, paths)
        dirty = _parse_status(status, self._prefix)
        return {path: Churn(counts.get(path, 0), newest.get(path, 0), path in dirty,
                            path in recent)
                for path in paths if path in counts or path in dirty}


def start(root: Path, window: int = WINDOW, *,
          worktree: Path | None = None) -> PendingChurn | None:
    """Start reading the history of ``root``; None when it is not in a git work tree.

    ``worktree``: the work tree's top, when a listing already asked git for it. git runs
    directly (as in repoctx.scanning.walk): gitpython's import alone costs ~50 ms."""
    if worktree is None:
        top = (git_output(root, "rev-parse", "--show-toplevel") or "").rstrip("\n")
        if not top:
            return None
        worktree = Path(top).resolve()
    here = root.resolve()
    if not here.is_relative_to(worktree):
        return None
    prefix = "" if worktree == here else here.relative_to(worktree).as_posix() + "/"
    scope = ["--", prefix or "."]
    git = ["git", "-c", "core.quotePath=off"]
    log = _spawn([*git, "log", f"-n{window}", "--no-renames", "--name-only",
                  "--format=%x00%ct", *scope], worktree)
    status = _spawn([*git, "status", "--porcelain", "-z", "--untracked-files=all", *scope],
                    worktree)
    return PendingChurn(prefix, log, status)


def _spawn(command: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def _finish(process: subprocess.Popen[bytes]) -> tuple[str, bool]:
    output, _ = process.communicate()
    return output.decode("utf-8", "surrogateescape"), process.returncode == 0


def _parse_log(
    log: str, prefix: str, paths: set[str]
) -> tuple[dict[str, int], dict[str, int], set[str]]:
    counts: dict[str, int] = {}
    newest: dict[str, int] = {}
    recent: set[str] = set()
    seen = 0  # commits read so far (git log lists the newest first)
    for record in log.split("\0"):
        lines = [line for line in record.split("\n") if line]
        if not lines or not lines[0].isdigit():
            continue
        stamp = int(lines[0])
        seen += 1
        for name in lines[1:]:
            path = name[len(prefix):] if prefix and name.startswith(prefix) else name
            if path in paths:
                counts[path] = counts.get(path, 0) + 1
                newest[path] = max(newest.get(path, 0), stamp)
                if seen <= RECENT:
                    recent.add(path)
    return counts, newest, recent


def _parse_status(status: str, prefix: str) -> set[str]:
    dirty: set[str] = set()
    entries = status.split("\0")
    skip_next = False
    for entry in entries:
        if skip_next or len(entry) < 4:
            skip_next = False
            continue
        code, name = entry[:2], entry[3:]
        if "R" in code or "C" in code:
            skip_next = True  # the next entry is the rename's source
        path = name[len(prefix):] if prefix and name.startswith(prefix) else name
        dirty.add(path)
    return dirty
