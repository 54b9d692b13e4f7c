"""Sampler chains built with llama.cpp's public sampler API (no private llama_cpp helpers).

A JSON schema becomes a GBNF grammar (llama-cpp-python's ``json_schema_to_gbnf``), and the
grammar sampler goes first in the chain so every sampled token keeps the output valid.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import llama_cpp
from llama_cpp.llama_grammar import json_schema_to_gbnf

from repoctx.errors import ModelError
from repoctx.llm.base import Options


def schema_grammar(schema: Mapping[str, Any]) -> str:
    """GBNF text accepting exactly the JSON documents ``schema`` allows."""
    return str(json_schema_to_gbnf(json.dumps(schema)))


class Sampler:
    """An owned llama.cpp sampler chain; ``sample`` also accepts the token into the chain."""

    def __init__(self, vocab: Any, options: Options, grammar: str | None = None) -> None:
        params = llama_cpp.llama_sampler_chain_default_params()
        self._chain = llama_cpp.llama_sampler_chain_init(params)
        if grammar is not None:
            g = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
            if not g:
                self.close()
                raise ModelError("llama.cpp rejected the JSON-schema grammar")
            self._add(g)
        if options.repeat_penalty != 1.0:
            # The binding declares a leading n_vocab the C function (last_n, repeat, freq,
            # present) no longer has; ints and floats travel in separate registers, so the
            # first int is what C reads as last_n: pass the same value twice.
            last_n = 64
            penalties = llama_cpp.llama_sampler_init_penalties(
                last_n, last_n, options.repeat_penalty, 0.0, 0.0
            )
            self._add(penalties)
        if options.temperature <= 0:
            self._add(llama_cpp.llama_sampler_init_greedy())
            return
        if options.top_k > 0:
            self._add(llama_cpp.llama_sampler_init_top_k(options.top_k))
        if options.top_p < 1.0:
            self._add(llama_cpp.llama_sampler_init_top_p(options.top_p, 1))
        if options.min_p > 0:
            self._add(llama_cpp.llama_sampler_init_min_p(options.min_p, 1))
        self._add(llama_cpp.llama_sampler_init_temp(options.temperature))
        self._add(llama_cpp.llama_sampler_init_dist(options.seed & 0xFFFFFFFF))

    def _add(self, sampler: Any) -> None:
        llama_cpp.llama_sampler_chain_add(self._chain, sampler)

    def sample(self, ctx: Any) -> int:
        """Pick the next token from the last decoded position's logits."""
        return int(llama_cpp.llama_sampler_sample(self._chain, ctx, -1))

    def close(self) -> None:
        if self._chain:
            llama_cpp.llama_sampler_free(self._chain)
            self._chain = None
