"""OpenAI request bodies to repoctx's prompts and options, and stats back to ``usage``.

Kept apart from the HTTP handling (http.py) so the mapping can be read and tested on
its own: which message is the reusable prefix, which defaults a plain model gets.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from repoctx.llm.base import Message, Options, Prompt, Role, Stats

ROLES = ("system", "user", "assistant")
MAX_STOPS = 16
SEED_RANGE = (-(2**31), 2**32)  # llama.cpp's seed is a uint32 (-1: random)


def parse_body(raw: bytes) -> dict[str, Any]:
    """A request body → its JSON object; ValueError with the reason for anything else.

    ``NaN``/``Infinity`` and numbers past a double (``1e400``) are refused here: JSON has no
    such values, and ``int(inf)`` deep in the option mapping killed the connection instead
    of answering. A deeply nested document is refused, not a RecursionError.
    """
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_no_constant,
                         parse_float=_finite)  # fmt: skip
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    if not isinstance(doc, dict):
        raise ValueError("expected a JSON object")
    return doc


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range for a number")
    return value


def prompt_from(messages: Any) -> Prompt:
    """OpenAI messages → our Prompt; a leading system message is the reusable prefix."""
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list")
    out = []
    for m in messages:
        if not isinstance(m, dict):
            raise ValueError("each message must be an object")
        role: Role = m["role"] if m.get("role") in ROLES else "user"
        out.append(Message(role, _content(m.get("content"))))
    prefix = 1 if len(out) > 1 and out[0].role == "system" else 0
    return Prompt(tuple(out), prefix)


def _content(content: Any) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        texts = [p.get("text") for p in content if isinstance(p, dict)]
        if not all(t is None or isinstance(t, str) for t in texts):
            raise ValueError("a content part's text must be a string")
        return "".join(t for t in texts if t)
    raise ValueError("a message's content must be a string or a list of content parts")


PLAIN_REPEAT_PENALTY = 1.15


def options_from(
    body: dict[str, Any], n_ctx: int, *, plain: bool = False,
    check_schema: Callable[[Mapping[str, Any]], str | None] | None = None,
) -> Options:  # fmt: skip
    """Request fields → generation options (missing fields keep repoctx's defaults).

    Every field is checked here, before the request waits for the model: a wrong type or
    value is a ValueError naming the field. ``max_tokens`` is capped at the context.
    ``check_schema`` (the backend's grammar compiler) says why a JSON schema cannot
    constrain the answer, so a bad schema or ``pattern`` is refused before the prefill.

    A plain (base, template-less) model gets repoctx's repeat penalty unless the request
    sets one: OpenAI clients cannot send it, and the same prompt should get the same answer
    here as from the model loaded locally (which the hook and review run with it).
    """
    base = Options(repeat_penalty=PLAIN_REPEAT_PENALTY if plain else 1.0)
    schema = _schema(body.get("response_format"))
    if schema is not None and check_schema is not None:
        problem = check_schema(schema)
        if problem:
            raise ValueError(f"response_format: the JSON schema cannot be used: {problem}")
    kwargs = _object(body, "chat_template_kwargs")
    think = kwargs.get("enable_thinking")
    if think is not None and not isinstance(think, bool):
        raise ValueError("chat_template_kwargs.enable_thinking must be true or false")
    key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    max_tokens = _int(body, key, base.max_tokens, low=1)
    return Options(
        max_tokens=min(max_tokens, n_ctx),
        temperature=_number(body, "temperature", base.temperature, low=0.0),
        top_p=_number(body, "top_p", base.top_p, low=0.0, high=1.0),
        top_k=_int(body, "top_k", base.top_k, low=0),
        min_p=_number(body, "min_p", base.min_p, low=0.0, high=1.0),
        repeat_penalty=_number(body, "repeat_penalty", base.repeat_penalty, low=0.0),
        seed=_int(body, "seed", base.seed, low=SEED_RANGE[0], high=SEED_RANGE[1] - 1),
        think=think,
        json_schema=schema,
        stop=_stops(body.get("stop")),
    )


def _object(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be an object")
    return value


def _schema(fmt: Any) -> Mapping[str, Any] | None:
    """The JSON schema a ``response_format`` asks for (None: free text)."""
    if fmt is None:
        return None
    if not isinstance(fmt, dict):
        raise ValueError("response_format must be an object")
    kind = fmt.get("type", "text")
    if kind == "text":
        return None
    if kind == "json_schema":
        schema = _object(_object(fmt, "json_schema"), "schema")
    elif kind == "json_object":
        schema = _object(fmt, "schema")
    else:
        raise ValueError(f"response_format.type {kind!r}: expected text, json_object or "
                         "json_schema")  # fmt: skip
    return schema or {"type": "object"}


def _int(body: Mapping[str, Any], key: str, default: int, *, low: int,
         high: int | None = None) -> int:  # fmt: skip
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{key} must be an integer")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{key} must be {bound} (got {value})")
    return value


def _number(body: Mapping[str, Any], key: str, default: float, *, low: float,
            high: float | None = None) -> float:  # fmt: skip
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number")
    number = float(value)  # a huge int becomes inf here
    if not math.isfinite(number) or number < low or (high is not None and number > high):
        bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ValueError(f"{key} must be a number {bound}")
    return number


def _stops(stop: Any) -> tuple[str, ...]:
    if stop is None:
        return ()
    stops = [stop] if isinstance(stop, str) else stop
    if not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops):
        raise ValueError("stop must be a string or a list of non-empty strings")
    if len(stops) > MAX_STOPS:
        raise ValueError(f"stop: at most {MAX_STOPS} sequences")
    return tuple(stops)


def usage(stats: Stats) -> dict[str, Any]:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.output_tokens,
        "total_tokens": stats.prompt_tokens + stats.output_tokens,
        "prompt_tokens_details": {"cached_tokens": stats.cached_tokens},
    }
