"""``repoctx serve``: keep one model loaded for every commit, review and TUI session.

Import-light (argparse only); the server itself is repoctx/serve/ (http.py, client.py).
``--status`` and ``--stop`` act on the server this user started (found by its state file).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repoctx.cli._common import warn
from repoctx.errors import InputError
from repoctx.types import KV_CACHE_TYPES

if TYPE_CHECKING:
    from repoctx.llm.discover import Choice

KV_TYPES = KV_CACHE_TYPES
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers: Any) -> None:
    from repoctx.serve.client import DEFAULT_HOST, DEFAULT_PORT

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help="keep a model loaded and serve it (OpenAI-compatible) on 127.0.0.1",
        description="Load the model once and answer OpenAI-compatible requests, so hook runs "
                    "and reviews skip the model load and reuse the packed-repo prefix. The "
                    "hook finds a running server by itself; other commands take --server URL "
                    "or REPOCTX_SERVER.")  # fmt: skip
    parser.add_argument("--model", metavar="GGUF",
                        help="a .gguf file or a model name (default: what `repoctx models` picks)")
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind (default {DEFAULT_HOST}; no authentication)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--ctx", type=int, default=None, metavar="TOKENS",
                        help="context to allocate (default: what the budget plan fits)")
    parser.add_argument("--kv-type", choices=KV_TYPES, default="f16",
                        help="KV cache type (q8_0 halves its memory, decodes slower)")
    parser.add_argument("--verbose", "-v", action="store_true", help="log each request to stderr")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--status", action="store_true",
                        help="print the running server's state as JSON (exit 1 if none)")
    action.add_argument("--stop", action="store_true", help="stop the running server")
    parser.set_defaults(run=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from repoctx.serve.client import find_running

    running = find_running()
    if args.status:
        if running is None:
            print("repoctx: no repoctx serve is running", file=sys.stderr)
            return 1
        print(json.dumps(_asdict(running), indent=2))
        return 0
    if args.stop:
        return _stop(running)
    if running is not None and args.port in (0, int(running.url.rsplit(":", 1)[1])):
        raise InputError(f"repoctx serve already runs at {running.url} (pid {running.pid}): "
                         "`repoctx serve --stop` first, or pick another --port")  # fmt: skip
    return _serve(args)


def _serve(args: argparse.Namespace) -> int:
    import llama_cpp  # noqa: F401  (before numpy: see repoctx/llm/runtime.py)

    from repoctx.llm.fallback import BANNER
    from repoctx.llm.open import PROMPT_OVERHEAD, open_backend
    from repoctx.serve.client import is_fallback_file
    from repoctx.serve.http import ServeApp, run_server

    choice = _choice(args.model)
    if choice.is_fallback or (choice.candidate and is_fallback_file(choice.candidate.path)):
        warn(BANNER.lstrip("> "))
    max_tokens = 4096
    budget = max(256, args.ctx - max_tokens - PROMPT_OVERHEAD) if args.ctx else None
    started = time.monotonic()
    backend, _sizing = open_backend(choice, budget=budget, max_tokens=max_tokens,
                                    kv_type=args.kv_type, on_warning=warn)  # fmt: skip
    path = str(getattr(backend, "path", "") or "")
    plain = not getattr(backend, "has_chat_template", True)
    fallback = choice.is_fallback or is_fallback_file(path)
    app = ServeApp(backend, model_path=path, plain=plain, fallback=fallback)
    if args.host not in LOOPBACK:
        warn(f"listening on {args.host} without authentication: anyone who can reach it "
             "can use the model")  # fmt: skip

    def ready(url: str) -> None:
        print(f"repoctx serve: {backend.name} · context {backend.context_length:,} tokens · "
              f"loaded in {time.monotonic() - started:.1f} s · {url} — the hook uses it by "
              "itself, other commands with --server or REPOCTX_SERVER; Ctrl-C stops it",
              file=sys.stderr)  # fmt: skip
        sys.stderr.flush()

    try:
        run_server(app, args.host, args.port, on_ready=ready, log=warn if args.verbose else None)
    except OSError as exc:
        backend.close()
        raise InputError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
                         " (--port)") from exc  # fmt: skip
    return 0


def _choice(model: str | None) -> Choice:
    """The model to load; a configured *server* is not something serve can load."""
    from repoctx.llm.discover import Choice, choose, discover, rank

    root = Path.cwd()
    choice = choose(root, model=model)
    if choice.server is None:
        return choice
    warn(f"ignoring the configured server ({choice.reason}): repoctx serve loads a local model")
    found = tuple(discover())
    ranked = rank(found, None)
    if ranked is None:
        return Choice(None, None, "no model found: the embedded fallback", found)
    return Choice(ranked[0], None, ranked[1], found)


def _stop(running: Any) -> int:
    """SIGTERM the server, then wait until it stops answering and its state file is gone.

    (Not ``pid_alive``: a server started by a process that has not reaped it yet stays a
    zombie with a live pid after it exited.)
    """
    import os
    import signal

    from repoctx.serve.client import health, read_state

    if running is None:
        print("repoctx: no repoctx serve is running", file=sys.stderr)
        return 0
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = read_state()
        if (state is None or state.pid != running.pid) and health(running.url, 0.5) is None:
            print(f"repoctx: stopped repoctx serve at {running.url} (pid {running.pid})",
                  file=sys.stderr)  # fmt: skip
            return 0
        time.sleep(0.05)
    print(f"repoctx: repoctx serve at {running.url} (pid {running.pid}) is still stopping",
          file=sys.stderr)  # fmt: skip
    return 1


def _asdict(state: Any) -> dict[str, Any]:
    from dataclasses import asdict

    result: dict[str, Any] = asdict(state)
    return result
