"""``repoctx review``: pack the repo, print the static facts, stream the model's review.

The static-facts section comes first and is printed before any model is loaded, so it is
there even when the model fails. The answer streams to stdout (rendered Markdown on a
terminal, raw text when piped); progress, thinking and warnings go to stderr. ``--output``
is written atomically in every case — success, a model error, or Ctrl-C — with whatever had
been produced.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repoctx.cli._common import add_pack_arguments, add_repo_arguments
from repoctx.cli._review_whole import add_whole_arguments
from repoctx.policy import NO_REDACT_HELP

if TYPE_CHECKING:
    from repoctx.cli._review_render import Renderer
    from repoctx.llm.base import Backend, Stats
    from repoctx.llm.discover import Choice
    from repoctx.review import Prepared

KV_TYPES = ("f16", "q8_0", "q4_0", "q5_0", "q5_1", "q4_1", "iq4_nl", "f32")


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "review", help="stream a whole-repository review from a local model",
        description="Pack the repository to the model's budget and stream a review: what the "
                    "system does, the riskiest code, refactorings, missing tests, grounded by "
                    "static facts repoctx computes itself.")  # fmt: skip
    add_repo_arguments(parser)
    add_pack_arguments(parser)
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--model",
        metavar="GGUF",
        help="a .gguf file or a model name known "
        "to the HF cache / Ollama / LM Studio (see `repoctx models`)",
    )
    source.add_argument(
        "--server",
        metavar="URL",
        help="an OpenAI-compatible server (vLLM, llama-server, Ollama, LM Studio)",
    )
    parser.add_argument("--format", choices=("markdown", "json", "sarif"), default="markdown",
                        dest="out_format", help="markdown (default), JSON findings, or SARIF")
    parser.add_argument("--output", "-o", metavar="FILE", help="also write the result here")
    parser.add_argument("--no-redact", action="store_true", help=NO_REDACT_HELP)
    parser.add_argument(
        "--think",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let Qwen 3.5 think first (shown dimmed on stderr); default: the model's own default",
    )
    parser.add_argument(
        "--kv-type",
        choices=KV_TYPES,
        default="f16",
        help="KV cache type: q8_0 halves its memory but decodes ~2.7x slower per context token",
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        metavar="N",
        help="answer length limit (default 4096; 768 for the fallback model)",
    )
    add_whole_arguments(parser)
    parser.set_defaults(run=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import llama_cpp  # noqa: F401  (before numpy: see repoctx/llm/runtime.py)

    from repoctx.analysis import facts_for_repo
    from repoctx.cli._common import focus_paths, localize, scan_repo, warn
    from repoctx.cli._review_render import Renderer
    from repoctx.llm.discover import choose
    from repoctx.llm.fallback import BANNER

    localize(args)  # a git URL: its cached checkout
    repo = scan_repo(args)
    focus = focus_paths(repo, args.focus)
    choice = _prefer_running_serve(args, choose(repo.root, model=args.model, server=args.server))
    if args.plan:  # the whole-repo plan only: no model is loaded or asked
        from repoctx.cli._review_whole import print_plan

        return print_plan(args, repo, choice, _max_tokens(args, choice.is_fallback))
    facts = facts_for_repo(repo)
    args.redact = redaction_for(args, choice.server, warn)
    renderer = Renderer(json_mode=args.out_format != "markdown", think=bool(args.think))
    if choice.is_fallback:
        renderer.banner(BANNER)
    renderer.title(f"# repoctx review: {repo.root.name}\n\n")
    renderer.facts(facts.to_markdown())
    try:
        return _review(args, repo, focus, facts, choice, renderer, warn)
    finally:
        renderer.close()
        if args.output:
            from repoctx.cli._common import write_atomic

            write_atomic(Path(args.output), renderer.document())


def _review(args: argparse.Namespace, repo: Any, focus: list[str], facts: Any, choice: Any,
            renderer: Renderer, warn: Any) -> int:  # fmt: skip
    from repoctx.cli._common import parse_budget
    from repoctx.llm.base import Options
    from repoctx.llm.open import open_backend
    from repoctx.review import prepare_fitted

    plain = choice.is_fallback
    max_tokens = _max_tokens(args, plain)
    backend, sizing = open_backend(
        choice, budget=parse_budget(args.budget), max_tokens=max_tokens,
        kv_type=args.kv_type, on_warning=warn,
    )  # fmt: skip
    try:
        greedy = plain  # a 270M base model rambles less at temperature 0
        options = Options(max_tokens=max_tokens, think=args.think,
                          temperature=0.0 if greedy else 0.6,
                          repeat_penalty=1.15 if greedy else 1.0)  # fmt: skip
        if whole_wanted(args, repo, sizing.pack_budget, fallback=plain):
            from repoctx.cli._review_whole import review_whole_cli

            return review_whole_cli(args, repo, choice, backend, sizing.pack_budget, options,
                                    renderer, facts.to_markdown(), focus)
        prepared = prepare_fitted(
            repo, backend.count_tokens, backend.context_length, budget=sizing.pack_budget,
            facts=facts, focus=focus, fmt=args.out_format, options=options, plain=plain,
            redact_secrets=args.redact,
        )  # fmt: skip
        report_redactions(prepared.pack.redactions, warn)
        renderer.header(_header(backend, prepared, choice.reason))
        if plain and args.out_format == "markdown":
            from repoctx.review import PLAIN_PRIMER

            renderer.text(PLAIN_PRIMER)
        stats = _stream(backend, prepared, renderer)
        renderer.footer(_footer(stats))
        if args.out_format != "markdown":
            return _emit_structured(args, renderer.answer(), backend.name, plain)
        return 0
    finally:
        backend.close()


def _prefer_running_serve(args: argparse.Namespace, choice: Choice) -> Choice:
    """A running ``repoctx serve`` keeps the model loaded and this repo's state warm, so a
    second review reads only what changed (docs/backends.md): use it, as the hook does,
    unless ``--model`` or a server was named. One that serves the embedded fallback is
    skipped: a local fallback run is as quick and carries the fallback's settings."""
    if args.model is not None or choice.server is not None:
        return choice
    from repoctx.llm.discover import Choice as Picked
    from repoctx.serve import find_running

    running = find_running()
    if running is None or running.fallback:
        return choice
    return Picked(None, running.url, f"repoctx serve at {running.url}")


def redaction_for(args: argparse.Namespace, server: str | None, warn: Any) -> bool:
    """Redact unless ``--no-redact`` for a model on this machine (refused for others)."""
    from repoctx.policy import NO_REDACT_WARNING, redact_secrets

    redact = redact_secrets(getattr(args, "no_redact", False), server)
    if not redact:
        warn(NO_REDACT_WARNING)
    return redact


def report_redactions(redactions: Any, warn: Any) -> None:
    if redactions:
        files = len({r.path for r in redactions})
        warn(f"redacted {len(redactions)} secret(s) in {files} file(s) before sending "
             "the repository to the model")


def _max_tokens(args: argparse.Namespace, plain: bool) -> int:
    return int(args.max_tokens or (768 if plain else 4096))


def whole_wanted(args: argparse.Namespace, repo: Any, budget: int, *,
                 fallback: bool = False) -> bool:
    from repoctx.cli._review_whole import wanted

    return wanted(args, repo, budget, fallback=fallback)


def _stream(backend: Backend, prepared: Prepared, renderer: Renderer) -> Stats:
    from repoctx.llm.base import Done, PrefillProgress, Stats, Text, Thinking

    stats = Stats()
    for event in backend.stream(prepared.prompt, prepared.options):
        if isinstance(event, PrefillProgress):
            renderer.prefill(event)
        elif isinstance(event, Thinking):
            renderer.thinking(event.text)
        elif isinstance(event, Text):
            renderer.text(event.text)
        elif isinstance(event, Done):
            stats = event.stats
    return stats


def _header(backend: Backend, prepared: Prepared, reason: str) -> str:
    pack = prepared.pack
    counts = pack.counts()
    return (
        f"model: {backend.name} ({reason}) · context {backend.context_length:,} tokens · "
        f"pack {pack.total_tokens:,}/{pack.budget:,} tokens "
        f"({counts['full']} full, {counts['skeleton']} skeleton, {counts['listed']} listed)"
    )


def _footer(stats: Stats) -> str:
    return (
        f"tokens in {stats.prompt_tokens:,} ({stats.cached_tokens:,} reused) · "
        f"out {stats.output_tokens:,} · prefill {stats.prefill_s:.1f} s "
        f"({stats.prefill_tokens_per_s:,.0f} tok/s) · decode {stats.decode_s:.1f} s "
        f"({stats.decode_tokens_per_s:,.1f} tok/s) · {stats.finish_reason}"
    )


def _emit_structured(args: argparse.Namespace, answer: str, model: str, plain: bool) -> int:
    from repoctx.review import parse_findings

    return emit_document(args, parse_findings(answer), model, plain)


def emit_document(args: argparse.Namespace, doc: dict[str, Any], model: str, plain: bool) -> int:
    """Print (and ``--output``) a findings document as JSON or SARIF."""
    from repoctx import __version__
    from repoctx.llm.fallback import BANNER
    from repoctx.review import to_sarif

    if plain:
        doc["summary"] = f"{BANNER}\n\n{doc['summary']}"
    out = doc if args.out_format == "json" else to_sarif(doc, tool_version=__version__, model=model)
    text = json.dumps(out, indent=2, ensure_ascii=False) + "\n"
    sys.stdout.write(text)
    sys.stdout.flush()
    if args.output:
        from repoctx.cli._common import write_atomic

        write_atomic(Path(args.output), text)
        args.output = None  # written: run()'s finally must not overwrite it with Markdown
    return 0
