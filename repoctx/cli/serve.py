"""``repoctx serve``: keep one model loaded for every commit, review and TUI session.

Import-light (argparse only); the server itself is repoctx/serve/ (http.py, client.py).
``--status`` and ``--stop`` act on the server this user started (found by its state file).
"""

from __future__ import annotations

import argparse
import json
import re
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
    from repoctx.access import KEY_ENV
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
                        help=f"address to bind (default {DEFAULT_HOST}; any other wants --api-key)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--ctx", type=int, default=None, metavar="TOKENS",
                        help="context to allocate (default: what the budget plan fits)")
    parser.add_argument("--kv-type", choices=KV_TYPES, default="f16",
                        help="KV cache type (q8_0 halves its memory, decodes slower)")
    parser.add_argument("--api-key", metavar="KEY", default=None,
                        help=f"require this key (Authorization: Bearer KEY); default "
                             f"${KEY_ENV}, which keeps it out of the process list. repoctx's "
                             "own clients find it in the user's 0600 state file")
    parser.add_argument("--allow-origin", metavar="URL", action="append", default=[],
                        help="let web pages from this origin (scheme://host[:port]) call the "
                             "server; repeatable (default: every browser request is refused)")
    parser.add_argument("--max-body", metavar="MIB", type=float, default=None,
                        help="largest request body in MiB (default: room for a prompt filling "
                             "the context, at least 4)")
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
        print(json.dumps(running.public(), indent=2))
        return 0
    if args.stop:
        return _stop(running)
    access = _access(args)  # bad --api-key/--allow-origin/--max-body: exit 2 before loading
    if running is not None and args.port in (0, int(running.url.rsplit(":", 1)[1])):
        raise InputError(f"repoctx serve already runs at {running.url} (pid {running.pid}): "
                         "`repoctx serve --stop` first, or pick another --port")  # fmt: skip
    return _serve(args, access)


def _access(args: argparse.Namespace) -> Any:
    """Who may use the server, from the options (checked: exit 2 for a bad one)."""
    import os

    from repoctx.access import KEY_ENV, key_problem, normal_origin
    from repoctx.errors import InputError
    from repoctx.serve.http import Access

    key = args.api_key if args.api_key is not None else os.environ.get(KEY_ENV, "").strip()
    problem = key_problem(key) if key or args.api_key is not None else None
    if problem:
        source = "--api-key" if args.api_key is not None else KEY_ENV
        raise InputError(f"{source}: {problem}")
    origins = []
    for origin in args.allow_origin:
        if not re.fullmatch(r"https?://[^/\s@]+", normal_origin(origin)):
            raise InputError(f"--allow-origin {origin!r}: expected scheme://host[:port], as a "
                             "browser sends it (e.g. http://localhost:3000)")  # fmt: skip
        origins.append(normal_origin(origin))
    max_body = None
    if args.max_body is not None:
        if not 0 < args.max_body <= 4096:  # NaN fails this too
            raise InputError(f"--max-body {args.max_body:g}: expected MiB between 0 and 4096")
        max_body = int(args.max_body * (1 << 20))
    return Access(key=key, origins=frozenset(origins), bound=args.host, max_body=max_body)


def _serve(args: argparse.Namespace, access: Any) -> int:
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
    if args.host not in LOOPBACK and not access.key:
        warn(f"listening on {args.host} without authentication: anyone who can reach it "
             f"can use the model (--api-key)")  # fmt: skip

    def ready(url: str) -> None:
        print(f"repoctx serve: {backend.name} · context {backend.context_length:,} tokens · "
              f"loaded in {time.monotonic() - started:.1f} s · {url} — the hook uses it by "
              "itself, other commands with --server or REPOCTX_SERVER; Ctrl-C stops it",
              file=sys.stderr)  # fmt: skip
        sys.stderr.flush()

    try:
        run_server(app, args.host, args.port, on_ready=ready, log=warn if args.verbose else None,
                   access=access)  # fmt: skip
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

    from repoctx.running import read_state
    from repoctx.serve.client import health

    if running is None:
        print("repoctx: no repoctx serve is running", file=sys.stderr)
        return 0
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        state = read_state()
        gone = health(running.url, 0.5, key=running.api_key or None) is None
        if (state is None or state.pid != running.pid) and gone:
            print(f"repoctx: stopped repoctx serve at {running.url} (pid {running.pid})",
                  file=sys.stderr)  # fmt: skip
            return 0
        time.sleep(0.05)
    print(f"repoctx: repoctx serve at {running.url} (pid {running.pid}) is still stopping",
          file=sys.stderr)  # fmt: skip
    return 1

