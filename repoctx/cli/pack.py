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
    check_outputs,
    focus_paths,
    report_problems,
    scan_repo,
    warn,
    write_atomic,
    write_stdout,
)
from repoctx.cli._memo import MemoSlot, memo_slot
from repoctx.cli.budgeting import BudgetChoice, add_model_arguments, resolve_budget


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
    from repoctx.cli._common import localize
    from repoctx.packing.policy import redact_secrets

    localize(args)  # a git URL: its cached checkout
    check_outputs(args)  # before anything is scanned or written
    redact = redact_secrets(args.no_redact, args.server)  # a remote server: refused, exit 2
    budget = resolve_budget(args)
    slot = None if args.no_cache else memo_slot(args, budget.tokens, budget.counter.name,
                                                  redact)  # a bad --focus fails here, first
    recalled = slot.recall() if slot else None
    if recalled is not None:
        _notes(budget, redact)
        text, manifest = recalled.text, recalled.manifest
    else:
        text, manifest = _pack(args, budget, redact, slot)
    _emit(args, text, manifest)
    return 0


def _notes(budget: BudgetChoice, redact: bool) -> None:
    if budget.note:
        warn(budget.note)
    if not redact:
        warn("--no-redact: secrets stay in this prompt; send it only to a model on this "
             "machine")


def _pack(args: argparse.Namespace, budget: BudgetChoice, redact: bool,
          slot: MemoSlot | None) -> tuple[str, dict[str, Any]]:
    from repoctx.api import pack

    repo = scan_repo(args, budget.counter, count=False,  # counted as the selection needs
                     listed=slot.listed if slot is not None else None)
    focus = focus_paths(repo, args.focus)
    _notes(budget, redact)
    result = pack(repo, budget.tokens, focus=focus, fmt=args.fmt, redact_secrets=redact)
    manifest = result.manifest()
    if slot is not None:
        emitted = {entry.path: repo.files[entry.path].digest or "" for entry in result.files
                   if entry.tier in ("full", "skeleton")}
        slot.remember(result.text, manifest, emitted)
    return result.text, manifest


def _emit(args: argparse.Namespace, text: str, manifest: dict[str, Any]) -> None:
    """Output, manifest and stderr report: the same bytes for a fresh and a recalled pack."""
    from repoctx.types import Problem

    if args.output:
        write_atomic(Path(args.output), text)
    else:
        write_stdout(text)
    if args.manifest:
        write_atomic(Path(args.manifest), json.dumps(manifest, indent=2) + "\n")
    report_problems([Problem(p["path"], p["reason"]) for p in manifest["problems"]])
    redactions = manifest["redactions"]
    if redactions:
        files = len({r["path"] for r in redactions})
        warn(f"redacted {len(redactions)} secret(s) in {files} file(s) "
             "(see --manifest; --no-redact keeps them, for local models only)")
    counts = {"full": 0, "skeleton": 0, "listed": 0, "excluded": 0}
    for entry in manifest["files"]:
        counts[entry["tier"]] += 1
    print(summary_line(counts, manifest["total_tokens"], manifest["budget"],
                       manifest["tokenizer"]), file=sys.stderr)


def summary_line(counts: dict[str, int], total: int, budget: int, tokenizer: str) -> str:
    return (f"repoctx: {counts['full']} full, {counts['skeleton']} skeleton, "
            f"{counts['listed']} listed, {counts['excluded']} excluded · "
            f"{total:,} of {budget:,} tokens ({tokenizer})")
