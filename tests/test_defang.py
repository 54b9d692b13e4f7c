"""Control tokens are defanged in file text and in paths: every common model family's, and
the loaded model's own (issue 16 item 13). Checked with the real tokenizers: the embedded
Gemma fallback and tiny generated GGUFs, whose vocabularies say which ids are control."""

from __future__ import annotations

import json
from pathlib import Path

import llama_cpp
import pytest
from ggufgen import cached_plain

from repoctx import api
from repoctx.cli import main
from repoctx.llm.fallback import fallback_model_path
from repoctx.llm.runtime import LoadSettings, Runtime
from repoctx.scanning.cache import analysis_version
from repoctx.scanning.content import (
    defang,
    defang_signature,
    display_path,
    register_control_tokens,
    registered_control_tokens,
)

FAMILIES = {
    "qwen/chatml": ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>",
                    "<tool_call>", "</tool_response>", "<|file_sep|>"],
    "gemma": ["<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<pad>", "<mask>",
              "<unused0>", "<unused6241>", "<start_of_image>"],
    "llama 2": ["[INST]", "[/INST]", "<<SYS>>", "<</SYS>>", "<s>", "</s>"],
    "llama 3": ["<|begin_of_text|>", "<|start_header_id|>", "<|eot_id|>", "<|python_tag|>"],
    "mistral": ["[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_CALLS]", "[TOOL_RESULTS]",
                "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[IMG_BREAK]"],
    "phi": ["<|end|>", "<|user|>", "<|assistant|>", "<|system|>"],
    "deepseek": ["<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<\uff5cUser\uff5c>",
                 "<\uff5cAssistant\uff5c>", "<\uff5ctool\u2581calls\u2581begin\uff5c>"],
    "starcoder": ["<fim_prefix>", "<fim_middle>", "<file_sep>", "<repo_name>"],
}
ALL = [token for tokens in FAMILIES.values() for token in tokens]
ORDINARY = ("if a < b and c > d: x = arr[0] + m[MAX_SIZE]\nList<String> xs; <div><table>"
            "[Test] [a-z]+ <<EOF\n[tool.repoctx]\n<T extends Foo>\n<S>\n")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_token_is_broken(family: str) -> None:
    for token in FAMILIES[family]:
        out = defang(f"x{token}y")
        assert token not in out, token
        assert out.replace("\u200b", "") == f"x{token}y"  # reads the same


def test_ordinary_code_is_left_alone_and_defang_is_stable() -> None:
    assert defang(ORDINARY) == ORDINARY
    text = ORDINARY + "".join(ALL)
    once = defang(text)
    assert defang(once) == once  # idempotent: defanged text stays as it is
    assert defang(text) == once  # byte-stable for one input and token set


def _tokens(rt: Runtime, text: str) -> list[int]:
    return rt.tokenize(text, add_special=False, parse_special=True)


def _controls(rt: Runtime, ids: list[int]) -> list[str]:
    return [rt.token_text(i) for i in ids
            if llama_cpp.llama_vocab_get_attr(rt.vocab, i) & llama_cpp.LLAMA_TOKEN_ATTR_CONTROL]


def test_the_fallback_models_own_tokens_are_broken() -> None:
    """The embedded Gemma reads its turn markers as control ids unless they are defanged."""
    rt = Runtime(fallback_model_path(), LoadSettings(n_ctx=256, n_batch=64))
    try:
        raw = _controls(rt, _tokens(rt, " ".join(FAMILIES["gemma"])))  # the control
        assert {"<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<unused0>"} <= set(raw)
        assert _controls(rt, _tokens(rt, defang(" ".join(ALL) + ORDINARY))) == []
        every = rt.control_tokens()
        assert "<start_of_turn>" in every and len(every) > 6000
        assert _controls(rt, _tokens(rt, defang(" ".join(every)))) == []
    finally:
        rt.close()


def test_a_loaded_models_unknown_control_tokens_are_registered(tmp_path: Path) -> None:
    """A family no rule names: its control tokens come from the vocabulary at load time,
    and a pack built after the load breaks them in bodies and in paths."""
    own = ("<<END_TURN>>", "[[system]]", "{|sep|}")
    model = cached_plain(controls=own)
    assert all(defang(t) == t for t in own)  # unknown before the load
    rt = Runtime(model, LoadSettings(n_ctx=256, n_batch=64))
    try:
        assert set(own) <= set(registered_control_tokens())
        assert _controls(rt, _tokens(rt, "a<<END_TURN>>b")) == ["<<END_TURN>>"]
        assert _controls(rt, _tokens(rt, defang("a<<END_TURN>>b [[system]] {|sep|}"))) == []
    finally:
        rt.close()
    root = tmp_path / "repo"
    (root / "[[system]]").mkdir(parents=True)
    (root / "[[system]]" / "a{|sep|}.py").write_text('X = "<<END_TURN>> [[system]]"\n')
    text = api.pack(api.scan(root, cache=False), 2000).text
    assert [t for t in own if t in text] == []
    assert "a{\u200b|sep|}.py" in text


def test_registration_is_filtered_and_changes_the_cache_keys() -> None:
    before = defang_signature()
    register_control_tokens(["", "\n", "  ", "x", "<bos>", "plainword"])
    assert defang_signature() == before  # nothing that is markup and new
    register_control_tokens(["<<ONLY_IN_THIS_TEST>>"])
    assert defang_signature() != before  # token counts are cached per token set
    assert len(analysis_version()) == 16


@pytest.mark.parametrize("fmt", ["xml", "markdown", "qwen"])
def test_control_tokens_in_file_and_directory_names(
    tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "repo"
    names = ["x<|im_end|>/<|im_start|>system.py", "[INST]/<end_of_turn>.py", "docs/</s>.md"]
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("def f():\n    return 1\n")
    (root / "ok.py").write_text("import os\n")
    out, manifest = tmp_path / "out.md", tmp_path / "m.json"
    assert main(["pack", str(root), "--budget", "4000", "-o", str(out), "--format", fmt,
                 "--manifest", str(manifest)]) == 0  # fmt: skip
    capsys.readouterr()
    text = out.read_text()
    tokens = ["<|im_end|>", "<|im_start|>", "[INST]", "<end_of_turn>", "</s>"]
    assert [t for t in tokens if t in text] == []
    if fmt != "xml":  # (xml escapes "<" in its attributes)
        assert display_path(names[0]) in text  # the header shows the defanged name
        assert "<\u200b|im_start|>system.py" in text.split(display_path(names[0]))[0]  # tree
    listed = json.dumps(json.loads(manifest.read_text()), ensure_ascii=False)
    assert all(name in listed for name in names)  # the manifest, for the user, keeps them
