"""Our Qwen 3.5 counts against llama.cpp itself, with the real vocabulary in a GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tokens import SAMPLE, SAMPLE_IDS

from repoctx.scanning.tokens import qwen35

SAMPLES = [
    SAMPLE,
    " Negeri selanjutnya terdapat",  # entries only whole-piece lookup would produce
    "新加坡",
    "俱乐部 全心全意为人民服务",
    "Qwen 3.5: 27B — ünïcödé, ñ, e\u0301 (decomposed), 🎉🚀👩‍💻, مرحبا, नमस्ते",
    "    \n\n\t\t  trailing   \r\n  spaces\n\n\n",
    "<|im_start|>user\nhello<|im_end|>\n<|file_sep|>a.py\n<think>\n</think>",
    "x = 1e-10 + 0x1F; y = [1,2,3]; z = {'a': 'b'}  # 12345678901234567890",
]


@pytest.fixture(scope="module")
def llama_vocab(qwen35_gguf: Path):  # type: ignore[no-untyped-def]
    from llama_cpp import Llama

    return Llama(str(qwen35_gguf), vocab_only=True, verbose=False)


def _llama_ids(llama, text: str) -> list[int]:  # type: ignore[no-untyped-def]
    return list(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))


@pytest.mark.parametrize("text", SAMPLES)
def test_ids_equal_llamacpp(llama_vocab, text: str) -> None:  # type: ignore[no-untyped-def]
    assert qwen35().encode(text) == _llama_ids(llama_vocab, text)


def test_known_sample_ids_are_llamacpp_ids(llama_vocab) -> None:  # type: ignore[no-untyped-def]
    assert _llama_ids(llama_vocab, SAMPLE) == SAMPLE_IDS


def test_whole_source_files_count_equal(llama_vocab) -> None:  # type: ignore[no-untyped-def]
    root = Path(__file__).resolve().parent.parent / "repoctx"
    for path in sorted(root.rglob("*.py"))[:40]:
        text = path.read_text(encoding="utf-8")
        assert qwen35().count(text) == len(_llama_ids(llama_vocab, text)), path
