"""Sampler chains built with llama.cpp's public sampler API (no private llama_cpp helpers).

A JSON schema becomes a GBNF grammar (llama-cpp-python's ``json_schema_to_gbnf``), and the
grammar sampler goes first in the chain so every sampled token keeps the output valid.
"""

from __future__ import annotations

import ctypes
import json
import math
from collections.abc import Mapping
from typing import Any

import llama_cpp
from llama_cpp.llama_grammar import json_schema_to_gbnf

from repoctx.errors import ModelError
from repoctx.llm.base import Options


def schema_grammar(schema: Mapping[str, Any]) -> str:
    """GBNF text accepting exactly the JSON documents ``schema`` allows."""
    return str(json_schema_to_gbnf(json.dumps(schema)))


def grammar_problem(vocab: Any, schema: Mapping[str, Any]) -> str | None:
    """Why ``schema`` cannot constrain an answer (None: it can), found before any prefill.

    llama-cpp-python's converter signals a schema it cannot read with whatever it hits
    (AssertionError for a ``pattern`` without ``^…$``, AttributeError for a ``properties``
    that is not an object, …), hence the broad except: each becomes the reason given.
    """
    try:
        text = schema_grammar(schema)
    except Exception as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    g = llama_cpp.llama_sampler_init_grammar(vocab, text.encode(), b"root")
    if not g:
        return "llama.cpp rejected the grammar made from it"
    llama_cpp.llama_sampler_free(g)
    return None


class Sampler:
    """An owned llama.cpp sampler chain; ``sample`` also accepts the token into the chain.

    With a grammar, checking all ~250K vocabulary entries against it for every token costs
    more than decoding on a GPU, so (like llama.cpp's ``common_sampler_sample``) we sample
    without the grammar first and check only that token; only when the grammar rejects it do
    we run the full grammar-first chain.
    """

    def __init__(self, vocab: Any, options: Options, grammar: str | None = None) -> None:
        self._chain = self._build(options)
        self._full: Any = None
        self._grammar: Any = None
        # The pre-check samples (and so accepts) a token the grammar may reject; penalty
        # samplers would remember it, so the fast path is only for chains without them.
        self._fast = options.repeat_penalty == 1.0
        if grammar is not None:
            g = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode(), b"root")
            if not g:
                self.close()
                raise ModelError("llama.cpp rejected the JSON-schema grammar")
            self._full = llama_cpp.llama_sampler_chain_init(
                llama_cpp.llama_sampler_chain_default_params()
            )
            llama_cpp.llama_sampler_chain_add(self._full, g)
            self._grammar = g  # owned by self._full
            llama_cpp.llama_sampler_chain_add(self._full, self._build(options))
        self._one = llama_cpp.llama_token_data_array()
        self._cell = (llama_cpp.llama_token_data * 1)()
        self._one.data = self._cell
        self._one.size = 1

    @staticmethod
    def _build(options: Options) -> Any:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())

        def add(sampler: Any) -> None:
            llama_cpp.llama_sampler_chain_add(chain, sampler)

        if options.repeat_penalty != 1.0:
            # The binding declares a leading n_vocab the C function (last_n, repeat, freq,
            # present) no longer has; ints and floats travel in separate registers, so the
            # first int is what C reads as last_n: pass the same value twice.
            last_n = 64
            add(llama_cpp.llama_sampler_init_penalties(last_n, last_n, options.repeat_penalty,
                                                       0.0, 0.0))  # fmt: skip
        if options.temperature <= 0:
            add(llama_cpp.llama_sampler_init_greedy())
            return chain
        if options.top_k > 0:
            add(llama_cpp.llama_sampler_init_top_k(options.top_k))
        if options.top_p < 1.0:
            add(llama_cpp.llama_sampler_init_top_p(options.top_p, 1))
        if options.min_p > 0:
            add(llama_cpp.llama_sampler_init_min_p(options.min_p, 1))
        add(llama_cpp.llama_sampler_init_temp(options.temperature))
        add(llama_cpp.llama_sampler_init_dist(options.seed & 0xFFFFFFFF))
        return chain

    def sample(self, ctx: Any) -> int:
        """Pick the next token from the last decoded position's logits."""
        if self._full is not None and not self._fast:
            return int(llama_cpp.llama_sampler_sample(self._full, ctx, -1))
        token = int(llama_cpp.llama_sampler_sample(self._chain, ctx, -1))
        if self._grammar is None:
            return token
        if self._grammar_allows(token):
            llama_cpp.llama_sampler_accept(self._grammar, token)
            return token
        return int(llama_cpp.llama_sampler_sample(self._full, ctx, -1))

    def _grammar_allows(self, token: int) -> bool:
        self._cell[0].id = llama_cpp.llama_token(token)
        self._cell[0].logit = 1.0
        self._cell[0].p = 0.0
        self._one.selected = -1
        self._one.sorted = False
        llama_cpp.llama_sampler_apply(self._grammar, ctypes.byref(self._one))
        return bool(math.isfinite(self._cell[0].logit))

    def close(self) -> None:
        for name in ("_chain", "_full"):
            chain = getattr(self, name, None)
            if chain:
                llama_cpp.llama_sampler_free(chain)
                setattr(self, name, None)
        self._grammar = None
