"""What a saved model state depends on, as one key (the directory name under ``states/``).

A sequence state is only meaningful to the same weights, evaluated by the same llama.cpp
code, in a context of the same shape: restoring it anywhere else would at best be rejected
by llama.cpp and at worst silently decode garbage. So the key covers

* the model: every file's size and mtime (split GGUFs: all parts) and a hash of the first's
  first 4 MiB (header, metadata, tensor table) and last 1 MiB. Cheap (no 16 GiB read) and
  stable while the file is untouched; a re-download or an edit in place changes the mtime;
* the llama.cpp build: llama-cpp-python's version, size and mtime of every shared library
  it loads (libllama, libggml-*: a rebuild with other flags or a CUDA build differs) and
  ``llama_print_system_info`` (compiled backends and CPU features);
* every context setting (:class:`~repoctx.llm.runtime.LoadSettings` plus the context size
  llama.cpp really allocated): n_ctx, KV types, batch sizes (chunk boundaries change float
  results), flash attention, offload, threads, SWA mode;
* :data:`FORMAT`, bumped when the file layout or the checkpoint rules change.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

import llama_cpp

from repoctx.llm.gguf_locations import gguf_files
from repoctx.llm.runtime import Runtime

FORMAT = 1
HEAD_BYTES = 4 << 20
TAIL_BYTES = 1 << 20


def model_identity(path: Path) -> dict[str, Any]:
    files = gguf_files(path) or (path,)
    parts = []
    for file in files:
        st = file.stat()
        parts.append([file.name, st.st_size, st.st_mtime_ns])
    digest = hashlib.blake2b(digest_size=16)
    with open(files[0], "rb") as f:
        digest.update(f.read(HEAD_BYTES))
        size = os.fstat(f.fileno()).st_size
        if size > HEAD_BYTES:
            f.seek(max(HEAD_BYTES, size - TAIL_BYTES))
            digest.update(f.read(TAIL_BYTES))
    return {"files": parts, "hash": digest.hexdigest()}


@cache
def build_identity() -> dict[str, Any]:
    lib = Path(llama_cpp.__file__).parent / "lib"
    libs = []
    for file in sorted(lib.glob("lib*.so*")) + sorted(lib.glob("*.dylib")) + sorted(
        lib.glob("*.dll")
    ):
        if file.is_file() and not file.is_symlink():
            st = file.stat()
            libs.append([file.name, st.st_size, st.st_mtime_ns])
    info = llama_cpp.llama_print_system_info()
    return {
        "llama_cpp_python": llama_cpp.__version__,
        "libs": libs,
        "system": info.decode("utf-8", "replace") if isinstance(info, bytes) else str(info),
    }


def identity(rt: Runtime) -> dict[str, Any]:
    """Everything a state of ``rt``'s sequence 0 depends on (stored in each file's header)."""
    return {
        "format": FORMAT,
        "model": model_identity(rt.path),
        "build": build_identity(),
        "settings": {**asdict(rt.settings), "n_ctx_allocated": rt.n_ctx},
    }


def identity_key(doc: dict[str, Any]) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()
