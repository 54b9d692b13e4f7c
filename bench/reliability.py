"""The reliability matrix: every bad input and fault, run through the real CLI, as a report.

    python bench/reliability.py                       # writes docs/reliability.md
    python bench/reliability.py --only symlink --no-docs

Bad inputs (tests/bad_inputs.py, the fixtures tests/test_bad_input.py asserts on): each case
is built in a temporary directory and handed to ``repoctx pack`` (with ``--manifest``),
``repoctx files`` and ``repoctx graph``; the report keeps each exit code, the reasons the
manifest gives for the case's telling paths, the lines repoctx printed on stderr and the
time. Faults (bench/reliability_faults.py): a full disk, Ctrl-C at each stage, misbehaving
model servers, a torn cache, ``--no-redact`` to a remote server. A Python traceback anywhere
is reported as such. Writes bench/results/reliability.json and docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from bad_inputs import CASES, Case, restore_unreadable  # noqa: E402
from reliability_report import machine, write_docs  # noqa: E402

REPOCTX = [sys.executable, "-m", "repoctx"]
TIMEOUT_S = 900


@dataclass
class Run:
    """One CLI invocation: exit code, repoctx's stderr lines (summary dropped), time."""

    command: str
    code: int
    lines: list[str]
    seconds: float
    traceback: bool = False


@dataclass
class Row:
    case: str
    expect: int
    runs: list[Run] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)  # path → "tier: reason"

    @property
    def ok(self) -> bool:
        return all(r.code == self.expect and not r.traceback for r in self.runs)


def run_cli(args: list[str], cache: Path, *, as_nobody: bool = False, cwd: Path | None = None,
            extra: dict[str, str] | None = None) -> Run:  # fmt: skip
    """``repoctx ARGS`` in a child process with its own cache dir (and ``extra`` env)."""
    command = [*REPOCTX, *args]
    if as_nobody and os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    env = {**os.environ, "REPOCTX_CACHE_DIR": str(cache), **(extra or {})}
    began = time.monotonic()
    done = subprocess.run(command, capture_output=True, env=env, cwd=cwd, timeout=TIMEOUT_S)
    seconds = time.monotonic() - began
    err = done.stderr.decode("utf-8", "replace")
    lines = [line for line in err.splitlines() if line.startswith("repoctx:")
             and " full, " not in line]  # the summary line says nothing about the case
    return Run(args[0], done.returncode, lines, seconds, "Traceback" in err)


def bad_input_row(case: Case, base: Path) -> Row:
    """Build ``case`` under ``base`` and run pack, files and graph on it."""
    from repoctx.scanning.content import printable_path

    row = Row(case.name, case.expect)
    root = case.build(base)
    cache = base / ".cache"
    cache.mkdir(mode=0o777, exist_ok=True)
    os.chmod(cache, 0o777)
    manifest = base / "manifest.json"
    env = dict(case.env)
    if case.non_root:
        os.chmod(base, 0o777)  # the unprivileged user writes the manifest and cache here
    try:
        row.runs.append(run_cli(["pack", str(root), "--budget", "4000", "--manifest",
                                 str(manifest), "--output", str(base / "prompt.txt")],
                                cache, as_nobody=case.non_root, extra=env))  # fmt: skip
        row.runs.append(run_cli(["files", str(root), "--budget", "4000"], cache,
                                as_nobody=case.non_root, extra=env))  # fmt: skip
        row.runs.append(run_cli(["graph", str(root)], cache, as_nobody=case.non_root,
                                extra=env))  # fmt: skip
    finally:
        if case.non_root:
            restore_unreadable(root)
    if manifest.exists():
        doc = json.loads(manifest.read_text())
        files = {f["path"]: f"{f['tier']}: {f['reason']}" for f in doc["files"]}
        problems = {p["path"].rstrip("/"): f"problem: {p['reason']}" for p in doc["problems"]}
        for path in case.paths:
            shown = printable_path(path)  # a document: real names
            row.reasons[shown] = files.get(path) or problems.get(path) or "(not in the manifest)"
    for run in row.runs:  # the temporary directory's name says nothing
        run.lines = [line.replace(str(base), "…") for line in run.lines]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument("--no-faults", action="store_true", help="bad inputs only")
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/")
    parser.add_argument("--json", type=Path, default=ROOT / "bench/results/reliability.json")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite docs/reliability.md from --json without running anything")
    args = parser.parse_args(argv)
    if args.report_only:
        write_docs(ROOT / "docs" / "reliability.md", json.loads(args.json.read_text()))
        return 0
    rows: list[Row] = []
    for case in CASES:
        if args.only.lower() not in case.name.lower():
            continue
        base = Path(tempfile.mkdtemp(prefix="repoctx-reliability-"))
        try:
            rows.append(bad_input_row(case, base))
        finally:
            shutil.rmtree(base, ignore_errors=True)
        _progress(rows[-1])
    faults: list[Row] = []
    if not args.no_faults:
        from reliability_faults import run_faults

        faults = run_faults(args.only, _progress)
    doc = {"machine": machine(), "bad_inputs": [asdict(r) for r in rows],
           "faults": [asdict(r) for r in faults]}  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    if not args.no_docs:
        write_docs(ROOT / "docs" / "reliability.md", doc)
    failed = [r.case for r in rows + faults if not r.ok]
    if failed:
        print(f"reliability: unexpected exit or traceback in: {', '.join(failed)}",
              file=sys.stderr)  # fmt: skip
    return 1 if failed else 0


def _progress(row: Row) -> None:
    codes = " ".join(f"{r.command}={r.code}" for r in row.runs)
    mark = "ok" if row.ok else "UNEXPECTED"
    print(f"{mark:10} {row.case}: {codes}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
