"""The shared GGUF generator writes files llama.cpp really loads (tests/ggufgen.py)."""

from __future__ import annotations

from pathlib import Path

import ggufgen
import pytest


@pytest.fixture(scope="module")
def llama_cpp_quiet() -> object:
    import llama_cpp

    return llama_cpp


def _load(path: Path, n_ctx: int = 512) -> object:
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=n_ctx, n_gpu_layers=0, flash_attn=True, verbose=False)


def test_qwen35_hybrid_generates_a_token(qwen35_gguf: Path, llama_cpp_quiet: object) -> None:
    llm = _load(qwen35_gguf)
    out = llm.create_completion("def main():", max_tokens=2, temperature=0)  # type: ignore[attr-defined]
    assert out["choices"][0]["text"]
    assert llm.n_vocab() == ggufgen.QWEN35_N_VOCAB  # type: ignore[attr-defined]


def test_qwen35_vocabulary_is_the_real_one(qwen35_gguf: Path, llama_cpp_quiet: object) -> None:
    from llama_cpp import Llama

    llm = Llama(model_path=str(qwen35_gguf), vocab_only=True, verbose=False)
    ids = llm.tokenize(
        b"<|im_start|>user\n<think><|file_sep|><|im_end|>", add_bos=False, special=True
    )
    start = ggufgen.QWEN35_SPECIAL_START
    assert ids[0] == start + 1 and ids[-1] == ggufgen.IM_END_ID
    assert start + 24 in ids and start + 21 in ids  # <think>, <|file_sep|>
    assert llm.token_eos() == ggufgen.IM_END_ID
    text = "def budget(x):\n    return x * 2  # 新加坡"
    assert llm.detokenize(llm.tokenize(text.encode(), add_bos=False)).decode() == text


@pytest.mark.parametrize(
    "writer",
    [ggufgen.cached_plain, ggufgen.cached_gemma3_swa, lambda: ggufgen.cached_plain(arch="llama")],
    ids=["qwen3", "gemma3", "llama"],
)
def test_plain_and_swa_models_load(writer: object, llama_cpp_quiet: object) -> None:
    llm = _load(writer())  # type: ignore[operator]
    assert llm.create_completion("x = ", max_tokens=1, temperature=0)["choices"]  # type: ignore[attr-defined]


def test_27b_header_is_sparse_and_full_length(qwen35_27b_gguf: Path) -> None:
    st = qwen35_27b_gguf.stat()
    assert 15.3 * 2**30 < st.st_size < 15.5 * 2**30  # released Q4_K_M: 15.41 GiB
    assert st.st_blocks * 512 < 64 * 2**20  # sparse on disk
