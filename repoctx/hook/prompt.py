"""The refactor request: a pack focused on the staged change, the diff, and exact facts.

The packed repository is the system message — the reusable prefix a backend or ``repoctx
serve`` can snapshot (DESIGN.md §4) — and the diff with its facts is the tail. The changed
files are the focus, so they get full text first and their direct dependencies and dependents
come next; their text is the *staged* version (what is being committed), not the working
tree's. The budget is small by default (16K tokens) because a hook must answer in seconds;
the diff and the answer are paid for first, the repository gets what is left.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from repoctx.api import pack
from repoctx.errors import InputError
from repoctx.graph.build import dependents
from repoctx.hook.git import ChangedFile, StagedChange, new_line_ranges
from repoctx.llm.base import Message, Options, Prompt
from repoctx.packing.policy import fence_for, prepare_diff
from repoctx.review.facts import is_test_path
from repoctx.review.job import build_prompt
from repoctx.scanning.content import content_hash, decode, defang
from repoctx.scanning.repo import Repo

if TYPE_CHECKING:
    from repoctx.hook.settings import Settings
    from repoctx.llm.base import Options, Prompt
    from repoctx.packing.policy import Sides
    from repoctx.types import Definition

DEFAULT_BUDGET = 16_384
PLAIN_BUDGET = 4_096  # a tiny base model (the fallback) reads 4K tokens on a CPU in seconds
MIN_PACK = 512
PLAIN_REPEAT_PENALTY = 1.15  # as review uses for the fallback model
JSON_NOTE = (
    "\n\nAnswer with JSON only: at most {n} findings, each on one of the staged files, with "
    "`path`, `line` (a line number in the staged version of that file), `severity` (high: a "
    "bug or a breaking change that should stop this commit; medium: should be fixed soon; "
    "low: worth doing; info: a note), `category`, a one-sentence `message` and a concrete "
    "`suggestion`; then a one-sentence `summary`. An empty list is a fine answer for a clean "
    "change."
)
TEMPLATE_SLACK = 600  # instructions, chat template and the JSON note around pack and diff
LONG_FUNCTION = 60
_STATUS = {"A": "new file", "M": "modified", "D": "deleted", "T": "type changed"}


def answer_tokens(settings: Settings) -> int:
    """Room for the JSON answer: ~120 tokens a finding plus the summary (and thinking)."""
    return 256 + 160 * settings.max_suggestions + (2048 if settings.think else 0)


class _StagedRepo(Repo):
    """A scanned repo whose changed files read as staged (the index), not as on disk."""

    staged: dict[str, str]

    def text(self, path: str) -> str:
        staged = self.staged.get(path)
        return super().text(path) if staged is None else staged


def staged_view(repo: Repo, texts: Mapping[str, bytes]) -> Repo:
    """``repo`` with ``texts`` (path → staged bytes) replacing the working-tree content."""
    files = dict(repo.files)
    decoded: dict[str, str] = {}
    for path, data in texts.items():
        entry = files.get(path)
        if entry is None or not entry.packable:
            continue
        text = defang(decode(data).text)
        decoded[path] = text
        files[path] = replace(entry, tokens=repo.counter.count(text), digest=content_hash(data))
    view = _StagedRepo(repo.root, repo.is_git, files, repo.graph, repo.counter,
                       repo.problems, repo.warnings, _cache_dir=repo._cache_dir,
                       _cache_enabled=repo._cache_enabled)  # fmt: skip
    view.staged = decoded
    return view


def build_request(
    repo: Repo, change: StagedChange, diff: str, texts: Mapping[str, bytes],
    count: Callable[[str], int], *, context: int, settings: Settings, plain: bool,
    default_budget: int, sides: Sides | None = None,
) -> tuple[Prompt, Options, str | None]:  # fmt: skip
    """The prompt and options, or (…, a one-line reason) when the change cannot fit.

    ``sides`` (path → HEAD's and the staged bytes, :func:`repoctx.hook.git.diff_sides`) lets
    the diff be cut from whole redacted files; without it each hunk is redacted on its own.
    """
    max_tokens = answer_tokens(settings)
    facts = change_facts(repo, change, new_line_ranges(diff))
    diff, _ = prepare_diff(diff, redact_secrets=not settings.no_redact, sides=sides)
    from repoctx.review.findings import findings_schema  # pydantic: warmed by job._Loader

    schema = findings_schema([f.path for f in change.reviewable],
                             max_findings=settings.max_suggestions,
                             max_chars=160 if plain else None)  # fmt: skip
    # A tiny base model loops without a repeat penalty; `repoctx serve` applies the same
    # default to its plain models, so a served and a local model answer alike.
    options = Options(max_tokens=max_tokens, temperature=0.0 if plain else 0.2,
                      repeat_penalty=PLAIN_REPEAT_PENALTY if plain else 1.0,
                      think=settings.think, json_schema=schema)  # fmt: skip
    diff_tokens = count(diff)
    room = context - max_tokens - diff_tokens - count(facts) - TEMPLATE_SLACK
    if room < MIN_PACK:
        why = (f"skipped: the staged diff ({diff_tokens:,} tokens) leaves no room for the "
               f"repository in the model's {context:,}-token context")  # fmt: skip
        return _prompt("", repo, diff, facts, settings, plain), options, why
    view = staged_view(repo, texts)
    focus = [f.path for f in change.reviewable if f.path in repo.files]
    budget = min(settings.budget or default_budget, room)
    for _ in range(3):
        packed = _pack(view, budget, focus, plain, redact=not settings.no_redact)
        prompt = _prompt(packed, repo, diff, facts, settings, plain)
        need = sum(count(m.content) for m in prompt.messages) + 16 * len(prompt.messages)
        if need + max_tokens <= context:
            break
        budget = int(budget * (context - max_tokens) / need * 0.9)
        if budget < MIN_PACK:
            raise InputError("the prompt does not fit the model's context (try a smaller --budget)")
    return prompt, options, None


def _pack(view: Repo, budget: int, focus: list[str], plain: bool, *, redact: bool) -> str:
    return pack(view, budget, focus=focus, fmt="markdown" if plain else "qwen",
                redact_secrets=redact).text


def _prompt(pack_text: str, repo: Repo, diff: str, facts: str, settings: Settings,
            plain: bool) -> Prompt:  # fmt: skip
    prompt = build_prompt(pack_text, repo.name, "refactor", plain=plain, diff=diff,
                          fence=fence_for(diff), facts_markdown=facts,
                          max_suggestions=settings.max_suggestions)  # fmt: skip
    if plain:  # a base model continues the template's last line; no instructions after it
        return prompt
    system, user = prompt.messages
    note = JSON_NOTE.format(n=settings.max_suggestions)
    return Prompt((system, Message("user", user.content.rstrip("\n") + note)),
                  prompt.prefix_messages)  # fmt: skip


def change_facts(repo: Repo, change: StagedChange, ranges: Mapping[str, list[tuple[int, int]]],
                 limit: int = 20) -> str:  # fmt: skip
    """Exact facts about the change the model should weigh: reach, touched code, tests."""
    users = dependents(repo.graph)
    lines = ["Facts about the staged change (exact, computed by repoctx):"]
    for changed in change.files[:limit]:
        lines.append(f"- {_describe(changed, repo, users.get(changed.path, set()), ranges)}")
    if len(change.files) > limit:
        lines.append(f"- … and {len(change.files) - limit} more staged files")
    code = [f for f in change.reviewable if repo.files.get(f.path) and repo.files[f.path].parsed]
    if code and not any(is_test_path(f.path) for f in change.files):
        lines.append("- No test file is part of this change.")
    return "\n".join(lines)


def _describe(changed: ChangedFile, repo: Repo, users: set[str],
              ranges: Mapping[str, list[tuple[int, int]]]) -> str:  # fmt: skip
    what = _STATUS.get(changed.status, "")
    if changed.old_path:
        verb = "renamed" if changed.status == "R" else "copied"
        what = f"{verb} from `{changed.old_path}`"
    parts = [f"`{changed.path}`: {what}"]
    if changed.binary or changed.submodule or changed.symlink:
        kind = "submodule" if changed.submodule else "symlink" if changed.symlink else "binary"
        return f"{parts[0]} ({kind}, not shown)"
    parts.append(f"+{changed.added} −{changed.removed} lines")
    if users:
        names = ", ".join(f"`{u}`" for u in sorted(users)[:5])
        more = f" and {len(users) - 5} more" if len(users) > 5 else ""
        parts.append(f"imported by {len(users)} file(s): {names}{more}")
    touched = _touched(repo, changed.path, ranges.get(changed.path, []))
    if touched:
        parts.append("touches " + ", ".join(touched))
    return "; ".join(parts)


def _touched(repo: Repo, path: str, spans: list[tuple[int, int]]) -> list[str]:
    entry = repo.files.get(path)
    if entry is None or entry.parsed is None or not spans:
        return []
    hits: list[Definition] = [
        d for d in entry.parsed.definitions
        if any(d.line <= end and start <= d.end_line for start, end in spans)
    ]  # fmt: skip
    out = []
    for d in hits[:6]:
        length = d.end_line - d.line + 1
        note = ", long" if length > LONG_FUNCTION else ""
        out.append(f"{d.kind} `{d.name}` (lines {d.line}–{d.end_line}, {length} lines{note})")
    return out
