"""OpenAI request bodies to repoctx's prompts and options, and stats back to ``usage``.

Kept apart from the HTTP handling (http.py) so the mapping can be read and tested on
its own: which message is the reusable prefix, which defaults a plain model gets.
"""

from __future__ import annotations

from typing import Any

from repoctx.llm.base import Message, Options, Prompt, Role, Stats

ROLES = ("system", "user", "assistant")


def prompt_from(messages: Any) -> Prompt:
    """OpenAI messages → our Prompt; a leading system message is the reusable prefix."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list")
    out = []
    for m in messages:
        if not isinstance(m, dict):
            raise ValueError("each message must be an object")
        role: Role = m["role"] if m.get("role") in ROLES else "user"
        content = m.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        out.append(Message(role, str(content or "")))
    prefix = 1 if len(out) > 1 and out[0].role == "system" else 0
    return Prompt(tuple(out), prefix)


PLAIN_REPEAT_PENALTY = 1.15


def options_from(body: dict[str, Any], n_ctx: int, *, plain: bool = False) -> Options:
    """Request fields → generation options (missing fields keep repoctx's defaults).

    A plain (base, template-less) model gets repoctx's repeat penalty unless the request
    sets one: OpenAI clients cannot send it, and the same prompt should get the same answer
    here as from the model loaded locally (which the hook and review run with it).
    """
    base = Options(repeat_penalty=PLAIN_REPEAT_PENALTY if plain else 1.0)
    fmt = body.get("response_format") or {}
    schema: Any = None
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {"type": "object"}
    elif fmt.get("type") == "json_object":
        schema = fmt.get("schema") or {"type": "object"}
    kwargs = body.get("chat_template_kwargs") or {}
    stop = body.get("stop") or ()
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or base.max_tokens
    return Options(
        max_tokens=max(1, min(int(max_tokens), n_ctx)),
        temperature=float(body.get("temperature", base.temperature)),
        top_p=float(body.get("top_p", base.top_p)),
        top_k=int(body.get("top_k", base.top_k)),
        min_p=float(body.get("min_p", base.min_p)),
        repeat_penalty=float(body.get("repeat_penalty", base.repeat_penalty)),
        seed=int(body.get("seed") or base.seed),
        think=kwargs.get("enable_thinking") if isinstance(kwargs, dict) else None,
        json_schema=schema,
        stop=(stop,) if isinstance(stop, str) else tuple(stop),
    )


def usage(stats: Stats) -> dict[str, Any]:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.output_tokens,
        "total_tokens": stats.prompt_tokens + stats.output_tokens,
        "prompt_tokens_details": {"cached_tokens": stats.cached_tokens},
    }
