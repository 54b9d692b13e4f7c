"""``repoctx hook run|install|uninstall``: the pre-commit hook's command-line shell.

Import-light on purpose (argparse only): ``repoctx hook run`` with nothing staged must
return in well under a second, so the core is imported inside the functions. Results go to
stdout (short, ``path:line``, grouped by file); skip lines, progress and errors to stderr.
The exit status is 0 unless ``--fail-on`` findings exist: an advisory hook never blocks a
commit because of a time-out, a missing model or a fault of its own.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from repoctx.hook.settings import Outcome, Settings

SEVERITIES = ("never", "high", "medium", "low", "info")
MESSAGE_CHARS = 160


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "hook", help="pre-commit hook: refactor suggestions on the staged change",
        description="Refactor suggestions on what you are committing, with the whole repo as "
                    "context. Advisory: exits 0 unless --fail-on findings exist.")  # fmt: skip
    actions = parser.add_subparsers(dest="hook_action", metavar="ACTION")
    run = actions.add_parser("run", help="review the staged change (what the hook runs)")
    run.add_argument("--fail-on", choices=SEVERITIES, default=None,
                     help="block the commit on findings of this severity or worse "
                          "(default: never)")  # fmt: skip
    run.add_argument("--max-suggestions", type=int, default=None, metavar="N",
                     help="show at most N suggestions (default 5)")
    run.add_argument("--timeout", type=float, default=None, metavar="SECONDS", dest="timeout_s",
                     help="print what is there after this long and exit 0 (default 90)")
    run.add_argument("--budget", type=int, default=None, metavar="TOKENS",
                     help="tokens of repository context (default 16384)")
    run.add_argument("--max-diff-lines", type=int, default=None, metavar="N",
                     help="skip staged diffs larger than this (default 2000)")
    source = run.add_mutually_exclusive_group()
    source.add_argument("--model", metavar="GGUF", help="a .gguf file or a model name")
    source.add_argument("--server", metavar="URL", help="an OpenAI-compatible server")
    run.add_argument("--think", action=argparse.BooleanOptionalAction, default=None,
                     help="let Qwen 3.5 think first (slower; default off)")
    run.add_argument("--no-redact", action="store_true", default=None,
                     help="keep secrets in what the model reads (a model on this machine "
                          "only: refused for a server that is not on localhost)")  # fmt: skip
    run.set_defaults(run=_run)
    install = actions.add_parser("install", help="write .git/hooks/pre-commit (no framework)")
    install.add_argument("path", nargs="?", default=".", help="repository (default: .)")
    install.add_argument("--chain", action="store_true",
                         help="keep an existing hook and run it before repoctx")
    install.add_argument("--force", action="store_true",
                         help="replace an existing hook (a backup is kept)")
    install.set_defaults(run=_install)
    uninstall = actions.add_parser("uninstall", help="remove repoctx's pre-commit hook")
    uninstall.add_argument("path", nargs="?", default=".", help="repository (default: .)")
    uninstall.set_defaults(run=_uninstall)
    parser.set_defaults(run=lambda _args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _install(args: argparse.Namespace) -> int:
    from repoctx.hook.install import install

    print(f"repoctx: {install(Path(args.path), chain=args.chain, force=args.force)}",
          file=sys.stderr)  # fmt: skip
    return 0


def _uninstall(args: argparse.Namespace) -> int:
    from repoctx.hook.install import uninstall

    print(f"repoctx: {uninstall(Path(args.path))}", file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> int:
    from repoctx.hook import run as hook
    env = os.environ
    why = hook.env_skip(env)  # before reading any config: SKIP must always work
    if why:
        print(f"repoctx: {why}", file=sys.stderr)
        return 0
    cli = {k: getattr(args, k) for k in ("fail_on", "max_suggestions", "timeout_s", "budget",
                                         "max_diff_lines", "model", "server", "think",
                                         "no_redact")}
    status = _Status()
    try:
        outcome, settings = hook.run(Path.cwd(), cli, env, on_progress=status.show)
    except KeyboardInterrupt:
        status.clear()
        print("repoctx: interrupted", file=sys.stderr)
        sys.stderr.flush()
        os._exit(130)  # the worker may be inside llama.cpp: no interpreter shutdown under it
    finally:
        status.clear()
    code = report(outcome, settings)
    if outcome.abandoned:  # the model is still busy inside llama.cpp: do not wait for it
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def report(outcome: Outcome, settings: Settings) -> int:
    """Print the outcome; return the exit status."""
    for problem in settings.problems:  # advisory: a bad config is reported, not fatal
        print(f"repoctx: config ignored: {problem}", file=sys.stderr)
    stream = sys.stdout if outcome.kind in ("suggestions", "timeout") else sys.stderr
    for line in render(outcome):
        print(line, file=stream)
    blocking = outcome.blocking(settings.fail_on)
    if blocking:
        print(f"repoctx: commit stopped: {len(blocking)} finding(s) at or above "
              f"'{settings.fail_on}' (--fail-on); skip once with SKIP=repoctx-refactor",
              file=sys.stderr)  # fmt: skip
    return outcome.exit_code(settings.fail_on)


def render(outcome: Outcome) -> list[str]:
    """The lines the user sees: a header, then findings grouped by file as path:line."""
    if outcome.kind in ("skipped", "error"):
        prefix = "" if outcome.kind == "skipped" else "skipped after an error: "
        return [f"repoctx: {prefix}{outcome.reason}"]
    lines: list[str] = []
    if outcome.fallback:
        lines.append("repoctx: suggestions by the tiny embedded fallback model, not a real "
                     "reviewer: point repoctx at Qwen 3.5 (see `repoctx models`)")  # fmt: skip
    seconds = outcome.timings.get("total", 0.0)
    where = f"{outcome.model} via {outcome.via}" if outcome.model else outcome.via
    if outcome.kind == "timeout":
        lines.append(f"repoctx: {outcome.reason} · {where}")
    else:
        n = len(outcome.findings)
        count = f"{n} refactor suggestion{'s' if n != 1 else ''}" if n else "no suggestions"
        lines.append(f"repoctx: {count} · {where} · {seconds:.1f} s")
    current = None
    for f in outcome.findings:
        if f["path"] != current:
            current = f["path"]
            lines.append(current)
        lines.append(f"  {f['path']}:{f['line']}: {f['severity']} {f['category']}: "
                     f"{_one_line(f['message'])} → {_one_line(f['suggestion'])}")  # fmt: skip
    if outcome.summary and outcome.findings:
        lines.append(f"  {_one_line(outcome.summary)}")
    return lines


def _one_line(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= MESSAGE_CHARS else flat[: MESSAGE_CHARS - 1] + "…"


class _Status:
    """A transient one-line status on a terminal's stderr (nothing when not a terminal)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.shown = False
        self.closed = False

    def show(self, text: str) -> None:
        now = time.monotonic()
        if not self.tty or self.closed or now - self.last < 0.1:
            return
        self.last = now
        sys.stderr.write(f"\r\033[Krepoctx: {text}…")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        self.closed = True
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
