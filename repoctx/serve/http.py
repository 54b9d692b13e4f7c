"""The HTTP side of ``repoctx serve``: an OpenAI-compatible subset over one loaded backend.

Endpoints: ``GET /health`` (repoctx's own: pid, model, context, busy), ``GET /v1/models``
(with vLLM's ``max_model_len``), ``GET /props`` (llama-server's ``n_ctx`` fields, so the
budget planner reads the context), ``POST /v1/chat/completions`` (streamed or not;
``response_format`` json_schema / json_object+schema for constrained decoding;
``chat_template_kwargs.enable_thinking``) and ``POST /extras/tokenize/count``.

Who may ask (issue 16): only loopback ``Host`` headers (or the address the server was bound
to), no browser ``Origin`` the user did not allow with ``--allow-origin``, and with
``--api-key`` the key (access.py says why). What a request may be: a body of at most
``max_body`` bytes (a larger Content-Length is refused before anything is read; a chunked body
is bounded while it is read), read whole within ``BODY_TIMEOUT_S`` before the request waits
for the model, so a slow or huge upload never holds the model lock; every field is checked
(serve_openai.py) and a bad one is a 400 that says why.

One model, one sequence: requests are served one at a time under a lock (a second request
waits its turn). A leading system message is treated as the reusable prefix — the packed
repo in every repoctx prompt — so the backend's snapshot answers the next request with the
same repo from the prefix. A client that goes away (the hook's time limit) is noticed between
prefill chunks and tokens, and the model is freed at once for the next request.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from repoctx._version import __version__
from repoctx.access import authorized, host_allowed, normal_origin, origin_allowed
from repoctx.errors import RepoctxError
from repoctx.llm.base import (
    Backend,
    Done,
    Event,
    Options,
    PrefillProgress,
    Prompt,
    Stats,
    Text,
    collect,
)
from repoctx.running import ServeState, remove_state, write_state
from repoctx.serve.client import SERVER_NAME
from repoctx.serve.openai import options_from, parse_body, prompt_from, usage

MIN_BODY_BYTES = 4 << 20
BODY_BYTES_PER_TOKEN = 32  # JSON-escaped text runs far below this per token of context
SOCKET_TIMEOUT_S = 30.0  # the longest a client may stay silent while sending its request
BODY_TIMEOUT_S = 60.0  # the longest a whole body may take to arrive
LINGER_S = 2.0  # how long a refused body is drained so the client reads the refusal


def default_max_body(n_ctx: int) -> int:
    """Bytes a request body may have: room for a prompt filling the whole context."""
    return max(MIN_BODY_BYTES, BODY_BYTES_PER_TOKEN * n_ctx)


class BadRequest(Exception):
    """A request refused before it reached the model: its status and the reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Access:
    """Who may use the server: ``--api-key``, ``--allow-origin``, the bound address."""

    key: str = ""
    origins: frozenset[str] = frozenset()
    bound: str = "127.0.0.1"
    max_body: int | None = None  # None: default_max_body(n_ctx)


class ClientGone(Exception):
    """The client closed its connection: stop working for it."""


class ServeApp:
    """The loaded model and what the server keeps between requests.

    Incremental ingest (issue 9): the backend keeps the repo prefix's checkpoints between
    requests (so the hook's next commit resumes at its first changed file) and saves the last
    prefix to the state cache when the server stops; ``/health`` reports them.
    """

    def __init__(self, backend: Backend, *, model_path: str, plain: bool, fallback: bool) -> None:
        self.backend = backend
        self.model_path = model_path
        self.plain = plain
        self.fallback = fallback
        self.lock = threading.Lock()
        self.started = time.time()
        self.served = 0
        self.closing = False
        self.last: Stats | None = None  # the latest finished request's token accounting

    def info(self) -> dict[str, Any]:
        return {
            "status": "ok", "server": SERVER_NAME, "version": __version__, "pid": os.getpid(),
            "model": self.backend.name, "model_path": self.model_path,
            "n_ctx": self.backend.context_length, "plain": self.plain, "fallback": self.fallback,
            "busy": self.lock.locked(), "served": self.served, "ingest": self._ingest(),
        }  # fmt: skip

    def _ingest(self) -> dict[str, Any]:
        """What the model holds for the next request (checkpoints) and what the last reused."""
        snapshots = list(getattr(getattr(self.backend, "state", None), "snapshots", ()))
        last = self.last
        return {
            "checkpoints": len(snapshots),
            "checkpoint_bytes": sum(s.nbytes for s in snapshots),
            "last_prompt_tokens": last.prompt_tokens if last else 0,
            "last_cached_tokens": last.cached_tokens if last else 0,
            "last_prefill_s": round(last.prefill_s, 4) if last else 0.0,
        }

    def schema_problem(self, schema: Any) -> str | None:
        """Why the backend cannot constrain an answer to ``schema`` (None: it can)."""
        check = getattr(self.backend, "schema_problem", None)
        return check(schema) if check is not None else None

    def events(
        self, prompt: Prompt, options: Options, gone: Callable[[], bool]
    ) -> Generator[Event, None, None]:
        """The backend's events for one request, holding the model until done or abandoned."""
        with self.lock:
            self.served += 1
            stream = self.backend.stream(prompt, options)
            try:
                for event in stream:
                    if self.closing or (isinstance(event, PrefillProgress | Text) and gone()):
                        raise ClientGone()
                    if isinstance(event, Done):
                        self.last = event.stats
                    yield event
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()

    def close(self, wait_s: float = 5.0) -> None:
        """Stop the running request (if any) at its next step, then free the model."""
        self.closing = True
        if self.lock.acquire(timeout=wait_s):
            try:
                self.backend.close()
            finally:
                self.lock.release()


class Handler(BaseHTTPRequestHandler):
    """One request. HTTP/1.0: every response closes its connection, streams included."""

    server: _Server
    server_version = f"repoctx/{__version__}"
    timeout = SOCKET_TIMEOUT_S  # a silent client no longer holds a thread forever

    def log_message(self, format: str, *args: Any) -> None:
        """``-v``: one line per request, control characters escaped (the request line is the
        client's: an escape sequence in it must not reach the terminal)."""
        if self.server.log is not None:
            line = f"{self.address_string()} {format % args}"
            self.server.log("".join(c if c.isprintable() else ascii(c)[1:-1] for c in line))

    # ---------------------------------------------------------------- who may ask
    def _admitted(self) -> bool:
        """Host, Origin and key checks; False once the refusal has been sent."""
        access = self.server.access
        if not host_allowed(self.headers.get("Host"), access.bound):
            self._error(403, f"Host {self.headers.get('Host', '')[:100]!r} is not this "
                             "server's (only loopback names are accepted)")  # fmt: skip
            return False
        if not origin_allowed(self.headers.get("Origin"), access.origins):
            self._error(403, "requests from web pages are refused (Origin "
                             f"{self.headers.get('Origin', '')[:100]!r}; see --allow-origin)")
            return False
        if not authorized(self.headers.get("Authorization"), access.key):
            self._error(401, "missing or wrong API key (Authorization: Bearer KEY)",
                        {"WWW-Authenticate": 'Bearer realm="repoctx"'})  # fmt: skip
            return False
        return True

    def do_OPTIONS(self) -> None:
        """A CORS preflight: answered for an allowed Origin only (it carries no key)."""
        self.close_connection = True
        origin = self.headers.get("Origin")
        if origin is None or not host_allowed(self.headers.get("Host"), self.server.access.bound) \
                or not origin_allowed(origin, self.server.access.origins):  # fmt: skip
            self._error(403, "CORS preflight refused (see --allow-origin)")
            return
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Authorization, Content-Type")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def end_headers(self) -> None:
        origin = self.headers.get("Origin") if hasattr(self, "headers") else None
        if origin is not None and origin_allowed(origin, self.server.access.origins):
            self.send_header("Access-Control-Allow-Origin", normal_origin(origin))
            self.send_header("Vary", "Origin")
        super().end_headers()

    # ---------------------------------------------------------------- endpoints
    def do_GET(self) -> None:
        if not self._admitted():
            return
        app = self.server.app
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/health":
            self._json(200, app.info())
        elif path == "/v1/models":
            model = {"id": app.backend.name, "object": "model", "created": int(app.started),
                     "owned_by": SERVER_NAME, "max_model_len": app.backend.context_length}
            self._json(200, {"object": "list", "data": [model]})
        elif path == "/props":
            n_ctx = app.backend.context_length
            self._json(200, {"default_generation_settings": {"n_ctx": n_ctx}, "n_ctx": n_ctx,
                             "model_path": app.model_path, "total_slots": 1})
        else:
            self._error(404, f"no such endpoint: GET {path}")

    def do_POST(self) -> None:
        if not self._admitted():
            self._discard_unread()
            return
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            body = parse_body(self._read_body())
        except BadRequest as exc:
            self._error(exc.status, f"request body: {exc}")
            self._discard_unread()
            return
        except ValueError as exc:
            self._error(400, f"request body: {exc}")
            return
        if path in ("/v1/chat/completions", "/chat/completions"):
            self._chat(body)
        elif path == "/extras/tokenize/count":
            self._count(body)
        else:
            self._error(404, f"no such endpoint: POST {path}")

    def _count(self, body: dict[str, Any]) -> None:
        text = body.get("input")
        if not isinstance(text, str):
            self._error(400, "input must be a string")
            return
        self._json(200, {"count": self.server.app.backend.count_tokens(text)})

    # ---------------------------------------------------------------- chat completions
    def _chat(self, body: dict[str, Any]) -> None:
        app = self.server.app
        try:
            prompt = prompt_from(body.get("messages"))
            options = options_from(body, app.backend.context_length, plain=app.plain,
                                   check_schema=app.schema_problem)  # fmt: skip
            stream, with_usage = _stream_flags(body)
        except ValueError as exc:
            self._error(400, str(exc))
            return
        events = app.events(prompt, options, self._client_gone)
        head = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()),
                "model": app.backend.name}  # fmt: skip
        try:
            if stream:
                self._stream(events, head, with_usage)
            else:
                self._complete(events, head)
        except (ClientGone, OSError):  # hung up, or stopped reading for `timeout` seconds
            self.close_connection = True
        except RepoctxError as exc:  # the prompt does not fit, the model failed, …
            self._error(400, str(exc))
        finally:
            events.close()  # the model is free now, whatever happened to the socket

    def _complete(self, events: Iterator[Event], head: dict[str, Any]) -> None:
        answer = collect(events)
        message: dict[str, Any] = {"role": "assistant", "content": answer.text}
        if answer.thinking:
            message["reasoning_content"] = answer.thinking
        choice = {"index": 0, "message": message, "finish_reason": answer.stats.finish_reason}
        self._json(200, {**head, "object": "chat.completion", "choices": [choice],
                         "usage": usage(answer.stats)})  # fmt: skip

    def _stream(self, events: Iterator[Event], head: dict[str, Any], with_usage: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        chunk = {**head, "object": "chat.completion.chunk"}
        first = True
        try:
            for event in events:
                if isinstance(event, PrefillProgress):
                    # an SSE comment: clients ignore it; a closed socket shows up here
                    self._send(f": prefill {event.done}/{event.total}\n\n")
                    continue
                if isinstance(event, Done):
                    self._send_chunk({**chunk, "choices": [
                        {"index": 0, "delta": {}, "finish_reason": event.stats.finish_reason}]})
                    if with_usage:
                        self._send_chunk({**chunk, "choices": [], "usage": usage(event.stats)})
                    continue
                delta: dict[str, Any] = {"role": "assistant"} if first else {}
                first = False
                key = "content" if isinstance(event, Text) else "reasoning_content"
                delta[key] = event.text
                self._send_chunk({**chunk, "choices": [
                    {"index": 0, "delta": delta, "finish_reason": None}]})  # fmt: skip
        except RepoctxError as exc:  # mid-stream: the status line is sent, say it in-band
            self._send_chunk({"error": {"message": str(exc), "type": "server_error"}})
        self._send("data: [DONE]\n\n")

    # ---------------------------------------------------------------- plumbing
    def _client_gone(self) -> bool:
        """Whether the client hung up (readable with nothing to read means EOF)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            data: bytes = self.connection.recv(1, socket.MSG_PEEK)
            return data == b""
        except (OSError, ValueError):
            return True

    def _send(self, text: str) -> None:
        self.wfile.write(text.encode("utf-8"))
        self.wfile.flush()

    def _send_chunk(self, doc: dict[str, Any]) -> None:
        self._send(f"data: {json.dumps(doc, ensure_ascii=False)}\n\n")

    def _discard_unread(self) -> None:
        """After refusing a body unread: drop what the client still sends, for at most
        ``LINGER_S``, so it reads the refusal (closing a socket with unread data resets the
        connection, and a client still sending would see only "broken pipe")."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_S)
            deadline = time.monotonic() + LINGER_S
            while time.monotonic() < deadline and self.connection.recv(1 << 16):
                pass

    def _read_body(self) -> bytes:
        """The whole body, bounded in size and time, read before the request waits its turn.

        Content-Length over the cap is refused unread; a chunked body counts as it arrives.
        """
        cap = self.server.max_body
        deadline = time.monotonic() + BODY_TIMEOUT_S
        coding = self.headers.get("Transfer-Encoding")
        if coding is not None:
            if coding.strip().lower() != "chunked":
                raise BadRequest(501, f"Transfer-Encoding {coding[:40]!r} is not supported")
            return self._read_chunked(cap, deadline)
        raw = self.headers.get("Content-Length")
        if raw is None:
            raise BadRequest(411, "a Content-Length header is required")
        if not re.fullmatch(r"[0-9]{1,18}", raw.strip()):
            raise BadRequest(400, f"invalid Content-Length {raw[:40]!r}")
        length = int(raw)
        if length > cap:
            raise BadRequest(413, f"{length:,} bytes is over this server's limit of "
                                  f"{cap:,} (--max-body)")  # fmt: skip
        return self._read_exactly(length, deadline)

    def _read_exactly(self, length: int, deadline: float) -> bytes:
        parts: list[bytes] = []
        left = length
        while left > 0:
            if time.monotonic() > deadline:
                raise BadRequest(408, f"the body did not arrive within {BODY_TIMEOUT_S:g} s")
            try:
                data = self.rfile.read1(min(left, 1 << 16))
            except TimeoutError:
                raise BadRequest(408, f"the client sent nothing for {self.timeout:g} s") from None
            if not data:
                raise BadRequest(400, f"the body ended after {length - left:,} of "
                                      f"{length:,} bytes")  # fmt: skip
            parts.append(data)
            left -= len(data)
        return b"".join(parts)

    def _read_chunked(self, cap: int, deadline: float) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self._read_line(deadline)
            size_text = line.split(b";", 1)[0].strip()
            if not re.fullmatch(rb"[0-9a-fA-F]{1,15}", size_text):
                raise BadRequest(400, "malformed chunked body")
            size = int(size_text, 16)
            if size == 0:
                while self._read_line(deadline) not in (b"", b"\r\n", b"\n"):
                    pass  # trailers
                return b"".join(parts)
            total += size
            if total > cap:
                raise BadRequest(413, f"the chunked body is over this server's limit of "
                                      f"{cap:,} bytes (--max-body)")  # fmt: skip
            parts.append(self._read_exactly(size, deadline))
            self._read_line(deadline)  # the CRLF after the chunk

    def _read_line(self, deadline: float) -> bytes:
        if time.monotonic() > deadline:
            raise BadRequest(408, f"the body did not arrive within {BODY_TIMEOUT_S:g} s")
        try:
            line: bytes = self.rfile.readline(1024)
        except TimeoutError:
            raise BadRequest(408, f"the client sent nothing for {self.timeout:g} s") from None
        if not line:
            raise BadRequest(400, "the chunked body ended early")
        return line

    def _json(self, status: int, doc: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:  # fmt: skip
        data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        kind = "invalid_request_error" if status < 500 else "server_error"
        self._json(status, {"error": {"message": message, "type": kind, "code": status}},
                   headers)  # fmt: skip


def _stream_flags(body: dict[str, Any]) -> tuple[bool, bool]:
    """(stream, include_usage) from a request, checked."""
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise ValueError("stream must be true or false")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise ValueError("stream_options must be an object")
    return bool(stream), bool(options.get("include_usage"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stream in progress never holds up shutdown
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: ServeApp,
                 log: Callable[[str], None] | None, access: Access) -> None:  # fmt: skip
        self.app = app
        self.log = log
        self.access = access
        self.max_body = access.max_body or default_max_body(app.backend.context_length)
        super().__init__(address, Handler)


def run_server(
    app: ServeApp, host: str, port: int, *, on_ready: Callable[[str], None] | None = None,
    log: Callable[[str], None] | None = None, access: Access | None = None,
) -> None:  # fmt: skip
    """Listen, publish the state file, serve until SIGTERM/SIGINT, then clean up.

    SIGTERM asks ``serve_forever`` to return (from another thread, as ``shutdown`` must be
    called) rather than raising in the main thread, which may be inside socketserver code
    that swallows exceptions.
    """
    access = access or Access(bound=host)
    server = _Server((host, port), app, log, access)
    url = f"http://{_url_host(host)}:{server.server_address[1]}"
    state = ServeState(url, os.getpid(), app.backend.name, app.model_path,
                       app.backend.context_length, app.plain, app.fallback, app.started,
                       __version__, access.key)  # fmt: skip

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        write_state(state)
        if on_ready is not None:
            on_ready(url)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        remove_state(os.getpid())
        server.server_close()
        app.close()


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
