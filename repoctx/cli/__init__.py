"""Command-line entry point: a thin shell that dispatches to one module per command.

Each command module exposes ``register(subparsers)`` and ``run(args) -> int`` and keeps its
top level import-light (argparse only): heavy libraries, and the core's modules that load
them, are imported inside ``run`` (tests/test_hook_run.py checks the import list) so that
``repoctx hook run`` on an empty index starts in well under a second.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from repoctx._version import __version__
from repoctx.cli._stages import install as install_stage_trace
from repoctx.config import check_environment
from repoctx.errors import InputError, RepoctxError

# name → module under repoctx.cli; order is the order shown in --help.
COMMANDS: dict[str, str] = {
    "review": "review",
    "tui": "tui",
    "pack": "pack",
    "files": "files",
    "graph": "graph",
    "budget": "budget",
    "models": "models",
    "hook": "hook",
    "serve": "serve",
    "mcp": "mcp",
    "cache": "cache",
    "doctor": "doctor",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole CLI, or with ``only`` one command's parser (the others' modules are then
    never imported: ~40 ms of every run, which a recalled pack or an empty hook notices)."""
    parser = argparse.ArgumentParser(
        prog="repoctx",
        description="Put a whole repository in front of a local LLM, sized to your GPU.",
    )
    parser.add_argument("--version", action="version", version=f"repoctx {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        if only is not None and name != only:
            continue
        try:
            module = importlib.import_module(f"repoctx.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"repoctx.cli.{module_name}":
                raise
            continue  # command not built yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # File names need not be UTF-8: let such bytes pass through instead of crashing.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments[0] if arguments and arguments[0] in COMMANDS else None)
    args = parser.parse_args(arguments)
    install_stage_trace()  # REPOCTX_STAGES (tests, bench): off unless set
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        if getattr(args, "path", None) == "":  # Path("") would quietly mean the cwd
            raise InputError("the repository path is empty (use . for this directory)")
        if arguments[0] != "hook":  # the advisory hook reports a bad value and goes on
            check_environment()
        code: int = args.run(args)
    except RepoctxError as exc:
        print(f"repoctx: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("repoctx: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # stdout closed early (e.g. `repoctx files . | head`): not an error for the user.
        sys.stderr.close()
        return 0
    return code


FAST_EXIT_COMMANDS = frozenset({"pack", "files", "graph"})


def console() -> None:
    """The ``repoctx`` program: :func:`main`, then an exit that skips the interpreter's
    teardown for the batch commands (``pack``, ``files``, ``graph``).

    Freeing a scan's objects one by one (the 248K-entry tokenizer, a few hundred thousand
    parse facts) costs a Django pack ~0.15 s after its output is already written and
    synced; those commands leave nothing to clean up (their worker pools, threads and
    databases are closed before ``main`` returns), so a run that succeeded ends at once;
    an error or a Ctrl-C takes the normal way out. Commands that own servers, terminals or
    child processes exit normally, and so does every command under a profiler or a tracer
    (cProfile, coverage), which write their data at exit.
    """
    code = main()
    batch = len(sys.argv) > 1 and sys.argv[1] in FAST_EXIT_COMMANDS
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if code == 0 and batch and not watched:  # a profiler or coverage writes its data at exit
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nothing more can be said anyway
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    console()
