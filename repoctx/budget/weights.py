"""Where a model's weights live once llama.cpp has loaded it with every layer offloaded.

llama_model_base::load_tensors keeps the input layer (``token_embd``) on the CPU ("there is
very little benefit to offloading the input layer"), puts each ``blk.N`` on the device of
layer N and the output layer on the device after the last layer. A model without
``output.weight`` (tied embeddings) gets a copy of ``token_embd`` on the output device
(TENSOR_DUPLICATED). MTP/NextN blocks are skipped unless ``load_mtp`` is set (its default is
false), and MoE experts are all resident: nothing here is per-token.
"""

from __future__ import annotations

import re
import struct
from bisect import bisect_right
from dataclasses import dataclass

from repoctx.budget.arch import ModelMeta

_BLOCK = re.compile(r"^blk\.(\d+)\.")
HOST_TENSORS = frozenset({"token_embd.weight", "per_layer_token_embd.weight"})


@dataclass(frozen=True)
class Weights:
    """Tensor bytes by placement."""

    total_bytes: int  # everything llama.cpp loads (MTP blocks excluded)
    host_bytes: int  # input layer, stays in system RAM
    layer_bytes: tuple[int, ...]  # per block, n_layer_all entries
    output_bytes: int  # output layer (+ the tied-embedding copy) and other globals
    skipped_bytes: int  # MTP/NextN blocks not loaded by default
    tied_output: bool

    @property
    def gpu_bytes(self) -> int:
        """Bytes on the GPU(s) with full offload (llama.cpp ``n_gpu_layers = -1``)."""
        return sum(self.layer_bytes) + self.output_bytes


def split_weights(m: ModelMeta) -> Weights:
    """Sum the tensor infos by where llama.cpp places them."""
    layers = [0] * m.n_layer_all
    host = output = skipped = 0
    names = {t.name for t in m.tensors}
    tied = "output.weight" not in names
    for t in m.tensors:
        match = _BLOCK.match(t.name)
        if match:
            il = int(match.group(1))
            if il >= m.n_layer and m.n_nextn:
                skipped += t.nbytes  # llama_model_params.load_mtp = false → TENSOR_SKIP
            elif il < m.n_layer_all:
                layers[il] += t.nbytes
            else:
                output += t.nbytes
        elif t.name in HOST_TENSORS:
            host += t.nbytes
            if tied and t.name == "token_embd.weight":
                output += t.nbytes  # output = token_embd, duplicated onto the output device
        else:
            output += t.nbytes
    loaded = sum(layers) + host + output - (_tok_embd(m) if tied else 0)
    return Weights(loaded, host, tuple(layers), output, skipped, tied)


def _tok_embd(m: ModelMeta) -> int:
    return sum(t.nbytes for t in m.tensors if t.name == "token_embd.weight")


def _f32(x: float) -> float:
    """Round to IEEE single precision: llama.cpp computes the split points in float."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def layer_devices(n_layer_all: int, free: list[int]) -> list[int]:
    """Device index of each layer and (last entry) of the output layer.

    Mirrors load_tensors' default split (``tensor_split`` all zero): split points are the
    cumulative share of free memory per device, layer il goes to
    ``upper_bound(splits, il / act_gpu_layers)`` with act_gpu_layers = n_layer_all + 1.
    """
    if len(free) <= 1:
        return [0] * (n_layer_all + 1)
    splits, total = [], 0.0
    for f in free:
        total = _f32(total + _f32(float(f)))
        splits.append(total)
    splits = [_f32(s / total) for s in splits]
    act = n_layer_all + 1
    return [
        min(bisect_right(splits, _f32(il / act)), len(free) - 1) for il in range(n_layer_all + 1)
    ]
