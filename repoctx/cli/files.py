"""``repoctx files``: one line per file with its facts, like ``git ls-files`` for scripts."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from repoctx.cli._common import (
    add_pack_arguments,
    add_repo_arguments,
    focus_paths,
    localize,
    scan_repo,
)
from repoctx.cli.budgeting import add_model_arguments, resolve_budget


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "files", help="list files with tier, tokens and language (tab-separated)",
        description="One line per file: tier, tokens (of the whole file), language, path. "
                    "Tiers are those the pack would give at this budget.")
    add_repo_arguments(parser)
    add_pack_arguments(parser)
    add_model_arguments(parser)
    parser.add_argument("-z", dest="nul", action="store_true",
                        help="end lines with NUL instead of newline (paths may hold newlines)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from repoctx.api import pack

    localize(args)  # a git URL: its cached checkout
    budget = resolve_budget(args)
    repo = scan_repo(args, budget.counter)
    result = pack(repo, budget.tokens, focus=focus_paths(repo, args.focus))
    end = "\0" if args.nul else "\n"
    out = sys.stdout
    for entry in sorted(result.files, key=lambda e: e.path):
        tokens = "-" if entry.full_tokens is None else str(entry.full_tokens)
        path = entry.path if args.nul else _quote(entry.path)
        out.write(f"{entry.tier}\t{tokens}\t{entry.language or '-'}\t{path}{end}")
    out.flush()
    return 0


def _quote(path: str) -> str:
    """C-quote paths holding tabs, newlines or non-UTF-8 bytes, as git does."""
    if path.isprintable() and not any(ch in path for ch in '\t"\\'):
        return path
    out = []
    for ch in path:
        if 0xDC80 <= ord(ch) <= 0xDCFF:  # a raw byte kept as a surrogate escape
            out.append(f"\\{ord(ch) - 0xDC00:03o}")
        elif ch in '"\\':
            out.append("\\" + ch)
        elif not ch.isprintable():
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch, f"\\{ord(ch):03o}"))
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'
