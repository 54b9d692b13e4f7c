"""``repoctx review --whole`` and ``--plan``: the front end of a whole-repo review.

The core (``repoctx.review.whole.job``) yields events; this module turns them into progress lines on
stderr (pack i of n, ETA), Markdown sections on stdout in pack order, and the merged
JSON/SARIF document. A serial run streams each pack's review as it is written; a parallel
run prints each pack when it and every pack before it are done, so stdout always reads in
dependency order.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repoctx.cli._common import parse_budget, warn
from repoctx.cli._review_render import report_redactions
from repoctx.errors import InputError, ModelError

if TYPE_CHECKING:
    from repoctx.cli._review_render import Renderer
    from repoctx.llm.base import Backend, Options
    from repoctx.llm.discover import Choice
    from repoctx.packing.plan import PackPlan
    from repoctx.review.whole.cost import Estimate, Rates
    from repoctx.scanning.repo import Repo

def add_whole_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("whole-repo review (a repository larger than one context)")
    group.add_argument("--whole", action=argparse.BooleanOptionalAction, default=None,
                       help="review every source file in full, one pack at a time, then merge; "
                            "prints the plan and its time estimate and asks first on a terminal "
                            "(default: one pack of the most relevant part, with a line saying "
                            "what --whole would cost)")
    group.add_argument("--yes", "-y", action="store_true",
                       help="start --whole without asking for confirmation")
    group.add_argument("--whole-share", type=float, default=None, metavar="F",
                       help="suggest --whole when less than this share of the source fits one "
                            "pack (default 0.5; [tool.repoctx] whole_share)")
    group.add_argument("--plan", action="store_true",
                       help="print the whole-repo pack plan (packs, files, tokens) and exit")
    group.add_argument("--parallel", type=int, default=None, metavar="N",
                       help="packs reviewed at once by a --server (default 1; [tool.repoctx] "
                            "parallel); a local model reviews one at a time")
    group.add_argument("--fresh", action="store_true",
                       help="review every pack again instead of reusing stored pack reviews")


def settings(args: argparse.Namespace, root: Path) -> tuple[float, int]:
    """(whole_share, parallel): command line over [tool.repoctx] over the user config."""
    from repoctx.config import config_settings
    from repoctx.review.whole.job import DEFAULT_SHARE

    share, parallel = args.whole_share, args.parallel
    for _, table in reversed(config_settings(root)):  # lowest precedence first
        share = share if args.whole_share is not None else table.get("whole_share", share)
        parallel = parallel if args.parallel is not None else table.get("parallel", parallel)
    share = DEFAULT_SHARE if share is None else share
    parallel = 1 if parallel is None else parallel
    if not isinstance(share, int | float) or not 0 < share <= 1:
        raise InputError(f"whole_share must be a number in (0, 1], not {share!r}")
    if not isinstance(parallel, int) or parallel < 1:
        raise InputError(f"parallel must be a whole number of at least 1, not {parallel!r}")
    return float(share), parallel


def wanted(args: argparse.Namespace, repo: Repo, budget: int, *, fallback: bool = False,
           note: Callable[[str], None] | None = None, cost: Callable[[PackPlan], str] | None = None
           ) -> bool:
    """Only ``--whole`` reviews pack by pack. A repository larger than one pack gets a review
    of its most relevant part and one line saying what ``--whole`` would take (its packs and,
    with ``cost``, the time): a plain ``repoctx review .`` never turns into hours of work."""
    if args.whole:
        return True
    from repoctx.review.whole.job import needs_whole

    if args.whole is None and needs_whole(repo, budget, settings(args, repo.root)[0]):
        from repoctx.packing.plan import plan_packs
        from repoctx.review.whole.job import source_tokens

        plan = plan_packs(repo, budget, fmt="markdown" if fallback else "qwen")
        n = len(plan.packs)
        when = f", {cost(plan)}" if cost is not None else ""
        (note or warn)(f"the source ({source_tokens(repo):,} tokens) is larger than one pack "
                       f"of {budget:,}: reviewing its most relevant part. To review all of it: "
                       f"`repoctx review --whole` ({n} pack{'s' if n != 1 else ''}{when}; "
                       "`--plan` lists them)")
    return False


def planned_budget(args: argparse.Namespace, choice: Choice, max_tokens: int) -> int:
    """The pack budget a review would use, without loading a model (``--plan``)."""
    from repoctx.llm.fallback import FALLBACK_MAX_CTX
    from repoctx.llm.open import FALLBACK_AUTO_CTX, GGUF_AUTO_CTX, PROMPT_OVERHEAD, size_context

    budget = parse_budget(args.budget)
    if budget is not None:
        return budget
    if choice.server is not None:
        from repoctx.llm.openai_compat import OpenAICompatBackend

        server = OpenAICompatBackend(choice.server)
        try:
            cap = server.context_length
        finally:
            server.close()
        return size_context(None, max_tokens, cap=cap, auto_ctx=cap).pack_budget
    if choice.candidate is None:
        cap, auto = FALLBACK_MAX_CTX, FALLBACK_AUTO_CTX
        return size_context(None, max_tokens, cap=cap, auto_ctx=auto).pack_budget
    try:
        from repoctx.budget import plan_for_model

        plan = plan_for_model(choice.candidate.path, kv_type=args.kv_type,
                              reserve_answer=max_tokens + PROMPT_OVERHEAD)
        if plan.pack_budget > 0:
            return int(plan.pack_budget)
    except Exception:  # no header or device facts: the same default a review would use
        pass
    return size_context(None, max_tokens, cap=GGUF_AUTO_CTX, auto_ctx=GGUF_AUTO_CTX).pack_budget


def print_plan(args: argparse.Namespace, repo: Repo, choice: Choice, max_tokens: int) -> int:
    from repoctx.packing.plan import plan_packs
    from repoctx.review.whole.job import source_tokens

    budget = planned_budget(args, choice, max_tokens)
    plan = plan_packs(repo, budget, fmt="markdown" if choice.is_fallback else "qwen")
    if args.out_format != "markdown":
        sys.stdout.write(json.dumps(plan_document(repo, plan), indent=2) + "\n")
        return 0
    sys.stdout.write(plan_text(repo, plan, source_tokens(repo)))
    return 0


def plan_document(repo: Repo, plan: PackPlan) -> dict[str, Any]:
    from repoctx.review.whole.job import source_tokens

    tokens = {p: repo.files[p].tokens or 0 for pack in plan.packs for p in pack.files}
    return {
        "budget": plan.budget, "capacity": plan.capacity, "overhead": plan.overhead,
        "source_tokens": source_tokens(repo), "files": plan.files,
        "packs": [{"pack": p.index + 1, "estimate": p.estimate + plan.overhead,
                   "files": [{"path": f, "tokens": tokens[f]} for f in p.files],
                   "interfaces": list(p.interfaces)} for p in plan.packs],
        "skeleton_only": [{"path": p, "tokens": repo.files[p].tokens or 0}
                          for p in plan.skeleton_only],
        "split_cycles": [list(c) for c in plan.split_cycles],
    }  # fmt: skip


def plan_text(repo: Repo, plan: PackPlan, total: int) -> str:
    n = len(plan.packs)
    lines = [f"Whole-repo plan for {repo.root.name}: {n} pack{'s' if n != 1 else ''} of at most "
             f"{plan.budget:,} tokens ({plan.overhead:,} of summary and tree in each) · "
             f"{plan.files} source files in full, {total:,} tokens", ""]
    for pack in plan.packs:
        extra = f" + {len(pack.interfaces)} interface skeleton(s)" if pack.interfaces else ""
        files = f"{len(pack.files)} file{'' if len(pack.files) == 1 else 's'}"
        lines.append(f"pack {pack.index + 1} of {n} · {files}{extra} · "
                     f"~{pack.estimate + plan.overhead:,} tokens")
        lines += [f"    {p}  {repo.files[p].tokens or 0:,}" for p in pack.files]
        if pack.interfaces:
            lines.append(f"    interfaces: {', '.join(pack.interfaces)}")
    if plan.split_cycles:
        lines += ["", "import cycles too large for one pack (cut along the dependency order):"]
        lines += [f"    {' → '.join(c)}" for c in plan.split_cycles]
    if plan.skeleton_only:
        lines += ["", "files larger than a whole pack (their skeletons only):"]
        lines += [f"    {p}  {repo.files[p].tokens or 0:,}" for p in plan.skeleton_only]
    return "\n".join(lines) + "\n"


def model_identity(backend: Backend, kv_type: str) -> str:
    """What makes two runs' answers comparable: the GGUF file (name, size, mtime) or the
    server's model id."""
    path = getattr(backend, "path", None)
    if isinstance(path, Path):
        info = path.stat()
        return f"gguf:{path.name}:{info.st_size}:{info.st_mtime_ns}:kv={kv_type}"
    return f"server:{backend.name}"


def review_whole_cli(args: argparse.Namespace, repo: Repo, choice: Choice, backend: Backend,
                     budget: int, options: Options, renderer: Renderer,
                     facts_markdown: str, focus: list[str], *, fallback: bool = False) -> int:
    from repoctx.cli._whole_view import WholeView  # imports the whole-review core
    from repoctx.packing.plan import plan_packs
    from repoctx.review.whole.cost import estimate
    from repoctx.review.whole.job import Job, review_whole
    from repoctx.review.whole.prompts import Spec
    from repoctx.review.whole.store import ResultStore

    plain = fallback or choice.is_fallback
    parallel = settings(args, repo.root)[1]
    if parallel > 1 and choice.server is None:
        warn(f"--parallel {parallel}: a local model reviews one pack at a time "
             "(parallel reviews need a --server with several slots)")
        parallel = 1
    plan = plan_packs(repo, budget, fmt="markdown" if plain else "qwen")
    _warn_plan(plan, warn)
    identity = model_identity(backend, args.kv_type)
    if not confirm(args, plan, estimate(plan, rates_for(backend, choice, identity),
                                        options.max_tokens, parallel)):
        return 1
    renderer.header(_header(backend, choice.reason, plan, parallel), whole=True)
    spec = Spec(repo.root.name, identity, options,
                fmt=args.out_format, plain=plain, focus=tuple(focus))
    job = Job(spec, backend.context_length, parallel, facts_markdown,
              redact_secrets=getattr(args, "redact", True))
    store = ResultStore(enabled=not args.no_cache, read=not args.fresh)
    if store.warning:
        warn(store.warning)
    view = WholeView(renderer, spec)
    try:
        for event in review_whole(repo, plan, backend, job, store):
            view.handle(event)
    except ModelError as exc:
        if parallel < 2:
            raise
        raise ModelError(f"{exc} — --parallel {parallel} needs a server that answers requests "
                         "side by side (vLLM, llama-server -np N); llama-cpp-python's server "
                         "cuts an answer off when the next request arrives unless started "
                         "with --interrupt_requests False") from exc
    finally:
        store.close()
    report_redactions(view.redactions, warn)
    return view.finish(args, backend.name)


def confirm(args: argparse.Namespace, plan: PackPlan, cost: Estimate) -> bool:
    """Say what the whole review will take; on a terminal, ask before starting it."""
    from repoctx.cli._common import warn

    n = len(plan.packs)
    warn(f"whole-repo review: {n} pack{'s' if n != 1 else ''} of at most {plan.budget:,} tokens, "
         f"{plan.files} files in full: {cost.text()}")
    if getattr(args, "yes", False) or not (sys.stdin.isatty() and sys.stderr.isatty()):
        return True
    sys.stderr.write("repoctx: start it? [y/N] ")
    sys.stderr.flush()
    try:
        answer = input()
    except (EOFError, KeyboardInterrupt):
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return True
    warn("not started (`--plan` lists the packs; `--yes` starts without asking)")
    return False


def rates_for(backend: Backend, choice: Choice, identity: str) -> Rates:
    """This model's measured rates here, else rates planned from its size and the device."""
    from repoctx.review.whole.cost import Rates, measured, planned

    found = measured(identity)
    if found is not None:
        return found
    if choice.server is not None:
        guess = planned(None, on_gpu=True)
        return Rates(guess.prefill, guess.decode,
                     "assumed for a GPU server; not yet measured with it")
    path = getattr(backend, "path", None)
    size = path.stat().st_size if isinstance(path, Path) else None
    return planned(size, on_gpu=not choice.is_fallback and _has_gpu())


def cost_of(args: argparse.Namespace, backend: Backend, choice: Choice,
            max_tokens: int) -> Callable[[PackPlan], str]:
    """The time a plan would take with this backend, as a phrase (for the --whole hint)."""
    from repoctx.review.whole.cost import estimate

    def text(plan: PackPlan) -> str:
        rates = rates_for(backend, choice, model_identity(backend, args.kv_type))
        return estimate(plan, rates, max_tokens, settings(args, Path(args.path))[1]).text()

    return text


def _has_gpu() -> bool:
    try:
        from repoctx.budget import detect

        return any(d.kind != "cpu" for d in detect().devices)
    except Exception:  # no NVML, no driver: plan for the CPU
        return False


def _warn_plan(plan: PackPlan, warn: Any) -> None:
    for path in plan.skeleton_only:
        warn(f"{path} is larger than a whole pack: only its skeleton is reviewed")
    for cycle in plan.split_cycles:
        warn(f"import cycle of {len(cycle)} files is larger than a pack: cut in dependency "
             f"order ({cycle[0]} … {cycle[-1]})")


def _header(backend: Backend, reason: str, plan: PackPlan, parallel: int) -> str:
    at_once = f" · {parallel} at a time" if parallel > 1 else ""
    return (f"model: {backend.name} ({reason}) · context {backend.context_length:,} tokens · "
            f"whole-repo review: {len(plan.packs)} packs of at most {plan.budget:,} tokens, "
            f"{plan.files} files in full{at_once}")

