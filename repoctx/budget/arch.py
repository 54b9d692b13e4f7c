"""What a model's memory looks like, from its GGUF metadata alone.

``ModelMeta`` mirrors the parts of llama.cpp's ``llama_hparams`` that size memory: per-layer
head counts, which layers are recurrent (llama_hparams::is_recr), which use a sliding window
(is_swa), the recurrent state widths (n_embd_r / n_embd_s) and the tensors. Each architecture
family is a row of data (``families.py``) naming the rule llama.cpp's ``load_arch_hparams``
uses, so supporting a new one rarely needs code. Unknown architectures fall back to "every
layer is full attention" — an upper bound — and say so in ``assumptions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repoctx.budget.families import FAMILIES, PLAIN, Family, Memory, RecrRule
from repoctx.budget.gguf_meta import GGUFHeader, LargeArray, TensorInfo, read_gguf
from repoctx.errors import InputError


@dataclass(frozen=True)
class ModelMeta:
    """Memory-relevant facts of one model (all per-layer tuples have n_layer_all entries)."""

    path: Path | None
    arch: str
    name: str
    n_layer_all: int  # block_count, MTP blocks included
    n_nextn: int  # MTP / NextN blocks at the end (nextn_predict_layers)
    n_embd: int
    n_vocab: int
    n_ctx_train: int
    n_head_kv: tuple[int, ...]
    head_k: int
    head_v: int
    head_k_swa: int
    head_v_swa: int
    is_recurrent: tuple[bool, ...]
    is_swa: tuple[bool, ...]
    n_swa: int
    n_embd_r: int  # recurrent conv/shift state per row, f32 elements (llama_hparams::n_embd_r)
    n_embd_s: int  # recurrent SSM/WKV state per row, f32 elements (llama_hparams::n_embd_s)
    memory: Memory
    n_expert: int
    n_expert_used: int
    tensors: tuple[TensorInfo, ...]
    file_bytes: int
    assumptions: tuple[str, ...] = ()

    kv_layer_ids: tuple[int, ...] = ()
    recurrent_layer_ids: tuple[int, ...] = ()
    profile: str | None = None  # a built-in profile (budget/profiles.json), not a file

    @property
    def label(self) -> str:
        """Where the facts came from: the file, or the built-in profile."""
        return f"built-in profile {self.profile}" if self.profile else str(self.path)

    @property
    def n_layer(self) -> int:
        """Trunk layers (llama_hparams::n_layer(): n_layer_all − n_layer_nextn)."""
        return self.n_layer_all - self.n_nextn

    def kv_layers(self) -> list[int]:
        """Layers with an attention KV cache in the main context (create_memory's filters)."""
        return list(self.kv_layer_ids)

    def recurrent_layers(self) -> list[int]:
        """Layers with recurrent state (llama_memory_recurrent, il < n_layer())."""
        return list(self.recurrent_layer_ids)

    @property
    def n_attn_layers(self) -> int:
        return len(self.kv_layers())

    @property
    def n_recurrent_layers(self) -> int:
        return len(self.recurrent_layers())


def _int(kv: dict[str, Any], key: str, default: int | None = None, path: Path | None = None) -> int:
    value = kv.get(key, default)
    if value is None:
        raise InputError(f"{path}: GGUF is missing required key {key!r}")
    if isinstance(value, list | LargeArray):
        raise InputError(f"{path}: GGUF key {key!r} is an array, expected a number")
    return int(value)


def _per_layer(kv: dict[str, Any], key: str, n: int, default: int, path: Path) -> tuple[int, ...]:
    """llama_model_loader::get_key_or_arr: a scalar for all layers or one value per layer."""
    value = kv.get(key, default)
    if isinstance(value, LargeArray):
        raise InputError(f"{path}: GGUF key {key!r} has {value.length} entries, expected {n}")
    if isinstance(value, list):
        if len(value) != n:
            raise InputError(f"{path}: GGUF key {key!r} has {len(value)} entries, expected {n}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _recurrent(
    rule: RecrRule,
    kv: dict[str, Any],
    arch: str,
    n_all: int,
    n_trunk: int,
    head_kv: tuple[int, ...],
    n_ff: tuple[int, ...],
    path: Path,
) -> tuple[bool, ...]:
    """Which layers are recurrent, by the rule of the family's load_arch_hparams."""
    if rule == "interval":  # llama_model_qwen35::load_arch_hparams
        arr = kv.get(f"{arch}.attention.recurrent_layers")
        if isinstance(arr, list):
            if len(arr) != n_all:
                raise InputError(
                    f"{path}: {arch}.attention.recurrent_layers has {len(arr)} "
                    f"entries, expected {n_all}"
                )
            return tuple(bool(x) for x in arr)
        interval = _int(kv, f"{arch}.full_attention_interval", 4, path)
        return tuple(i < n_trunk and (i + 1) % interval != 0 for i in range(n_all))
    if rule == "kv_zero":  # jamba, granitehybrid, lfm2: recurrent iff n_head_kv(il) == 0
        return tuple(i < n_trunk and head_kv[i] == 0 for i in range(n_all))
    if rule == "nemotron":  # nemotron_h: n_head_kv == 0 and n_ff == 0
        return tuple(i < n_trunk and head_kv[i] == 0 and n_ff[i] == 0 for i in range(n_all))
    if rule == "all":
        return tuple(i < n_trunk for i in range(n_all))
    return (False,) * n_all


def _swa(
    family: Family, kv: dict[str, Any], arch: str, n_all: int, n_trunk: int, path: Path
) -> tuple[tuple[bool, ...], int]:
    """(is_swa per layer, n_swa) as load_swa_pattern / llama_hparams::set_swa_pattern set them."""
    n_swa = _int(kv, f"{arch}.attention.sliding_window", family.swa_default, path)
    if family.memory != "kv_iswa" or n_swa <= 0:
        return (False,) * n_all, 0
    pattern = kv.get(f"{arch}.attention.sliding_window_pattern", family.swa_pattern)
    if isinstance(pattern, list):
        flags = [bool(x) for x in pattern] + [False] * n_all
        return tuple(flags[:n_all]), n_swa
    n_pattern = int(pattern)
    # set_swa_pattern(n_pattern, dense_first=false): the last layer of each group is global
    flags2 = [
        i < n_trunk and (n_pattern == 0 or i % n_pattern < n_pattern - 1) for i in range(n_all)
    ]
    return tuple(flags2), n_swa


def _state_widths(kv: dict[str, Any], arch: str, n_embd: int, path: Path) -> tuple[int, int]:
    """llama_hparams::n_embd_r() and n_embd_s() (f32 elements per recurrent row)."""
    wkv = _int(kv, f"{arch}.wkv.head_size", 0, path)
    if wkv:  # RWKV: token shift rows + one WKV matrix per head
        shift = _int(kv, f"{arch}.token_shift_count", 2, path)
        return shift * n_embd, n_embd * wkv
    l_cache = _int(kv, f"{arch}.shortconv.l_cache", 0, path)
    d_conv = _int(kv, f"{arch}.ssm.conv_kernel", 0, path)
    d_inner = _int(kv, f"{arch}.ssm.inner_size", 0, path)
    d_state = _int(kv, f"{arch}.ssm.state_size", 0, path)
    n_group = _int(kv, f"{arch}.ssm.group_count", 0, path)
    if l_cache:  # LFM2 short convolutions
        return n_embd * (l_cache - 1), d_state * d_inner
    # Mamba conv_states: (d_conv - 1) columns of d_inner + 2·n_group·d_state channels
    n_conv = max(d_conv - 1, 0) * (d_inner + 2 * n_group * d_state)
    return n_conv, d_state * d_inner


def _n_vocab(h: GGUFHeader) -> int:
    tokens = h.kv.get("tokenizer.ggml.tokens")
    if tokens is not None:
        return len(tokens)
    for t in h.tensors:
        if t.name == "token_embd.weight" and len(t.shape) >= 2:
            return t.shape[1]
    return _int(h.kv, f"{h.arch}.vocab_size", 0, h.path)


def _memory_layers(
    family: Family,
    arch: str,
    n_all: int,
    n_nextn: int,
    recr: tuple[bool, ...],
    n_ff: tuple[int, ...],
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(KV layers, recurrent layers) as llama_model::create_memory filters them."""
    n_trunk = n_all - n_nextn
    # with an MTP block the main context's caches stop at n_layer() (filter il < n_layer())
    kv_span = range(n_trunk) if n_nextn else range(n_all)
    if family.memory == "recurrent":
        return (), tuple(range(n_trunk))
    if family.memory != "hybrid":
        return tuple(kv_span), ()
    recr_ids = tuple(il for il in range(n_trunk) if recr[il])
    if family.recr == "all":  # falcon-h1: every layer has both attention and SSM
        return tuple(kv_span), recr_ids
    if family.recr == "nemotron":  # MLP-only layers (n_ff > 0) have neither
        return tuple(il for il in kv_span if not recr[il] and n_ff[il] == 0), recr_ids
    return tuple(il for il in kv_span if not recr[il]), recr_ids


def _family(arch: str, kv: dict[str, Any]) -> tuple[Family, list[str]]:
    if arch in FAMILIES:
        return FAMILIES[arch], []
    if arch in PLAIN:
        return Family("kv"), []
    notes = [f"unknown architecture {arch!r}"]
    if f"{arch}.attention.recurrent_layers" in kv:
        notes.append("assumed a hybrid whose recurrent layers are attention.recurrent_layers")
        return Family("hybrid", "interval"), notes
    hkv = kv.get(f"{arch}.attention.head_count_kv")
    if isinstance(hkv, list) and 0 in hkv and f"{arch}.ssm.state_size" in kv:
        notes.append("assumed a hybrid whose recurrent layers have head_count_kv 0")
        return Family("hybrid", "kv_zero"), notes
    notes.append("assumed full attention with a KV cache on every layer (an upper bound)")
    return Family("kv"), notes


def _heads(
    kv: dict[str, Any], arch: str, n_all: int, n_embd: int, family: Family, p: Path
) -> tuple[tuple[int, ...], int, int, tuple[int, ...]]:
    """(n_head_kv per layer, key length, value length, n_ff per layer) as load_hparams reads
    them: head_count_kv defaults to head_count, key/value length to n_embd / n_head."""
    head = _per_layer(kv, f"{arch}.attention.head_count", n_all, 0, p)
    head_kv = _per_layer(kv, f"{arch}.attention.head_count_kv", n_all, 0, p)
    if f"{arch}.attention.head_count_kv" not in kv:
        head_kv = head
    n_ff = _per_layer(kv, f"{arch}.feed_forward_length", n_all, 0, p)
    n_head0 = head[0] if head else 0
    if family.memory != "recurrent" and n_head0 == 0:
        raise InputError(f"{p}: GGUF is missing required key '{arch}.attention.head_count'")
    head_k = _int(kv, f"{arch}.attention.key_length", n_embd // n_head0 if n_head0 else 0, p)
    head_v = _int(kv, f"{arch}.attention.value_length", n_embd // n_head0 if n_head0 else 0, p)
    return head_kv, head_k, head_v, n_ff


def meta_from_header(h: GGUFHeader) -> ModelMeta:
    """Build ``ModelMeta`` the way llama_model_base::load_hparams reads the keys."""
    kv, p = h.kv, h.path
    arch = h.arch
    if not arch:
        raise InputError(f"{p}: GGUF is missing required key 'general.architecture'")
    family, notes = _family(arch, kv)
    n_all = _int(kv, f"{arch}.block_count", None, p)
    n_nextn = _int(kv, f"{arch}.nextn_predict_layers", 0, p)
    n_embd = _int(kv, f"{arch}.embedding_length", None, p)
    n_ctx_train = _int(kv, f"{arch}.context_length", None, p)
    if not 0 < n_all <= 512 or not 0 <= n_nextn <= n_all:
        raise InputError(f"{p}: implausible block_count {n_all} / nextn_predict_layers {n_nextn}")
    head_kv, head_k, head_v, n_ff = _heads(kv, arch, n_all, n_embd, family, p)
    n_trunk = n_all - n_nextn
    recr = _recurrent(family.recr, kv, arch, n_all, n_trunk, head_kv, n_ff, p)
    is_swa, n_swa = _swa(family, kv, arch, n_all, n_trunk, p)
    n_embd_r, n_embd_s = _state_widths(kv, arch, n_embd, p) if family.recr != "none" else (0, 0)
    if family.recr != "none" and n_embd_r + n_embd_s == 0:
        raise InputError(f"{p}: {arch} has recurrent layers but no ssm.* / wkv.* size keys")
    kv_ids, recr_ids = _memory_layers(family, arch, n_all, n_nextn, recr, n_ff)
    if family.memory == "hybrid" and n_swa == 0 and f"{arch}.attention.sliding_window" in kv:
        notes.append("sliding window on a hybrid not modelled: full-size KV (an upper bound)")
    return ModelMeta(
        path=p,
        arch=arch,
        name=str(kv.get("general.name", p.stem)),
        n_layer_all=n_all,
        n_nextn=n_nextn,
        n_embd=n_embd,
        n_vocab=_n_vocab(h),
        n_ctx_train=n_ctx_train,
        n_head_kv=head_kv,
        head_k=head_k,
        head_v=head_v,
        head_k_swa=_int(kv, f"{arch}.attention.key_length_swa", head_k, p),
        head_v_swa=_int(kv, f"{arch}.attention.value_length_swa", head_v, p),
        is_recurrent=recr,
        is_swa=is_swa,
        n_swa=n_swa,
        n_embd_r=n_embd_r,
        n_embd_s=n_embd_s,
        memory=family.memory,
        n_expert=_int(kv, f"{arch}.expert_count", 0, p),
        n_expert_used=_max_int(kv.get(f"{arch}.expert_used_count", 0)),
        tensors=tuple(h.tensors),
        file_bytes=h.file_bytes,
        assumptions=tuple(notes),
        kv_layer_ids=kv_ids,
        recurrent_layer_ids=recr_ids,
    )


def _max_int(value: Any) -> int:
    if isinstance(value, list):
        return max((int(v) for v in value), default=0)
    return int(value or 0)


def read_model_meta(path: str | Path) -> ModelMeta:
    """Read a GGUF (or the first of its splits) and describe its memory layout."""
    return meta_from_header(read_gguf(path))
