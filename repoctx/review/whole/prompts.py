"""Prompts of a whole-repo review: one per pack (a part of the repo) and the merge pass.

A part's prompt is the rendered pack as the system message (byte-stable, like the single-pack
review) and a request that says which part it is, that skeletons (``~``) are interfaces of
other parts, and asks for ``path:line`` findings on this part's own files only. It carries
facts about its own files (cycles among them, their largest functions) rather than the whole
repo's, so that its text — and so its cached result — depends on nothing outside the pack.

The cache key hashes everything the model sees except the part's number: a re-plan that
renumbers an unchanged pack (a file added earlier in the order) still reuses its review.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from repoctx.graph.build import cycle_path, runtime_edges
from repoctx.llm.base import Message, Options, Prompt
from repoctx.review.facts import FUNCTION_KINDS
from repoctx.review.findings import findings_schema
from repoctx.review.job import OutputFormat, render_template
from repoctx.review.whole.store import result_key

if TYPE_CHECKING:
    from repoctx.scanning.repo import Repo

PART_TEMPLATES = ("system_part", "review_part")
MERGE_TEMPLATES = ("system_merge", "review_merge")
PART_PRIMER = "### 1. What this part does\n\nThe code in this part is organised as follows:\n"
MERGE_PRIMER = "### 1. What the system does and how it is built\n\nThe system"
SUMMARY_PRIMER = "Summary of the whole system:\n"
LARGEST_FUNCTIONS = 5
SUMMARY_SENTENCES = 8
SUMMARY_TOKENS = 768  # a JSON document's summary: a paragraph
SUMMARY_TOKENS_PLAIN = 160  # the fallback model rambles until its limit


@dataclass(frozen=True, slots=True)
class Spec:
    """What every prompt of one whole review shares (and its cache key must reflect)."""

    repo_name: str
    model_id: str  # which model answers: a GGUF file's identity or a server's model id
    options: Options
    fmt: OutputFormat = "markdown"
    plain: bool = False  # a base model without a chat template (the embedded fallback)
    focus: tuple[str, ...] = ()


@cache
def template_sources(names: tuple[str, ...]) -> str:
    """The templates' own text: a changed template is a changed prompt."""
    folder = resources.files("repoctx.prompts")
    return "\n".join(folder.joinpath(f"{name}.j2").read_text("utf-8") for name in names)


def part_options(spec: Spec, files: Sequence[str]) -> Options:
    """JSON mode pins findings to this part's own files (and, for the tiny fallback model,
    to a short document it can finish)."""
    if spec.fmt == "markdown":
        return spec.options
    schema = findings_schema(files, max_findings=2 if spec.plain else 20,
                             max_chars=100 if spec.plain else None)
    return replace(spec.options, json_schema=schema)


def part_prompt(repo: Repo, spec: Spec, pack_text: str, files: Sequence[str],
                number: int, total: int) -> tuple[Prompt, Options, str]:
    """(prompt, options, cache key) for reviewing one rendered pack."""
    system = render_template("system_part", repo_name=spec.repo_name, pack_text=pack_text)
    variables = {
        "repo_name": spec.repo_name, "plain": spec.plain, "primer": PART_PRIMER,
        "facts": part_facts(repo, files), "format": "json" if spec.fmt != "markdown" else "md",
        "focus": [p for p in spec.focus if p in set(files)],
    }  # fmt: skip
    user = render_template("review_part", number=number, total=total, **variables)
    unnumbered = render_template("review_part", number="N", total="M", **variables)
    options = part_options(spec, files)
    key = result_key("part", [spec.model_id, options_text(options),
                              template_sources(PART_TEMPLATES), system, unnumbered])
    prompt = Prompt((Message("system", system), Message("user", user)), prefix_messages=1)
    return prompt, options, key


def merge_prompt(spec: Spec, facts_markdown: str, digests: Sequence[dict[str, str]],
                 total: int, covered: str = "", shortened: int = 0) -> tuple[Prompt, Options, str]:
    """(prompt, options, cache key) for the merge pass over per-part digests."""
    system = render_template("system_merge", repo_name=spec.repo_name, total=total,
                             facts_markdown=facts_markdown.rstrip(), digests=digests,
                             covered=covered, shortened=shortened)
    primer = MERGE_PRIMER if spec.fmt == "markdown" else SUMMARY_PRIMER
    user = render_template("review_merge", plain=spec.plain, primer=primer,
                           sentences=SUMMARY_SENTENCES,
                           format="json" if spec.fmt != "markdown" else "md")
    # the merge pass writes prose; in JSON mode only a summary, so it is kept short
    limit = spec.options.max_tokens if spec.fmt == "markdown" else (
        SUMMARY_TOKENS_PLAIN if spec.plain else SUMMARY_TOKENS)
    options = replace(spec.options, json_schema=None,
                      max_tokens=min(spec.options.max_tokens, limit))
    key = result_key("merge", [spec.model_id, options_text(options),
                               template_sources(MERGE_TEMPLATES), system, user])
    prompt = Prompt((Message("system", system), Message("user", user)), prefix_messages=1)
    return prompt, options, key


def options_text(options: Options) -> str:
    return json.dumps(asdict(options), sort_keys=True, default=str)


def part_facts(repo: Repo, files: Sequence[str]) -> str:
    """Facts about this part's own files: import cycles among them, largest functions."""
    members = set(files)
    cycles = [c for c in repo.graph.cycles if set(c) <= members]
    functions = sorted(
        ((d.end_line - d.line + 1, path, d.line, d.name)
         for path in files
         if (parsed := repo.files[path].parsed) is not None
         for d in parsed.definitions if d.kind in FUNCTION_KINDS and d.end_line >= d.line),
        key=lambda f: (-f[0], f[1], f[2]),
    )[:LARGEST_FUNCTIONS]
    if not cycles and not functions:
        return ""
    lines = ["Facts about this part's files (computed by repoctx):"]
    edges = runtime_edges(repo.graph.edges)
    chains = [cycle_path(c, edges) for c in cycles]  # real imports, not the sorted members
    lines += [f"- import cycle: {' → '.join([*chain, chain[0]])}" for chain in chains]
    lines += [f"- long function: `{path}:{line}` {name} — {n} lines"
              for n, path, line, name in functions if n > 1]
    return "\n".join(lines) if len(lines) > 1 else ""


def primers(spec: Spec) -> tuple[str, str]:
    """(part, merge) openings a base model's Markdown answers continue (shown before them)."""
    return (PART_PRIMER, MERGE_PRIMER) if spec.plain and spec.fmt == "markdown" else ("", "")
