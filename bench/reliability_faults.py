"""The fault half of bench/reliability.py: each fault made real, through the real CLI.

Full disk (RLIMIT_FSIZE, SIGXFSZ ignored: writes fail with EFBIG as with ENOSPC), Ctrl-C
sent to the process group inside each stage (REPOCTX_STAGES), model servers of our own that
refuse, never answer, stall, die or want a password (tests/fault_servers.py), out of memory
at model load (RLIMIT_AS, tests/test_oom.py's child), a torn scan cache, a broken serve state
file, and ``--no-redact`` towards a remote server. The same faults are asserted on by the
tests named in each row of docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from reliability import REPOCTX, ROOT, Row, Run, run_cli

FIXTURE = ROOT / "fixtures" / "review-small"
REVIEW = ["--budget", "1500", "--max-tokens", "400"]
Progress = Callable[[Row], None]


def _full_disk() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))


def disk_full(base: Path) -> Row:
    row = Row("disk full while writing --output", 1)
    target = base / "prompt.txt"
    target.write_text("the previous prompt\n")
    began = time.monotonic()
    done = subprocess.run([*REPOCTX, "pack", str(FIXTURE), "--budget", "4000", "--no-cache",
                           "--output", str(target)], capture_output=True, text=True,
                          preexec_fn=_full_disk)  # fmt: skip
    lines = [line for line in done.stderr.splitlines() if line.startswith("repoctx:")]
    row.runs.append(Run("pack", done.returncode, lines, time.monotonic() - began,
                        "Traceback" in done.stderr))  # fmt: skip
    kept = target.read_text() == "the previous prompt\n"
    row.reasons["--output"] = "previous file kept whole" if kept else "REPLACED OR CUT"
    row.reasons["temp files"] = ", ".join(p.name for p in base.iterdir() if p != target) or "none"
    return row


def interrupted(base: Path, name: str, args: list[str], stage: str, *, pause: bool,
                delay: float = 0.0, children: int = 0, **env: str) -> Row:  # fmt: skip
    """Ctrl-C to the process group once ``stage`` is announced (held there if ``pause``)."""
    from test_interrupts import _interrupt_at, _start

    row = Row(name, 130)
    began = time.monotonic()
    proc = _start(args, f"pause:{stage}" if pause else "1", base, **env)
    _, err = _interrupt_at(proc, stage, delay=delay, children=children)
    lines = [line for line in err.splitlines()
             if line.startswith("repoctx:") and " stage " not in line]  # fmt: skip
    row.runs.append(Run(args[0], proc.returncode or 0, lines, time.monotonic() - began,
                        "Traceback" in err or "Exception ignored" in err))  # fmt: skip
    out = base / "out.md"
    if "--output" in args:
        text = out.read_text() if out.exists() else ""
        parts = [p for p, mark in (("static facts", "## Static facts"),
                                   ("model section so far", "## Model review")) if mark in text]
        row.reasons["--output"] = "kept: " + ", ".join(parts) if parts else "absent"
    return row


def ctrl_c_rows(base: Path) -> list[Row]:
    from test_interrupts import _many_files

    pack = ["pack", str(FIXTURE), "--budget", "2000", "--no-cache"]
    many = _many_files(base / "many", 2000)
    review = ["review", str(FIXTURE), *REVIEW, "--output", str(base / "out.md")]
    return [
        interrupted(base, "Ctrl-C in walk", pack, "walk", pause=True),
        interrupted(base, "Ctrl-C in parse (2 spawned workers)",
                    ["pack", str(many), "--budget", "2000", "--no-cache"], "parse",
                    pause=False, delay=0.3, children=2, REPOCTX_WORKERS="2"),
        interrupted(base, "Ctrl-C in graph", pack, "graph", pause=True),
        interrupted(base, "Ctrl-C in pack", pack, "pack", pause=True),
        interrupted(base, "Ctrl-C in model load", review, "load", pause=False),
        interrupted(base, "Ctrl-C in prefill", review, "prefill", pause=False, delay=1.0),
        interrupted(base, "Ctrl-C in decode", review, "decode", pause=False, delay=1.0),
    ]  # fmt: skip


def server_rows(base: Path) -> list[Row]:
    from fault_servers import FIRST_WORDS, free_port, start, stop

    rows = []
    for mode, name, env in (
        ("refused", "server: connection refused", {}),
        ("silent", "server: accepts, never answers", {}),
        ("hang", "server: silent after the request (timeout 2 s)", {"REPOCTX_SERVER_TIMEOUT": "2"}),
        ("stall", "server: stalls mid-answer (timeout 2 s)", {"REPOCTX_SERVER_TIMEOUT": "2"}),
        ("die", "server: process dies mid-answer", {}),
    ):  # fmt: skip
        proc, url = (None, f"http://127.0.0.1:{free_port()}") if mode == "refused" else start(mode)
        out = base / f"{mode}.md"
        try:
            run = run_cli(["review", str(FIXTURE), "--server", url, "--budget", "1500",
                           "--max-tokens", "8", "--output", str(out)], base / ".cache", extra=env)
        finally:
            if proc is not None:
                stop(proc)
        row = Row(name, 3, [run])
        text = " ".join(out.read_text().split()) if out.exists() else ""
        row.reasons["--output"] = ("kept with the partial answer" if FIRST_WORDS in text else
                                   "kept (static facts)" if "Static facts" in text else "absent")
        rows.append(row)
    return rows


def credential_rows(base: Path) -> list[Row]:
    """A server that wants basic auth, named with ``user:pass@`` in the URL (issue 16): the
    right password works, a wrong one is one line; neither is ever printed."""
    from fault_servers import AUTH_PASSWORD, AUTH_USER, start, stop

    proc, url = start("auth")
    rows = []
    try:
        for password, name, expect in ((AUTH_PASSWORD, "server: user:pass@ in the URL", 0),
                                       ("Wr0ng-" + AUTH_PASSWORD, "server: wrong password in "
                                        "the URL", 3)):  # fmt: skip
            out = base / "auth.md"
            server = url.replace("://", f"://{AUTH_USER}:{password}@")
            run = run_cli(["review", str(FIXTURE), "--server", server, "--budget", "1500",
                           "--max-tokens", "8", "--output", str(out)], base / ".cache")
            row = Row(name, expect, [run])
            shown = password in " ".join(run.lines) or (out.exists() and password in
                                                         out.read_text())  # fmt: skip
            row.reasons["password"] = "PRINTED" if shown else "masked everywhere"
            rows.append(row)
    finally:
        stop(proc)
    return rows


def oom_rows(base: Path) -> list[Row]:
    from ggufgen import AttnDims, cached_plain
    from test_oom import CHILD, N_CTX

    model = cached_plain(n_layer=4, attn=AttnDims(n_embd=256, n_head=8, n_head_kv=8,
                                                  head_dim=128, n_ff=256), n_ctx_train=131072)
    repo = base / "oom-repo"
    repo.mkdir()
    (repo / "m.py").write_text("def add(a, b):\n    return a + b\n")
    rows = []
    for fraction, name, expect in ((0.75, "out of memory at load: the retry fits", 0),
                                   (0.3, "out of memory at load: the retry fails too", 3)):
        began = time.monotonic()
        done = subprocess.run([sys.executable, "-c", CHILD, str(model), str(repo),
                               str(base / "oom.md"), str(N_CTX), str(fraction)],
                              capture_output=True, text=True)  # fmt: skip
        err = done.stderr.split("=== limited", 1)[-1]
        lines = [line for line in err.splitlines() if line.startswith("repoctx:")]
        rows.append(Row(name, expect, [Run("review", done.returncode, lines,
                                           time.monotonic() - began, "Traceback" in err)]))
    return rows


def state_rows(base: Path) -> list[Row]:
    cache = base / "torn"
    run_cli(["pack", str(FIXTURE), "--budget", "4000"], cache)
    database = cache / "cache.sqlite"
    with database.open("r+b") as f:
        f.seek(4096)
        f.write(os.urandom(max(0, database.stat().st_size - 4096)))
    torn = Row("scan cache torn mid-file", 0, [run_cli(["pack", str(FIXTURE), "--budget",
                                                         "4000"], cache)])  # fmt: skip
    broken = base / "state"
    broken.mkdir()
    (broken / "serve.json").write_text(json.dumps({"url": 5, "pid": "abc"}))
    repo = _staged_repo(base / "hooked")
    served = Row("serve state file broken (hook run)", 0,
                 [run_cli(["hook", "run"], broken, cwd=repo)])
    remote = Row("--no-redact to a remote server", 2, [run_cli(
        ["review", str(FIXTURE), "--no-redact", "--server", "http://10.255.255.1:9"], cache)])
    return [torn, served, remote]


def _staged_repo(root: Path) -> Path:
    from test_hook_common import git, init_repo

    init_repo(root)
    (root / "pkg" / "core.py").write_text("def add(a, b):\n    return b + a\n")
    git(root, "add", "-A")
    return root


def run_faults(only: str, progress: Progress) -> list[Row]:
    rows: list[Row] = []
    groups = (disk_full, ctrl_c_rows, server_rows, credential_rows, oom_rows, state_rows)
    for group in groups:
        with tempfile.TemporaryDirectory(prefix="repoctx-faults-") as name:
            made = group(Path(name))
            made = made if isinstance(made, list) else [made]
            for row in made:  # the temporary directory's name says nothing
                for run in row.runs:
                    run.lines = [line.replace(name, "…") for line in run.lines]
        for row in made:
            if only.lower() in row.case.lower():
                rows.append(row)
                progress(row)
    return rows
