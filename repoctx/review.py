"""The review job, UI-free: pack the repo, ground it with static facts, build the prompt,
and turn a model's JSON answer into validated findings or SARIF.

The front end (cli/review.py) streams the backend's events and renders them; everything it
needs to decide is computed here, so the TUI and the hook reuse the same prompts and schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from repoctx.analysis import StaticFacts, facts_for_repo
from repoctx.errors import InputError, ModelError
from repoctx.llm.base import Message, Options, Prompt

if TYPE_CHECKING:
    import jinja2

    from repoctx.packer import Pack
    from repoctx.repo import Repo

OutputFormat = Literal["markdown", "json", "sarif"]
Job = Literal["review", "ask", "refactor"]
SEVERITIES = ("high", "medium", "low", "info")
CATEGORIES = ("bug", "risk", "design", "refactor", "test", "performance", "security", "docs")
FINDING_FIELDS = ("path", "line", "severity", "category", "message", "suggestion")
MAX_SCHEMA_PATHS = 1000  # beyond this the path enum makes the grammar too large


@cache
def _env() -> jinja2.Environment:
    import jinja2

    loader = jinja2.FunctionLoader(
        lambda name: resources.files("repoctx.prompts").joinpath(name).read_text("utf-8")
    )
    return jinja2.Environment(loader=loader, keep_trailing_newline=True, autoescape=False)


def render_template(name: str, **variables: Any) -> str:
    """Render ``repoctx/prompts/<name>.j2``."""
    return _env().get_template(f"{name}.j2").render(**variables)


PLAIN_PRIMER = (
    "### 1. What the system does and how it is built\n\nThe code is organised as follows:\n"
)


def build_prompt(
    pack_text: str, repo_name: str, job: Job, *, plain: bool = False, **variables: Any
) -> Prompt:
    """System message = preamble + packed repo (byte-stable, reusable prefix); user = the job."""
    system = render_template("system", repo_name=repo_name, pack_text=pack_text)
    # A base model (no chat template) continues text: the review is started for it, and the
    # front end prints this primer before the model's continuation.
    user = render_template(job, plain=plain, repo_name=repo_name, primer=PLAIN_PRIMER, **variables)
    return Prompt((Message("system", system), Message("user", user)), prefix_messages=1)


def findings_schema(
    paths: Sequence[str] = (), *, max_findings: int = 20, max_chars: int | None = None
) -> dict[str, Any]:
    """The findings JSON schema; ``paths`` (when few enough) pins ``path`` to real files.

    ``max_chars`` bounds the text fields (for the tiny fallback model, which otherwise fills
    its token budget with one string). Keep it small: llama.cpp's GBNF expresses a length
    bound as nested optional rules and rejects grammars with very deep ones.
    """
    path: dict[str, Any] = {"type": "string"}
    if 0 < len(paths) <= MAX_SCHEMA_PATHS:
        path = {"enum": sorted(set(paths))}
    text: dict[str, Any] = {"type": "string"}
    summary: dict[str, Any] = {"type": "string"}
    if max_chars is not None:
        text = {"type": "string", "maxLength": max_chars}
        summary = {"type": "string", "maxLength": max_chars * 3}
    finding = {
        "type": "object",
        "properties": {
            "path": path,
            "line": {"type": "integer", "minimum": 1},
            "severity": {"enum": list(SEVERITIES)},
            "category": {"enum": list(CATEGORIES)},
            "message": text,
            "suggestion": text,
        },
        "required": list(FINDING_FIELDS),
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            "findings": {"type": "array", "items": finding, "maxItems": max_findings},
            "summary": summary,
        },
        "required": ["findings", "summary"],
        "additionalProperties": False,
    }


def validate_findings(doc: Any) -> list[str]:
    """Problems with ``doc`` against the findings schema (empty list: valid)."""
    if not isinstance(doc, dict) or set(doc) != {"findings", "summary"}:
        return ["top level must be an object with exactly 'findings' and 'summary'"]
    errors = [] if isinstance(doc["summary"], str) else ["summary must be a string"]
    if not isinstance(doc["findings"], list):
        return [*errors, "findings must be a list"]
    for i, item in enumerate(doc["findings"]):
        where = f"findings[{i}]"
        if not isinstance(item, dict) or set(item) != set(FINDING_FIELDS):
            errors.append(f"{where} must have exactly {', '.join(FINDING_FIELDS)}")
            continue
        if not isinstance(item["line"], int) or isinstance(item["line"], bool) or item["line"] < 1:
            errors.append(f"{where}.line must be a positive integer")
        if item["severity"] not in SEVERITIES:
            errors.append(f"{where}.severity must be one of {', '.join(SEVERITIES)}")
        if item["category"] not in CATEGORIES:
            errors.append(f"{where}.category must be one of {', '.join(CATEGORIES)}")
        for key in ("path", "message", "suggestion"):
            if not isinstance(item[key], str):
                errors.append(f"{where}.{key} must be a string")
    return errors


def parse_findings(text: str) -> dict[str, Any]:
    """The model's JSON answer as a validated findings document, or a one-line ModelError."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        hint = " (the answer was cut off: raise --max-tokens)" if text.strip() else ""
        raise ModelError(f"the model's answer is not valid JSON{hint}: {exc}") from exc
    errors = validate_findings(doc)
    if errors:
        raise ModelError(f"the model's JSON does not match the findings schema: {errors[0]}")
    result: dict[str, Any] = doc
    return result


_SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note", "info": "note"}


def to_sarif(doc: dict[str, Any], *, tool_version: str, model: str,
             fallback: bool = False) -> dict[str, Any]:
    """SARIF 2.1.0 for code-scanning uploads; one rule per category.

    ``fallback``: the findings come from the tiny embedded model, a demonstration rather than
    a review: every one is a ``note``, never an ``error`` that could fail a CI gate."""
    used = sorted({f["category"] for f in doc["findings"]})
    results = [
        {
            "ruleId": f"repoctx/{f['category']}",
            "level": "note" if fallback else _SARIF_LEVEL[f["severity"]],
            "message": {"text": f"{f['message']} Suggestion: {f['suggestion']}".strip()},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f["path"], "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f["line"]},
                    }
                }
            ],
            "properties": {"severity": f["severity"], "model": model, "fallback": fallback},
        }
        for f in doc["findings"]
    ]
    rules = [{"id": f"repoctx/{c}", "name": c, "shortDescription": {"text": c}} for c in used]
    driver = {
        "name": "repoctx",
        "version": tool_version,
        "informationUri": "https://pypi.org/project/repoctx/",
        "rules": rules,
    }
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results,
                  "properties": {"summary": doc["summary"],
                                 "model": {"name": model, "fallback": fallback}}}],
    }  # fmt: skip


@dataclass(slots=True)
class Prepared:
    """Everything a front end needs before the model runs."""

    pack: Pack
    facts: StaticFacts
    prompt: Prompt
    options: Options


def prepare_review(
    repo: Repo,
    *,
    budget: int,
    facts: StaticFacts | None = None,
    focus: Sequence[str] = (),
    fmt: OutputFormat = "markdown",
    options: Options | None = None,
    plain: bool = False,
    redact_secrets: bool = True,
) -> Prepared:
    """Pack ``repo`` to ``budget`` tokens and build the review prompt (and JSON schema).

    ``redact_secrets`` is False only where :func:`repoctx.policy.redact_secrets` allowed it.
    """
    from repoctx.api import pack

    packed = pack(repo, budget, focus=focus, fmt="markdown" if plain else "qwen",
                  redact_secrets=redact_secrets)
    facts = facts or facts_for_repo(repo)
    opts = options or Options()
    if fmt != "markdown":
        paths = [e.path for e in packed.files if e.tier in ("full", "skeleton")]
        # a tiny fallback model gets a short, bounded document it can finish
        schema = findings_schema(
            paths, max_findings=3 if plain else 20, max_chars=160 if plain else None
        )
        opts = replace(opts, json_schema=schema)
    prompt = build_prompt(
        packed.text, repo.root.name, "review", plain=plain, facts_markdown=facts.to_markdown(),
        focus=list(focus), format="markdown" if fmt == "markdown" else "json",
    )  # fmt: skip
    return Prepared(packed, facts, prompt, opts)


def prompt_tokens(prompt: Prompt, count: Callable[[str], int]) -> int:
    """Tokens of the prompt's messages in the model's own vocabulary (+ template slack)."""
    return sum(count(m.content) for m in prompt.messages) + 16 * len(prompt.messages)


def prepare_fitted(
    repo: Repo, count: Callable[[str], int], context: int, *, budget: int, **kwargs: Any
) -> Prepared:
    """:func:`prepare_review`, re-packed smaller until the model's own tokenizer agrees it fits.

    The pack is counted in Qwen 3.5 tokens; another model's vocabulary (the fallback Gemma)
    can need more, so the final prompt is re-counted with the loaded model and shrunk.
    """
    opts: Options = kwargs.get("options") or Options()
    room = context - opts.max_tokens
    for _ in range(4):
        prepared = prepare_review(repo, budget=budget, **kwargs)
        need = prompt_tokens(prepared.prompt, count)
        if need <= room:
            return prepared
        budget = int(budget * room / need * 0.95)
        if budget < 256:
            break
    raise InputError(
        f"the prompt does not fit the model's {context}-token context with "
        f"{opts.max_tokens} tokens for the answer (try a smaller --max-tokens)"
    )
