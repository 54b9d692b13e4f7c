"""The review job, UI-free: pack the repo, ground it with static facts, build the prompt,
and turn a model's JSON answer into validated findings or SARIF.

The front end (cli/review.py) streams the backend's events and renders them; everything it
needs to decide is computed here, so the TUI and the hook reuse the same prompts; the findings
model (schema, validation, types) is :mod:`repoctx.review.findings`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from repoctx.api import pack
from repoctx.errors import InputError
from repoctx.llm.base import Message, Options, Prompt
from repoctx.review.facts import StaticFacts, facts_for_repo
from repoctx.scanning.content import defang

if TYPE_CHECKING:
    import jinja2

    from repoctx.packing.pack import Pack
    from repoctx.review.findings import Findings
    from repoctx.scanning.repo import Repo

OutputFormat = Literal["markdown", "json", "sarif"]
Job = Literal["review", "ask", "refactor"]


@cache
def _env() -> jinja2.Environment:
    import jinja2

    loader = jinja2.FunctionLoader(
        lambda name: resources.files("repoctx.prompts").joinpath(name).read_text("utf-8")
    )
    return jinja2.Environment(loader=loader, keep_trailing_newline=True, autoescape=False)


def render_template(name: str, **variables: Any) -> str:
    """Render ``prompts/<name>.j2``, control tokens defanged in what it is given.

    Repository names, paths in facts, diffs, questions and earlier answers all reach the
    prompt through here; the packed text (``pack_text``) is defanged file by file already.
    """
    safe = {key: value if key == "pack_text" else _defanged(value, defang)
            for key, value in variables.items()}  # fmt: skip
    return _env().get_template(f"{name}.j2").render(**safe)


def _defanged(value: Any, defang: Callable[[str], str]) -> Any:
    """Strings, and the strings inside lists, tuples and dicts (the merge pass's digests)."""
    if isinstance(value, str):
        return defang(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_defanged(item, defang) for item in value)
    if isinstance(value, dict):
        return {key: _defanged(item, defang) for key, item in value.items()}
    return value


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


_SARIF_LEVEL = {"high": "error", "medium": "warning", "low": "note", "info": "note"}


def to_sarif(doc: Findings, *, tool_version: str, model: str,
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

    ``redact_secrets`` is False only where :func:`repoctx.packing.policy.redact_secrets` allowed it.
    """
    packed = pack(repo, budget, focus=focus, fmt="markdown" if plain else "qwen",
                  redact_secrets=redact_secrets)
    facts = facts or facts_for_repo(repo)
    opts = options or Options()
    if fmt != "markdown":
        # start-up: the findings model imports pydantic; the hook and the TUI build prompts
        # through this module and need it only for a JSON answer
        from repoctx.review.findings import findings_schema

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
