"""The fast GGUF header reader: same facts as gguf.GGUFReader, in a fraction of the time."""

from __future__ import annotations

import time
from pathlib import Path

import ggufgen
import pytest
from gguf import GGMLQuantizationType as QT
from gguf import GGUFReader

from repoctx.budget import read_model_meta
from repoctx.budget.gguf_meta import LargeArray, read_gguf
from repoctx.errors import InputError


@pytest.fixture(scope="module")
def mixed_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every value type, small and large arrays, and tensors of several ggml types."""
    kv = {
        "{arch}.block_count": 2, "{arch}.context_length": 4096, "{arch}.embedding_length": 256,
        "{arch}.attention.head_count": 4, "{arch}.rope.freq_base": 1e6, "general.flag": True,
        "general.name": "mixed ünïcode", "{arch}.attention.head_count_kv": [2, 0],
        "general.tags": ["a", "b"], "general.floats": [0.5, 1.5],
        "tokenizer.ggml.tokens": [f"tok{i}" for i in range(5000)],
        "tokenizer.ggml.token_type": list(range(9000)),
    }  # fmt: skip
    tensors = [
        ("token_embd.weight", (256, 5000), QT.Q4_K),
        ("blk.0.attn_q.weight", (256, 256), QT.Q8_0),
        ("blk.1.ffn_down.weight", (512, 256), QT.Q6_K),
        ("output_norm.weight", (256,), QT.F32),
        ("blk.1.x.weight", (64, 2, 3), QT.BF16),
    ]
    path = tmp_path_factory.mktemp("mixed") / "mixed.gguf"
    return ggufgen.write_metadata_only(path, "llama", kv, tensors)


def test_matches_gguf_reader(mixed_gguf: Path) -> None:
    ours = read_gguf(mixed_gguf)
    ref = GGUFReader(mixed_gguf)
    assert [(t.name, t.shape, t.ggml_type, t.nbytes, t.offset) for t in ours.tensors] == [
        (t.name, tuple(int(x) for x in t.shape), int(t.tensor_type), int(t.n_bytes),
         int(t.data_offset) - ref.data_offset)
        for t in ref.tensors
    ]  # fmt: skip
    for name, field in ref.fields.items():
        if name.startswith("GGUF."):
            continue
        value = ours.kv[name]
        if isinstance(value, LargeArray):
            assert value.length == len(field.data), name
        elif isinstance(value, list):
            assert value == field.contents(), name
        else:
            assert value == pytest.approx(field.contents()), name
    assert isinstance(ours.kv["tokenizer.ggml.tokens"], LargeArray)
    assert ours.kv["general.tags"] == ["a", "b"] and ours.kv["general.flag"] is True


def test_27b_header_is_read_in_well_under_a_second() -> None:
    path = ggufgen.write_27b_header()
    read_gguf(path)  # warm imports and the page cache
    start = time.perf_counter()
    header = read_gguf(path)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, elapsed
    assert len(header.tensors) == 851 and header.arch == "qwen35"
    tokens = header.kv["tokenizer.ggml.tokens"]
    assert isinstance(tokens, LargeArray) and tokens.length == 248_320
    assert isinstance(header.kv["tokenizer.ggml.merges"], LargeArray)


def test_split_gguf_sums_every_split(tmp_path: Path) -> None:
    first = ggufgen.write_plain(tmp_path / "model.gguf", split_max_tensors=8)
    assert first.name == "model-00001-of-00003.gguf"
    header = read_gguf(first)
    whole = read_gguf(ggufgen.cached_plain())
    assert len(header.files) == 3 and len(header.tensors) == len(whole.tensors)
    assert header.tensor_bytes() == whole.tensor_bytes()
    assert read_model_meta(first).n_layer == 2
    (tmp_path / "model-00002-of-00003.gguf").unlink()
    with pytest.raises(InputError, match="split 2 of 3 is missing"):
        read_gguf(first)


def _bad(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "bad.gguf"
    path.write_bytes(data)
    return path


def test_not_a_gguf(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a GGUF file"):
        read_gguf(_bad(tmp_path, b"PK\x03\x04" + b"\0" * 100))
    with pytest.raises(InputError, match="too short"):
        read_gguf(_bad(tmp_path, b"GGUF"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such model file"):
        read_gguf(tmp_path / "nope.gguf")


@pytest.mark.parametrize("keep", [30, 5000, 400_000])
def test_truncated_header(plain_gguf: Path, tmp_path: Path, keep: int) -> None:
    with pytest.raises(InputError, match="truncated GGUF"):
        read_gguf(_bad(tmp_path, plain_gguf.read_bytes()[:keep]))


def test_truncated_data(plain_gguf: Path, tmp_path: Path) -> None:
    data = plain_gguf.read_bytes()
    with pytest.raises(InputError, match="tensor data needs"):
        read_gguf(_bad(tmp_path, data[: len(data) - 1000]))


def test_missing_key_is_named(tmp_path: Path) -> None:
    path = ggufgen.write_metadata_only(
        tmp_path / "m.gguf", "qwen3", {"{arch}.embedding_length": 64}
    )
    with pytest.raises(
        InputError,
        match=r"m\.gguf: GGUF is missing required key "
        r"'qwen3\.block_count'",
    ):
        read_model_meta(path)
