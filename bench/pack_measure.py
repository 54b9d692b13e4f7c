"""Run one command and measure it: wall time and peak resident memory of its process tree.

Used by ``bench/pack_bench.py``. The child runs in its own session so that a timeout can
kill the whole tree (workers, Node's helpers, git) at once. Peak memory is the larger of:

* the peak of the *sum* of PSS (proportional set size: each shared page divided among the
  processes that map it) over every live process of the tree, sampled from
  /proc/PID/smaps_rollup every ``poll_s`` seconds. This catches worker pools, where each
  process is small but they add up; PSS rather than RSS so that a child between fork and
  exec (which shares all of its parent's pages) is not counted twice. A spike shorter
  than the interval can be missed. And
* the largest single process of the tree at its own peak (``ru_maxrss``), exact but blind
  to processes that were alive at the same time. GNU time (``/usr/bin/time -f %M``)
  launches the command and reports it: taking ``wait4``'s figure here instead would be
  wrong, because a child forked from this (large) Python process keeps its pre-exec
  high-water mark in ``ru_maxrss``.

Linux only (reads /proc).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
TIME = "/usr/bin/time"  # GNU time (Debian package `time`)


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    peak_rss_kb: int  # max(tree_rss_kb, maxrss_kb)
    tree_rss_kb: int  # sampled peak of the summed PSS of the process tree
    maxrss_kb: int  # GNU time's %M: the largest single process of the tree
    cpu_s: float  # user + system CPU seconds of the whole tree (GNU time's %U + %S)
    load_before: float  # 1-minute load average when the run started (other work on the box)
    returncode: int
    timed_out: bool
    stderr_tail: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def _children(pid: int) -> list[int] | None:
    """Children of every thread of ``pid`` (None: the kernel has no children files)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                found += [int(child) for child in handle.read().split()]
        except FileNotFoundError:
            return None
        except OSError:
            continue
    return found


def _proc_table() -> dict[int, int]:
    """pid → ppid for every process we can read (the slow way: scan all of /proc)."""
    table: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # comm may contain spaces and parentheses: split after the last ')'
        table[int(entry.name)] = int(stat[stat.rfind(b")") + 2:].split()[1])
    return table


def _tree(root: int) -> dict[int, int]:
    """Every process of the tree under ``root``: pid → parent pid."""
    members = {root: 0}
    stack = [root]
    while stack:
        parent = stack.pop()
        children = _children(parent)
        if children is None:
            break
        for child in children:
            if child not in members:
                members[child] = parent
                stack.append(child)
    else:
        return members
    table = _proc_table()
    by_parent: dict[int, list[int]] = {}
    for pid, ppid in table.items():
        by_parent.setdefault(ppid, []).append(pid)
    members, stack = {root: 0}, [root]
    while stack:
        parent = stack.pop()
        for child in by_parent.get(parent, []):
            if child not in members:
                members[child] = parent
                stack.append(child)
    return members


def _statm(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def _pss_kb(pid: int) -> int:
    """Proportional set size (falls back to RSS where smaps_rollup is missing)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        return 0
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def tree_pss_kb(root: int) -> int:
    """Summed PSS of the tree. A child that still shares its parent's address space (a
    vfork()ed child before exec: Python's subprocess does that) is the same memory, so it
    is skipped; it is recognised by /proc/PID/statm identical to its parent's."""
    members = _tree(root)
    total = 0
    for pid, parent in members.items():
        if parent and parent in members and _statm(pid) == _statm(parent) != b"":
            continue
        total += _pss_kb(pid)
    return total


def measure(
    cmd: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    stdout_path: Path | None,
    stderr_path: Path,
    timeout_s: float,
    poll_s: float = 0.025,
) -> Measurement:
    """Run ``cmd`` to completion (or kill its tree after ``timeout_s``) and measure it."""
    stdout_target = stdout_path.open("wb") if stdout_path else subprocess.DEVNULL
    maxrss_file = stderr_path.with_suffix(".maxrss")
    maxrss_file.unlink(missing_ok=True)
    launcher = [TIME, "-f", "%M %U %S", "-o", str(maxrss_file)]
    load = os.getloadavg()[0]
    try:
        with stderr_path.open("wb") as stderr:
            start = time.perf_counter()
            proc = subprocess.Popen(
                [*launcher, *cmd], cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                stdout=stdout_target, stderr=stderr, start_new_session=True,
            )
            peak_tree = 0
            timed_out = False
            try:
                while True:
                    pid, status = os.waitpid(proc.pid, os.WNOHANG)
                    if pid:
                        break
                    if time.perf_counter() - start > timeout_s:
                        timed_out = True
                        _kill_group(proc.pid)
                        pid, status = os.waitpid(proc.pid, 0)
                        break
                    peak_tree = max(peak_tree, tree_pss_kb(proc.pid))
                    time.sleep(poll_s)
            except BaseException:  # interrupted (Ctrl-C, SIGTERM): leave nothing running
                _kill_group(proc.pid)
                raise
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
            _kill_group(proc.pid)  # leftovers a tool forgot (daemonised helpers)
    finally:
        if stdout_path and not isinstance(stdout_target, int):
            stdout_target.close()
    tail = stderr_path.read_bytes()[-4000:].decode("utf-8", "replace")
    maxrss, cpu = _time_report(maxrss_file)
    return Measurement(
        wall_s=wall, peak_rss_kb=max(peak_tree, maxrss), tree_rss_kb=peak_tree,
        maxrss_kb=maxrss, cpu_s=cpu, load_before=load, returncode=proc.returncode,
        timed_out=timed_out, stderr_tail=tail,
    )


def _time_report(path: Path) -> tuple[int, float]:
    """(%M, %U + %S) from GNU time's last line ("Command exited with …" may precede it)."""
    try:
        lines = path.read_text().strip().splitlines()
        rss, user, system = lines[-1].split()
        return int(rss), float(user) + float(system)
    except (OSError, ValueError, IndexError):
        return 0, 0.0


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
