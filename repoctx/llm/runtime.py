"""A thin, typed layer over llama.cpp's C API (through llama-cpp-python's ctypes bindings).

Why not ``llama_cpp.Llama``: its ``verbose=False`` silences llama.cpp by ``dup2``-ing the
process's stdout/stderr to /dev/null during load, which blanks a Textual UI running in another
thread; its prefill gives no progress; its ``detokenize`` drops pieces over 32 bytes; and its
state save/load copies through Python (6.6 s vs 0.21 s for a 32K state, DESIGN.md §4). Here we
own the model, the context, one batch and one sequence (seq 0), and nothing else.

``llama_cpp`` must be imported before numpy (loading a model segfaulted on the GPU machine
otherwise); this module imports it at the top and never imports numpy.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp

from repoctx.errors import ModelError

log = logging.getLogger("repoctx.llama")
log.addHandler(logging.NullHandler())  # never fall back to printing on stderr

KV_TYPES: dict[str, int] = {
    "f16": llama_cpp.GGML_TYPE_F16,
    "f32": llama_cpp.GGML_TYPE_F32,
    "q8_0": llama_cpp.GGML_TYPE_Q8_0,
    "q5_1": llama_cpp.GGML_TYPE_Q5_1,
    "q5_0": llama_cpp.GGML_TYPE_Q5_0,
    "q4_1": llama_cpp.GGML_TYPE_Q4_1,
    "q4_0": llama_cpp.GGML_TYPE_Q4_0,
    "iq4_nl": llama_cpp.GGML_TYPE_IQ4_NL,
}


class OutOfMemory(ModelError):
    """llama.cpp could not allocate the context (KV cache / compute buffers)."""


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """Everything that shapes the context. llama-cpp-python's defaults (n_ctx 512, no GPU
    offload, flash attention off) are wrong for whole-repo prompts, so all are explicit."""

    n_ctx: int
    n_batch: int = 2048
    n_ubatch: int = 512
    n_gpu_layers: int = -1
    flash_attn: bool = True
    type_k: str = "f16"
    type_v: str = "f16"
    n_threads: int | None = None
    swa_full: bool = False
    extra_bufts: bool | None = None  # None: off on AMX CPUs (see cpu_has_amx)


def cpu_has_amx() -> bool:
    """True where the CPU advertises AMX tiles.

    llama.cpp's AMX matmul (an "extra" CPU buffer type) segfaults in ``ggml_backend_amx_mul_mat``
    on our CI's Xeon (sandboxed: AMX tile state is not granted), so repoctx keeps weights in
    plain CPU buffers there; GPU offload is unaffected.
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            return "amx_tile" in f.read(200_000)
    except OSError:
        return False


# ---------------------------------------------------------------------------- logging
# llama.cpp logs through one process-wide callback. Ours forwards every line to the
# "repoctx.llama" logger (so tests and the budget module can read allocation lines) and keeps
# the last lines so a failed load can say *why* in one line.
_recent: deque[str] = deque(maxlen=1024)  # a 64-layer load logs hundreds of lines
_log_lock = threading.Lock()
_callback_ref: Any = None
# ggml_log_level: NONE 0, DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5 (continues the last line)
_LEVELS = {1: logging.DEBUG, 2: logging.INFO, 3: logging.WARNING, 4: logging.ERROR}
_last_level = [logging.DEBUG]


def _on_log(level: int, text: bytes | None, _user: Any) -> None:
    line = (text or b"").decode("utf-8", "replace").rstrip("\n")
    py_level = _last_level[0] if level == 5 else _LEVELS.get(level, logging.DEBUG)
    _last_level[0] = py_level
    if line.strip() and py_level >= logging.INFO:  # debug lines (graph dumps) would crowd out
        with _log_lock:  # the context's settings and the errors kept for messages
            _recent.append(line)
        log.log(py_level, "%s", line)


def install_log_capture() -> None:
    """Route llama.cpp's log into Python logging.

    Called on every load: the callback is process-wide and others (tests capturing
    allocation lines, llama-cpp-python restoring its own printer) may have replaced ours.
    """
    global _callback_ref
    if _callback_ref is None:
        _callback_ref = llama_cpp.llama_log_callback(_on_log)
    llama_cpp.llama_log_set(_callback_ref, ctypes.c_void_p(0))


def recent_log() -> list[str]:
    with _log_lock:
        return list(_recent)


def _failure_reason(default: str) -> str:
    """The most telling llama.cpp error line logged since the last clear."""
    lines = recent_log()
    for needle in ("out of memory", "failed to allocate", "error loading model", "error"):
        for line in reversed(lines):
            if needle in line.lower():
                return line.split(": ", 1)[-1].strip() if ": " in line else line.strip()
    return default


def _is_oom(lines: list[str]) -> bool:
    text = "\n".join(lines).lower()
    return "out of memory" in text or "failed to allocate" in text or "cudamalloc" in text


@contextmanager
def interrupt_after_call() -> Iterator[None]:
    """Hold a Ctrl-C that arrives inside a llama.cpp call until the call has returned.

    llama.cpp calls back into Python to log (hundreds of lines while loading). Python runs
    signal handlers at its next bytecode, which is inside that callback, where ctypes can
    only print the KeyboardInterrupt as "Exception ignored" with a traceback and drop it:
    the user's Ctrl-C was lost. So, on the main thread, SIGINT is only noted during the call
    and handed to the previous handler (KeyboardInterrupt by default) once it returns; a
    ``llama_decode`` under way is aborted at its next graph node (:func:`_abort_requested`),
    so Ctrl-C does not wait for a 2048-token chunk to finish on a CPU.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers run on the main thread only: callbacks here never see them
        return
    held: list[int] = []

    def hold(signum: int, _frame: Any) -> None:
        held.append(signum)
        _interrupted.set()

    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # a handler installed outside Python: leave it alone
        yield
        return
    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _interrupted.clear()
        if held and callable(previous):
            previous(signal.SIGINT, None)
        elif held and previous == signal.SIG_DFL:
            os.kill(os.getpid(), signal.SIGINT)


_interrupted = threading.Event()  # a Ctrl-C is held: llama_decode should stop


def _abort_requested(_data: Any) -> bool:
    """llama.cpp's abort callback: checked between graph nodes while a batch is evaluated."""
    return _interrupted.is_set()


_ABORT_CALLBACK = llama_cpp.ggml_abort_callback(_abort_requested)  # outlives every context
_backend_ready = False


class Runtime:
    """One loaded GGUF, one context, sequence 0. Not thread-safe: one caller at a time."""

    def __init__(self, path: Path, settings: LoadSettings) -> None:
        global _backend_ready
        if not _backend_ready:
            llama_cpp.llama_backend_init()
            _backend_ready = True
        install_log_capture()
        self.path = path
        self.settings = settings
        with _log_lock:
            _recent.clear()
        with interrupt_after_call():
            self.model = self._load_model(path, settings)
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        try:
            with interrupt_after_call():
                self.ctx = self._new_context(settings)
        except BaseException:
            llama_cpp.llama_model_free(self.model)
            raise
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        self.n_ctx = int(llama_cpp.llama_n_ctx(self.ctx))
        self.n_batch = min(settings.n_batch, self.n_ctx)
        self.batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self.n_past = 0
        self.evaluated = 0  # tokens ever decoded: lets tests prove a prefix was reused
        self.recurrent = bool(
            llama_cpp.llama_model_is_recurrent(self.model)
            or llama_cpp.llama_model_is_hybrid(self.model)
        )
        self.swa = int(llama_cpp.llama_model_n_swa(self.model)) > 0 and not settings.swa_full
        from repoctx.scanning.content import register_control_tokens

        # Before any pack is built for this model: its own turn markers are defanged in
        # file text and paths, not only the families' that repoctx.scanning.content knows.
        register_control_tokens(self.control_tokens())

    @staticmethod
    def _load_model(path: Path, settings: LoadSettings) -> Any:
        if not path.is_file():
            raise ModelError(f"model {path}: no such file")
        params = llama_cpp.llama_model_default_params()
        # -1 = every layer on the GPU; llama.cpp clamps INT32_MAX to the layer count.
        params.n_gpu_layers = 0x7FFFFFFF if settings.n_gpu_layers < 0 else settings.n_gpu_layers
        extra = settings.extra_bufts
        params.use_extra_bufts = extra if extra is not None else not cpu_has_amx()
        model = llama_cpp.llama_model_load_from_file(str(path).encode(), params)
        if not model:
            why = _failure_reason("llama.cpp could not read it")
            if _is_oom(recent_log()):
                raise OutOfMemory(f"model {path.name}: out of memory loading weights ({why})")
            raise ModelError(f"model {path.name} failed to load: {why}")
        return model

    def _new_context(self, s: LoadSettings) -> Any:
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = s.n_ctx
        params.n_batch = min(s.n_batch, s.n_ctx)
        params.n_ubatch = min(s.n_ubatch, params.n_batch)
        params.n_seq_max = 1
        cores = os.cpu_count() or 1
        # Decoding one token is memory-bound: half the cores avoids spin-wait contention
        # (llama-cpp-python's default too); batched prefill is compute-bound: all cores.
        params.n_threads = s.n_threads or max(1, cores // 2)
        params.n_threads_batch = s.n_threads or cores
        params.flash_attn_type = (
            llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
            if s.flash_attn
            else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        if s.type_k not in KV_TYPES or s.type_v not in KV_TYPES:
            raise ModelError(
                f"unknown KV type {s.type_k}/{s.type_v}; use one of {sorted(KV_TYPES)}"
            )
        params.type_k = KV_TYPES[s.type_k]
        params.type_v = KV_TYPES[s.type_v]
        params.swa_full = s.swa_full
        params.no_perf = True
        ctx = llama_cpp.llama_init_from_model(self.model, params)
        if ctx:
            llama_cpp.llama_set_abort_callback(ctx, _ABORT_CALLBACK, None)
        if not ctx:
            lines = recent_log()
            why = _failure_reason("context creation failed")
            if _is_oom(lines):
                raise OutOfMemory(
                    f"model {self.path.name}: out of memory at n_ctx {s.n_ctx} ({why})"
                )
            raise ModelError(f"model {self.path.name}: cannot create a context: {why}")
        return ctx

    # ------------------------------------------------------------------ metadata / vocab
    def meta(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(1 << 16)
        n = llama_cpp.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        if n < 0:
            return None
        if n >= len(buf):  # long values (chat templates) are truncated: retry with room
            buf = ctypes.create_string_buffer(n + 1)
            llama_cpp.llama_model_meta_val_str(self.model, key.encode(), buf, len(buf))
        return buf.value.decode("utf-8", "replace")

    def chat_template(self) -> str | None:
        raw = llama_cpp.llama_model_chat_template(self.model, None)
        return raw.decode("utf-8", "replace") if raw else None

    @property
    def n_ctx_train(self) -> int:
        return int(llama_cpp.llama_model_n_ctx_train(self.model))

    @property
    def add_bos(self) -> bool:
        return bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))

    def control_tokens(self) -> list[str]:
        """The texts of the vocabulary's control tokens (turn markers, BOS/EOS, reserved
        slots). User-defined tokens are left out: Gemma's are HTML tags (``<div>``), which
        read as text, not as a turn. ~0.3 s for a 262K vocabulary, paid once per load."""
        wanted = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL
        get_attr, vocab = llama_cpp.llama_vocab_get_attr, self.vocab
        return [self.token_text(token)
                for token in range(int(llama_cpp.llama_vocab_n_tokens(vocab)))
                if get_attr(vocab, token) & wanted]  # fmt: skip

    def token_text(self, token: int) -> str:
        raw = llama_cpp.llama_vocab_get_text(self.vocab, token)
        return raw.decode("utf-8", "replace") if raw else ""

    def bos_eos_text(self) -> tuple[str, str]:
        bos = int(llama_cpp.llama_vocab_bos(self.vocab))
        eos = int(llama_cpp.llama_vocab_eos(self.vocab))
        return (self.token_text(bos) if bos >= 0 else "", self.token_text(eos) if eos >= 0 else "")

    def tokenize(self, text: str, *, add_special: bool, parse_special: bool = True) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 8
        buf = (llama_cpp.llama_token * cap)()
        n = llama_cpp.llama_tokenize(
            self.vocab, data, len(data), buf, cap, add_special, parse_special
        )
        if n < 0:  # negative: the count it needed
            cap = -n
            buf = (llama_cpp.llama_token * cap)()
            n = llama_cpp.llama_tokenize(
                self.vocab, data, len(data), buf, cap, add_special, parse_special
            )
        return list(buf[:n])

    def piece(self, token: int, *, special: bool = True) -> bytes:
        """Bytes of one token; the buffer grows for long pieces (Llama.detokenize drops > 32)."""
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, size, 0, special)
            if n >= 0:
                return buf.raw[:n]
            size = -n + 1

    def logits(self) -> list[float]:
        """The last decoded position's logits (tests compare states through them)."""
        n_vocab = int(llama_cpp.llama_vocab_n_tokens(self.vocab))
        return list(llama_cpp.llama_get_logits_ith(self.ctx, -1)[:n_vocab])

    def is_eog(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    # ------------------------------------------------------------------ sequence 0
    def decode(self, tokens: list[int]) -> None:
        """Append ``tokens`` (≤ n_batch) to sequence 0; logits only for the last one."""
        n = len(tokens)
        if n == 0 or n > self.n_batch:
            raise ValueError(f"decode takes 1..{self.n_batch} tokens, got {n}")
        if self.n_past + n > self.n_ctx:
            raise ModelError(
                f"prompt and answer exceed the context ({self.n_past + n} > {self.n_ctx} tokens)"
            )
        b = self.batch
        for i, tok in enumerate(tokens):
            b.token[i] = tok
            b.pos[i] = self.n_past + i
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = 0
            b.logits[i] = i == n - 1
        b.n_tokens = n
        with interrupt_after_call():  # a Ctrl-C aborts the call (rc 2), raised on leaving
            rc = llama_cpp.llama_decode(self.ctx, b)
            if rc == 0:
                self.n_past += n
                self.evaluated += n
            else:
                self._resync()
        if rc != 0:
            why = _failure_reason(f"llama_decode returned {rc}")
            if rc == 1:
                raise ModelError(f"the context is full ({self.n_ctx} tokens): {why}")
            if _is_oom(recent_log()):
                raise OutOfMemory(f"out of memory while evaluating the prompt: {why}")
            raise ModelError(f"evaluation failed: {why}")

    def _resync(self) -> None:
        """After a failed decode, ask the memory where sequence 0 really ends."""
        self.n_past = int(llama_cpp.llama_memory_seq_pos_max(self.mem, 0)) + 1

    def truncate(self, n: int) -> bool:
        """Drop sequence 0's tokens at positions ≥ n (recurrent memory refuses partial drops)."""
        ok = bool(llama_cpp.llama_memory_seq_rm(self.mem, 0, n, -1))
        if ok:
            self.n_past = n
        return ok

    def clear(self) -> None:
        llama_cpp.llama_memory_clear(self.mem, True)
        self.n_past = 0

    def close(self) -> None:
        if getattr(self, "ctx", None):
            llama_cpp.llama_batch_free(self.batch)
            llama_cpp.llama_free(self.ctx)
            self.ctx = None
        if getattr(self, "model", None):
            llama_cpp.llama_model_free(self.model)
            self.model = None
