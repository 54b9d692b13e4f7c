"""``repoctx review``: pack the repo, print the static facts, stream the model's review.

The static-facts section comes first and is printed before any model is loaded, so it is
there even when the model fails. The answer streams to stdout (rendered Markdown on a
terminal, raw text when piped); progress, thinking and warnings go to stderr. ``--output``
is written atomically in every case — success, a model error, or Ctrl-C — with whatever had
been produced.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repoctx.cli._common import (
    add_pack_arguments,
    add_repo_arguments,
    focus_paths,
    parse_budget,
    scan_repo,
    warn,
    write_atomic,
)
from repoctx.cli._review_render import Renderer, emit_document, report_redactions
from repoctx.cli._review_whole import add_whole_arguments, print_plan, review_whole_cli
from repoctx.errors import InputError
from repoctx.packing.policy import NO_REDACT_HELP, NO_REDACT_WARNING, redact_secrets
from repoctx.types import KV_CACHE_TYPES

if TYPE_CHECKING:
    from repoctx.cli._review_render import Renderer
    from repoctx.llm.base import Backend, Stats
    from repoctx.llm.discover import Choice
    from repoctx.review.job import Prepared

KV_TYPES = KV_CACHE_TYPES


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
    exclusions = parser.add_argument_group(
        "what a reviewer leaves out",
        "By default a review lists, but does not read, fixtures and test data, migrations, "
        "dependencies vendored under deps/, extern/, 3rdparty/ or _vendor/, and empty files "
        "(as well as what every command lists: vendor/, node_modules/, generated, minified "
        "and lock files). `repoctx pack` keeps them: a pack is a faithful dump.")
    exclusions.add_argument("--include-all", action="store_false", dest="reviewer_defaults",
                            help="review those files too")
    exclusions.add_argument("--include", action="append", default=[], metavar="PATTERN",
                            help="review files matching this gitignore-style pattern although "
                                 "a reviewer's default leaves them out (repeatable; also "
                                 "[tool.repoctx] review_include = [...])")
    add_whole_arguments(parser)
    parser.set_defaults(run=run, reviewer_defaults=True)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import llama_cpp  # noqa: F401  (before numpy: see repoctx/llm/runtime.py)

    from repoctx.cli._common import check_outputs, localize
    from repoctx.cli._review_render import Renderer
    from repoctx.llm.discover import choose
    from repoctx.llm.fallback import BANNER
    from repoctx.review.facts import facts_for_repo

    localize(args)  # a git URL: its cached checkout
    check_outputs(args)  # a bad --output fails now, not after the model answered
    check_flags(args)  # and every other flag before anything is scanned or printed
    if getattr(args, "no_redact", False) and args.server:
        redact_secrets(True, args.server)  # --no-redact for a remote server: refused now
    repo = scan_repo(args, stages=True)
    report_left_out(repo, warn)  # first: it may be why nothing is left to review
    check_not_empty(repo)
    focus = focus_paths(repo, args.focus)
    choice = _prefer_running_serve(args, choose(repo.root, model=args.model, server=args.server))
    fallback = choice.is_fallback or serves_fallback(choice.server)
    if args.plan:  # the whole-repo plan only: no model is loaded or asked
        return print_plan(args, repo, choice, _max_tokens(args, fallback))
    facts = facts_for_repo(repo)
    args.redact = redaction_for(args, choice.server, warn)
    renderer = Renderer(json_mode=args.out_format != "markdown", think=bool(args.think))
    if fallback:
        renderer.banner(BANNER)
    renderer.title(f"# repoctx review: {repo.root.name}\n\n")
    renderer.facts(facts.to_markdown())
    try:
        return _review(args, repo, focus, facts, choice, renderer, warn, fallback)
    finally:
        renderer.close()
        if args.output:
            write_atomic(Path(args.output), renderer.document())


MIN_BUDGET = 256  # below this not even the repository's outline fits a pack


def check_flags(args: argparse.Namespace) -> None:
    """Every value ``review`` takes, checked before it scans, prints or writes anything: a
    bad ``--budget`` used to fail only after the static facts were printed."""
    from repoctx.cli._common import parse_budget

    budget = parse_budget(args.budget)
    if budget is not None and budget < MIN_BUDGET:
        raise InputError(f"--budget {args.budget}: too small for a review (a pack needs at "
                         f"least {MIN_BUDGET} tokens for the repository's outline)")
    if args.max_tokens is not None and args.max_tokens < 1:
        raise InputError(f"--max-tokens {args.max_tokens}: must be at least 1")
    if args.yes and not args.whole:
        raise InputError("--yes only confirms --whole (add --whole, or leave --yes out)")
    root = Path(args.path)
    if root.is_dir():
        args.include = [*args.include, *_configured_includes(root.resolve())]
    for pattern in args.include:
        from repoctx.scanning.walk import compile_ignore

        if not pattern.strip():
            raise InputError("--include: the pattern is empty")
        problems: list[Any] = []
        compile_ignore([pattern], "--include", problems)
        if problems:
            raise InputError(f"--include {pattern!r}: not a valid gitignore-style pattern")
    if root.is_dir():  # a missing path is the scan's one-line error
        from repoctx.cli._review_whole import settings

        settings(args, root.resolve())


def _configured_includes(root: Path) -> list[str]:
    """``review_include = ["migrations/", …]`` under ``[tool.repoctx]`` (or in the user
    config): patterns a reviewer's defaults leave out that this project wants reviewed."""
    from repoctx.config import config_settings

    patterns: list[str] = []
    for origin, table in config_settings(root):
        value = table.get("review_include")
        if value is None:
            continue
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InputError(f"{origin}: review_include must be a list of gitignore-style "
                             f"patterns, not {value!r}")
        patterns += value
    return patterns


def report_left_out(repo: Any, warn: Any) -> None:
    """One line naming what a reviewer's defaults left out, and how to bring it back."""
    from collections import Counter

    from repoctx.scanning.walk import REVIEWER_REASONS

    reasons = set(REVIEWER_REASONS.values())
    counts = Counter(f.skip.reason for f in repo.files.values()
                     if f.skip is not None and f.skip.reason in reasons)
    if counts:
        parts = ", ".join(f"{why} ({n})" for why, n in sorted(counts.items(),
                                                             key=lambda c: (-c[1], c[0])))
        warn(f"listed, not reviewed: {parts} (--include PATTERN or --include-all reviews them)")


def check_not_empty(repo: Any) -> None:
    """An empty repository is a one-line error, not a model asked to review nothing."""
    if not any(f.packable and f.size > 0 for f in repo.files.values()):
        skipped = len(repo.files)
        why = f" ({skipped} file{'s' if skipped != 1 else ''}, none of them reviewable text)" \
            if skipped else ""
        raise InputError(f"{repo.root}: nothing to review{why}")


def serves_fallback(server: str | None) -> bool:
    """A ``repoctx serve`` answering with the embedded fallback: its output gets the same
    banner, answer cap and repetition guard as a local fallback run."""
    if server is None:
        return False
    from repoctx.serve.client import health

    info = health(server)
    return bool(info and info.get("fallback"))


def _review(args: argparse.Namespace, repo: Any, focus: list[str], facts: Any, choice: Any,
            renderer: Renderer, warn: Any, fallback: bool) -> int:  # fmt: skip
    from repoctx.llm.base import Options
    from repoctx.llm.open import open_backend
    from repoctx.review.job import prepare_fitted

    plain = fallback
    max_tokens = _max_tokens(args, plain)
    renderer.stage(f"loading the model ({choice.reason})")
    backend, sizing = open_backend(
        choice, budget=parse_budget(args.budget), max_tokens=max_tokens,
        kv_type=args.kv_type, on_warning=warn,
    )  # fmt: skip
    if fallback and args.out_format == "markdown":
        from repoctx.llm.repetition import GuardedBackend

        backend = GuardedBackend(backend)  # the tiny model's loops end at their first repeat
    try:
        greedy = plain  # a 270M base model rambles less at temperature 0
        options = Options(max_tokens=max_tokens, think=args.think,
                          temperature=0.0 if greedy else 0.6,
                          repeat_penalty=1.15 if greedy else 1.0)  # fmt: skip
        if args.whole:
            return review_whole_cli(args, repo, choice, backend, sizing.pack_budget, options,
                                    renderer, facts.to_markdown(), focus, fallback=fallback)
        from repoctx.cli._review_whole import cost_of, wanted

        wanted(args, repo, sizing.pack_budget, fallback=plain,
               cost=cost_of(args, backend, choice, max_tokens))
        renderer.stage(f"packing {sizing.pack_budget:,} tokens")
        prepared = prepare_fitted(
            repo, backend.count_tokens, backend.context_length, budget=sizing.pack_budget,
            facts=facts, focus=focus, fmt=args.out_format, options=options, plain=plain,
            redact_secrets=args.redact,
        )  # fmt: skip
        report_redactions(prepared.pack.redactions, warn)
        renderer.header(_header(backend, prepared, choice.reason))
        if plain and args.out_format == "markdown":
            from repoctx.review.job import PLAIN_PRIMER

            renderer.text(PLAIN_PRIMER, generated=False)
        stats = _stream(backend, prepared, renderer)
        _record_rates(args, backend, stats)
        renderer.footer(_footer(stats))
        if args.out_format != "markdown":
            return _emit_structured(args, renderer.answer(), backend.name, fallback)
        return 0
    finally:
        backend.close()


def _record_rates(args: argparse.Namespace, backend: Backend, stats: Stats) -> None:
    """This run's prefill and decode rates, for the next ``--whole`` estimate."""
    from repoctx.cli._review_whole import model_identity
    from repoctx.review.whole.cost import record

    if not args.no_cache:
        record(model_identity(backend, args.kv_type), stats)


def _prefer_running_serve(args: argparse.Namespace, choice: Choice) -> Choice:
    """A running ``repoctx serve`` keeps the model loaded and this repo's state warm, so a
    second review reads only what changed (docs/backends.md): use it, as the hook does,
    unless ``--model`` or a server was named. One that serves the embedded fallback is
    skipped: a local fallback run is as quick and carries the fallback's settings."""
    if args.model is not None or choice.server is not None:
        return choice
    from repoctx.llm.discover import Choice as Picked
    from repoctx.serve.client import find_running

    running = find_running()
    if running is None or running.fallback:
        return choice
    return Picked(None, running.url, f"repoctx serve at {running.url}")


def redaction_for(args: argparse.Namespace, server: str | None, warn: Any) -> bool:
    """Redact unless ``--no-redact`` for a model on this machine (refused for others)."""
    redact = redact_secrets(getattr(args, "no_redact", False), server)
    if not redact:
        warn(NO_REDACT_WARNING)
    return redact


def _max_tokens(args: argparse.Namespace, plain: bool) -> int:
    return int(args.max_tokens or (768 if plain else 4096))


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
    from repoctx.review.findings import parse_findings

    return emit_document(args, parse_findings(answer), model, plain)
