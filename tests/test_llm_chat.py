"""Prompt rendering, the prefix boundary and the thinking splitter (no model needed)."""

from __future__ import annotations

from repoctx.llm.base import Message, Prompt, Text, Thinking
from repoctx.llm.chat import ThinkSplitter, render

QWEN_LIKE = (
    "{%- for m in messages -%}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}"
    "{%- endfor -%}{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{ '<think>\\n\\n</think>\\n\\n' }}{%- else -%}{{ '<think>\\n' }}{%- endif -%}{%- endif -%}"
)


def _split(chunks: list[str], thinking: bool) -> list[Thinking | Text]:
    splitter = ThinkSplitter(thinking)
    out: list[Thinking | Text] = []
    for chunk in chunks:
        out += splitter.feed(chunk)
    return out + splitter.flush()


def test_tags_split_across_chunks_never_leak() -> None:
    events = _split(["<thi", "nk>plan", " it</th", "ink>\n\nThe", " answer"], thinking=False)
    thinking = "".join(e.text for e in events if isinstance(e, Thinking))
    text = "".join(e.text for e in events if isinstance(e, Text))
    assert thinking == "plan it" and text == "The answer"


def test_prompt_that_opens_thinking_starts_in_thinking() -> None:
    rendered = render(Prompt.of("REPO", "q"), QWEN_LIKE, think=True)
    assert rendered.thinking_open
    events = _split(["reasoning</think>", "\n\n{\"a\": 1}"], thinking=rendered.thinking_open)
    assert [type(e) for e in events] == [Thinking, Text]
    assert events[1].text == '{"a": 1}'
    assert not render(Prompt.of("REPO", "q"), QWEN_LIKE, think=False).thinking_open


def test_prefix_boundary_is_stable_across_questions() -> None:
    a = render(Prompt.of("REPO TEXT", "first?"), QWEN_LIKE, think=False)
    b = render(Prompt.of("REPO TEXT", "second, longer?"), QWEN_LIKE, think=False)
    assert a.prefix_chars == b.prefix_chars > 0
    assert a.text[: a.prefix_chars] == b.text[: b.prefix_chars]
    assert a.text[: a.prefix_chars].endswith("REPO TEXT")


def test_plain_completion_layout_for_base_models() -> None:
    prompt = Prompt((Message("system", "REPO\n"), Message("user", "Review:")), 1)
    rendered = render(prompt, None, think=None)
    assert rendered.text == "REPO\n\nReview:\n\n"
    assert rendered.text[: rendered.prefix_chars] == "REPO\n\n"
    assert not rendered.thinking_open
