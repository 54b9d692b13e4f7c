"""Turning a :class:`Prompt` into model text, and model text back into thinking vs answer.

Chat models carry their template in the GGUF (``tokenizer.chat_template``); we render it with
a sandboxed Jinja2 environment the way Hugging Face and llama.cpp do (trim/lstrip blocks,
``raise_exception``, ``strftime_now``), passing ``enable_thinking`` so Qwen 3.5's hard switch
works. Models without a template (the fallback Gemma base model) get a plain-completion layout.

The prefix boundary is a *character* offset in the rendered text: the end of the last prefix
message's content. Text before it depends only on the prefix messages, so it is byte-stable
across questions and can be evaluated once (DESIGN.md §4).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from repoctx.errors import ModelError
from repoctx.llm.base import Message, Prompt, Text, Thinking

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    prefix_chars: int  # 0: nothing reusable
    thinking_open: bool  # the prompt ends inside a <think> block (the model starts thinking)


def _raise(message: str) -> None:
    raise ModelError(f"chat template: {message}")


def _tojson(value: Any, indent: int | None = None, ensure_ascii: bool = False) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)


def render_template(
    template: str, messages: Sequence[Message], *, bos: str, eos: str, think: bool | None
) -> str:
    from jinja2 import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
    )
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    variables: dict[str, Any] = {
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "add_generation_prompt": True,
        "bos_token": bos,
        "eos_token": eos,
    }
    if think is not None:
        variables["enable_thinking"] = think
    try:
        return env.from_string(template).render(**variables)
    except TemplateError as exc:
        raise ModelError(f"the model's chat template failed to render: {exc}") from exc


def render_plain(messages: Sequence[Message]) -> str:
    """Plain-completion layout for base models: instructions, material, then the request.

    A base model continues text, so the prompt ends with an opening it can continue.
    """
    parts = [m.content.rstrip("\n") for m in messages if m.role != "assistant"]
    return "\n\n".join(parts) + "\n\n"


def render(
    prompt: Prompt, template: str | None, *, bos: str = "", eos: str = "", think: bool | None
) -> Rendered:
    messages = prompt.messages
    text = (
        render_template(template, messages, bos=bos, eos=eos, think=think)
        if template
        else render_plain(messages)
    )
    prefix = 0
    if 0 < prompt.prefix_messages < len(messages):
        content = messages[prompt.prefix_messages - 1].content
        at = text.find(content) if content else -1
        if at >= 0:
            prefix = at + len(content)
            while prefix < len(text) and text[prefix] == "\n":
                prefix += 1  # keep a separator of newlines with the stable prefix
    opened, closed = text.rfind(THINK_OPEN), text.rfind(THINK_CLOSE)
    return Rendered(text, prefix, opened > closed)


class ThinkSplitter:
    """Splits streamed text into Thinking and Text events at ``<think>``/``</think>`` tags.

    Tags may arrive split across tokens, so a possible partial tag at the end of the buffer
    is held back until the next chunk decides it. The blank lines Qwen puts after
    ``</think>`` are dropped so answers start with content.
    """

    def __init__(self, thinking: bool) -> None:
        self.thinking = thinking
        self._buf = ""
        self._strip_next = False

    def feed(self, text: str) -> list[Thinking | Text]:
        self._buf += text
        out: list[Thinking | Text] = []
        while True:
            tag = THINK_CLOSE if self.thinking else THINK_OPEN
            at = self._buf.find(tag)
            if at < 0:
                keep = _partial_suffix(self._buf, tag)
                self._emit(self._buf[: len(self._buf) - keep], out)
                self._buf = self._buf[len(self._buf) - keep :]
                return out
            self._emit(self._buf[:at], out)
            self._buf = self._buf[at + len(tag) :]
            self._strip_next = self.thinking  # leaving a think block
            self.thinking = not self.thinking

    def flush(self) -> list[Thinking | Text]:
        out: list[Thinking | Text] = []
        self._emit(self._buf, out)
        self._buf = ""
        return out

    def _emit(self, text: str, out: list[Thinking | Text]) -> None:
        if self._strip_next and not self.thinking:
            text = text.lstrip("\n")
            if text:
                self._strip_next = False
        if text:
            out.append(Thinking(text) if self.thinking else Text(text))


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0
