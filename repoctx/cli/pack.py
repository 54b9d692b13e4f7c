"""``repoctx pack``: the repository as one prompt, for any LLM."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from repoctx.cli._common import (
    add_pack_arguments,
    add_repo_arguments,
    focus_paths,
    report_problems,
    scan_repo,
    warn,
    write_atomic,
    write_stdout,
)
from repoctx.cli.budgeting import add_model_arguments


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "pack", help="print the repository as one dependency-ordered prompt",
        description="Pack the repository into one prompt that fits the token budget: full "
                    "text for the most relevant files, signature skeletons for the next, "
                    "paths for the rest, in dependency order.")
    add_repo_arguments(parser)
    add_pack_arguments(parser)
    add_model_arguments(parser)
    parser.add_argument("--format", choices=("xml", "markdown", "qwen"), default="xml",
                        dest="fmt", help="prompt layout (default: xml)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the prompt here "
                        "instead of stdout")
    parser.add_argument("--no-redact", action="store_true",
                        help="keep secrets in the prompt (only for a model on this machine: "
                             "refused with a --server that is not on localhost)")
    parser.add_argument("--manifest", metavar="FILE",
                        help="write a JSON manifest: each file's tier, tokens and reason")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from repoctx.api import pack
    from repoctx.cli.budgeting import resolve_budget
    from repoctx.policy import redact_secrets

    redact = redact_secrets(args.no_redact, args.server)  # a remote server: refused, exit 2
    budget = resolve_budget(args)
    repo = scan_repo(args, budget.counter, count=False)  # counted as the selection needs
    focus = focus_paths(repo, args.focus)
    if budget.note:
        warn(budget.note)
    if not redact:
        warn("--no-redact: secrets stay in this prompt; send it only to a model on this "
             "machine")
    result = pack(repo, budget.tokens, focus=focus, fmt=args.fmt, redact_secrets=redact)
    if args.output:
        write_atomic(Path(args.output), result.text)
    else:
        write_stdout(result.text)
    if args.manifest:
        write_atomic(Path(args.manifest), json.dumps(result.manifest(), indent=2) + "\n")
    report_problems(result.problems)
    if result.redactions:
        files = len({r.path for r in result.redactions})
        warn(f"redacted {len(result.redactions)} secret(s) in {files} file(s) "
             "(see --manifest; --no-redact keeps them, for local models only)")
    print(summary_line(result.counts(), result.total_tokens, result.budget, result.counter),
          file=sys.stderr)
    return 0


def summary_line(counts: dict[str, int], total: int, budget: int, tokenizer: str) -> str:
    return (f"repoctx: {counts['full']} full, {counts['skeleton']} skeleton, "
            f"{counts['listed']} listed, {counts['excluded']} excluded · "
            f"{total:,} of {budget:,} tokens ({tokenizer})")
