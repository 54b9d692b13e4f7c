"""Built-in model profiles: the GGUF header facts of common Qwen 3.5 files, without the file.

``repoctx budget --model qwen3.5-27b-q4_k_m --gpu rtx4090`` answers "what fits on my card"
before a 16 GB download. A profile holds exactly what the planner reads from a header: the
architecture's key/values, the vocabulary size and the tensor bytes grouped by where
llama.cpp places them (input layer, each block, output layer). ``profiles.json`` is written
by ``bench/budget_profiles.py`` from the full-layout sparse GGUFs the test suite generates,
and a test checks that a profile plans exactly like its GGUF.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import replace
from importlib.resources import files
from pathlib import Path
from typing import Any

from repoctx.budget.arch import ModelMeta, meta_from_header
from repoctx.budget.gguf_meta import GGUFHeader, TensorInfo

DEFAULT_QUANT = "q4_k_m"  # what Ollama's qwen3.5:27b tag and most guides download


@functools.cache
def _table() -> dict[str, Any]:
    text = files("repoctx.budget").joinpath("profiles.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def profiles() -> dict[str, dict[str, Any]]:
    """Profile name → profile (``qwen3.5-27b-q4_k_m`` …)."""
    table: dict[str, dict[str, Any]] = _table()["profiles"]
    return table


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", name.strip().lower()).strip("-")


def find(name: str) -> str | None:
    """The profile a name means: its own name in any spelling (``qwen3.5:27b-q8_0``), or a
    model without a quantisation (``qwen3.5:27b``, ``Qwen3.5-27B``) at Q4_K_M."""
    key = _key(name).removesuffix(".gguf")
    by_key = {_key(p): p for p in profiles()}
    return by_key.get(key) or by_key.get(f"{key}-{_key(DEFAULT_QUANT)}")


def meta(name: str) -> ModelMeta:
    """The ModelMeta of a profile (``path`` None, ``profile`` set)."""
    p = profiles()[name]
    kv: dict[str, Any] = dict(p["kv"])
    n_embd = int(kv[f"{p['arch']}.embedding_length"])
    tensors = [
        TensorInfo("token_embd.weight", (n_embd, int(p["n_vocab"])), 0, int(p["token_embd"]), 0)
    ]
    tensors += [TensorInfo(n, (int(b),), 0, int(b), 0) for n, b in p["globals"].items()]
    tensors += [TensorInfo(f"blk.{i}.weights", (int(b),), 0, int(b), 0)
                for i, b in enumerate(p["blocks"])]  # fmt: skip
    header = GGUFHeader(Path(name), 3, kv, tensors, [], int(p["file_bytes"]))
    return replace(meta_from_header(header), path=None, profile=name)


def from_gguf(path: str | Path, display_name: str) -> dict[str, Any]:
    """A profile from a GGUF's header (what bench/budget_profiles.py writes)."""
    from repoctx.budget.gguf_meta import read_gguf
    from repoctx.budget.weights import _BLOCK

    h = read_gguf(path)
    m = meta_from_header(h)
    kv = {k: v for k, v in h.kv.items() if k.startswith(f"{m.arch}.")}
    kv["general.architecture"] = m.arch
    kv["general.name"] = display_name
    blocks = [0] * m.n_layer_all
    glob: dict[str, int] = {}
    for t in m.tensors:
        match = _BLOCK.match(t.name)
        if match:
            blocks[int(match.group(1))] += t.nbytes
        elif t.name != "token_embd.weight":
            glob[t.name] = glob.get(t.name, 0) + t.nbytes
    embd = sum(t.nbytes for t in m.tensors if t.name == "token_embd.weight")
    return {"arch": m.arch, "kv": kv, "n_vocab": m.n_vocab, "token_embd": embd,
            "globals": glob, "blocks": blocks, "file_bytes": h.file_bytes}  # fmt: skip
