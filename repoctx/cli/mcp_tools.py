"""What ``repoctx mcp`` serves, UI-free and without the MCP SDK: one function per tool.

Each function takes the tool's typed parameters, returns JSON-ready data and raises
:class:`~repoctx.errors.RepoctxError` for anything the caller got wrong or that failed (the
server turns those into tool errors, never a crash). They go through the same code as the
CLI — the same budget resolution, the same ``repoctx.pack`` (secrets always redacted: an MCP
client hands what it reads to whatever model drives it, so there is no ``no_redact`` here),
the same graph JSON and budget plan — so a tool's answer matches the command's output.

Nothing here writes to stdout (on stdio it carries the protocol); progress is not reported,
and warnings come back in the result.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from repoctx.errors import InputError

if TYPE_CHECKING:
    from repoctx.api import Repo
    from repoctx.llm.discover import Choice
    from repoctx.packing.render import Format
    from repoctx.scanning.tokens import TokenCounter

PACK_FORMATS = ("xml", "markdown", "qwen")
DEFAULT_MCP_BUDGET = "16k"  # a coding agent's context is shared: a small pack by default
SUMMARY_FILES = 40  # the summary names this many packed files; the manifest has them all


@dataclass(slots=True)
class Located:
    """A tool's ``path`` argument made local: a directory, and what was said on the way."""

    path: Path
    warnings: list[str] = field(default_factory=list)


def locate(path: str) -> Located:
    """A local directory, or a git ``URL[@REF][#SUBDIR]`` checked out in the cache."""
    from repoctx.remote import checkout, is_remote, parse_spec
    from repoctx.scanning.walk import check_root

    if not path:
        raise InputError("path: give a repository directory or a git URL")
    warnings: list[str] = []
    if is_remote(path):
        local = checkout(parse_spec(path), warn=warnings.append)
    else:
        local = Path(path).expanduser()
    check_root(local)
    return Located(local, warnings)


def _budget(path: Path, budget: str | int) -> tuple[int, TokenCounter, str | None]:
    """``budget`` resolved as ``--budget`` is: tokens, ``16k``, or ``auto`` (model and GPU)."""
    from repoctx.cli.budgeting import resolve_budget

    _parse_budget(budget)  # worded for a tool parameter, not a flag
    choice = resolve_budget(argparse.Namespace(path=str(path), budget=str(budget), model=None,
                                               server=None))
    return choice.tokens, choice.counter, choice.note


def _scan(path: Path, counter: TokenCounter | None, *, count: bool = True) -> Repo:
    from repoctx.api import scan
    from repoctx.scanning.cache import Cache

    cache = Cache()
    try:
        return scan(path, counter=counter, cache=cache, count=count)
    finally:
        cache.close()


def _focus(repo: Repo, focus: list[str]) -> list[str]:
    from repoctx.cli._common import resolve_focus

    return resolve_focus(repo.root, repo.files, focus)


def pack_repo(path: str, budget: str | int = DEFAULT_MCP_BUDGET, focus: list[str] | None = None,
              fmt: str = "xml", manifest: bool = False) -> dict[str, Any]:
    """The pack, as ``repoctx pack --budget B --focus … --format F`` prints it, and its
    manifest: a summary (counts, tokens, the first files) or, asked for, the whole manifest."""
    from repoctx.api import pack

    if fmt not in PACK_FORMATS:
        raise InputError(f"format: one of {', '.join(PACK_FORMATS)}, not {fmt!r}")
    located = locate(path)
    tokens, counter, note = _budget(located.path, budget)
    repo = _scan(located.path, counter, count=False)  # counted as the selection needs
    result = pack(repo, tokens, focus=_focus(repo, focus or []), fmt=cast("Format", fmt),
                  redact_secrets=True)
    if result.total_tokens > tokens:  # the client's context must never get more than it asked
        raise InputError(f"the pack needs {result.total_tokens:,} tokens, over the "
                         f"{tokens:,}-token budget")
    full = result.manifest()
    warnings = located.warnings + list(repo.warnings) + ([note] if note else [])
    out: dict[str, Any] = {"text": result.text, "summary": summary(full), "warnings": warnings}
    if manifest:
        out["manifest"] = full
    return out


def summary(manifest: dict[str, Any]) -> dict[str, Any]:
    """What an agent needs to know about a pack without its per-file list."""
    counts = {"full": 0, "skeleton": 0, "listed": 0, "excluded": 0}
    for entry in manifest["files"]:
        counts[entry["tier"]] += 1
    packed = [e["path"] for e in manifest["files"] if e["tier"] in ("full", "skeleton")]
    return {"budget": manifest["budget"], "total_tokens": manifest["total_tokens"],
            "tokenizer": manifest["tokenizer"], "format": manifest["format"], "tiers": counts,
            "first_files": packed[:SUMMARY_FILES],
            "problems": len(manifest["problems"]),
            "secrets_redacted": len(manifest["redactions"])}


def graph_json(path: str) -> dict[str, Any]:
    """The file dependency graph as ``repoctx graph --format json`` prints it."""
    import json

    from repoctx.cli.graph import to_json

    located = locate(path)
    repo = _scan(located.path, None)
    document: dict[str, Any] = json.loads(to_json(repo.graph))
    return document


def files_list(path: str, budget: str | int = DEFAULT_MCP_BUDGET,
               focus: list[str] | None = None) -> list[dict[str, Any]]:
    """One entry per file — tier at this budget, tokens, language, path — as ``repoctx files``."""
    from repoctx.api import pack

    located = locate(path)
    tokens, counter, _ = _budget(located.path, budget)
    repo = _scan(located.path, counter)
    result = pack(repo, tokens, focus=_focus(repo, focus or []))
    return [{"path": e.path, "tier": e.tier, "tokens": e.full_tokens, "language": e.language}
            for e in sorted(result.files, key=lambda e: e.path)]


def budget_plan(model: str | None = None, server: str | None = None, gpu: str | None = None,
                vram: str | None = None, kv_type: str = "f16",
                ctx: str | int | None = None) -> dict[str, Any]:
    """``repoctx budget --json``: the memory plan and packing budget for a model on a GPU."""
    from repoctx.budget import gpu as gpus
    from repoctx.budget.default import resolve
    from repoctx.budget.plan import plan, plan_server
    from repoctx.budget.server import server_context
    from repoctx.cli.budget import KV_CHOICES, parse_ctx

    if kv_type not in KV_CHOICES:
        raise InputError(f"kv_type: one of {', '.join(KV_CHOICES)}, not {kv_type!r}")
    if gpu and vram:
        raise InputError("gpu and vram: give one of them")
    wanted = parse_ctx(None if ctx is None else str(ctx))
    if server:
        result = plan_server(server_context(server, model), ctx=wanted)
    else:
        device = gpus.what_if(gpu) if gpu else gpus.from_vram(vram) if vram else gpus.detect()
        path, found_server, _ = resolve(model, None, device.free_bytes)
        if found_server:
            result = plan_server(server_context(found_server, None), ctx=wanted)
        else:
            result = plan(path, device, kv_type=kv_type, ctx=wanted)
    document: dict[str, Any] = result.to_json()
    document["warnings"] = list(result.warnings)
    return document


def review_choice(root: Path, model: str | None = None, server: str | None = None,
                  *, allow_fallback: bool = False) -> Choice | None:
    """The model ``repoctx review`` would use here (a running ``repoctx serve`` first, as the
    CLI prefers it), or None when only the embedded fallback is there and not allowed: its
    270M answers are no help to an agent that is itself a large model."""
    from repoctx.llm.discover import Choice as Picked
    from repoctx.llm.discover import choose
    from repoctx.serve.client import find_running

    choice = choose(root, model=model, server=server)
    if model is None and choice.server is None:
        running = find_running()
        if running is not None and not running.fallback:
            choice = Picked(None, running.url, f"repoctx serve at {running.url}")
    if choice.is_fallback and not allow_fallback:
        return None
    return choice


def review_repo(path: str, focus: list[str] | None = None, budget: str | None = None,
                fmt: str = "markdown", *, model: str | None = None, server: str | None = None,
                allow_fallback: bool = False, max_tokens: int | None = None) -> dict[str, Any]:
    """``repoctx review``: the static facts and the model's review (Markdown, or the JSON
    findings document), from the same pipeline — same pack, same prompt, secrets redacted."""
    import llama_cpp  # noqa: F401  (before numpy: see repoctx/llm/runtime.py)

    from repoctx.llm.base import Options, Text
    from repoctx.llm.open import open_backend
    from repoctx.review.facts import facts_for_repo
    from repoctx.review.findings import parse_findings
    from repoctx.review.job import prepare_fitted

    if fmt not in ("markdown", "json"):
        raise InputError(f"format: markdown or json, not {fmt!r}")
    located = locate(path)
    tokens = _parse_budget(budget) if budget else None
    choice = review_choice(located.path, model, server, allow_fallback=allow_fallback)
    if choice is None:
        raise InputError("no model to review with: configure one (repoctx models), start "
                         "`repoctx serve`, or start `repoctx mcp --server URL`")
    repo = _scan(located.path, None)
    facts = facts_for_repo(repo)
    plain = choice.is_fallback
    limit = max_tokens or (768 if plain else 4096)
    warnings = list(located.warnings)
    backend, sizing = open_backend(choice, budget=tokens, max_tokens=limit, kv_type="f16",
                                   on_warning=warnings.append)
    try:
        options = Options(max_tokens=limit, temperature=0.0 if plain else 0.6,
                          repeat_penalty=1.15 if plain else 1.0)
        prepared = prepare_fitted(repo, backend.count_tokens, backend.context_length,
                                  budget=sizing.pack_budget, facts=facts,
                                  focus=_focus(repo, focus or []), fmt=fmt, options=options,
                                  plain=plain, redact_secrets=True)
        answer = "".join(event.text for event in backend.stream(prepared.prompt, options)
                         if isinstance(event, Text))
    finally:
        backend.close()
    out: dict[str, Any] = {"model": backend.name, "reason": choice.reason,
                           "facts": facts.to_markdown(),
                           "pack": summary(prepared.pack.manifest()), "warnings": warnings}
    if fmt == "json":
        out["findings"] = parse_findings(answer)
    else:
        out["review"] = answer
    return out


def _parse_budget(value: str | int) -> int | None:
    from repoctx.cli._common import parse_budget

    try:
        return parse_budget(str(value))
    except InputError as exc:
        raise InputError(str(exc).removeprefix("--")) from None
