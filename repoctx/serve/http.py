"""The HTTP side of ``repoctx serve``: an OpenAI-compatible subset over one loaded backend.

Endpoints: ``GET /health`` (repoctx's own: pid, model, context, busy), ``GET /v1/models``
(with vLLM's ``max_model_len``), ``GET /props`` (llama-server's ``n_ctx`` fields, so the
budget planner reads the context), ``POST /v1/chat/completions`` (streamed or not;
``response_format`` json_schema / json_object+schema for constrained decoding;
``chat_template_kwargs.enable_thinking``) and ``POST /extras/tokenize/count``.

One model, one sequence: requests are served one at a time under a lock (a second request
waits its turn). A leading system message is treated as the reusable prefix — the packed
repo in every repoctx prompt — so the backend's snapshot answers the next request with the
same repo from the prefix. A client that goes away (the hook's time limit) is noticed between
prefill chunks and tokens, and the model is freed at once for the next request.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from repoctx._version import __version__
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
from repoctx.serve.client import SERVER_NAME, ServeState, remove_state, write_state
from repoctx.serve.openai import options_from, prompt_from, usage


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

    def events(self, prompt: Prompt, options: Options, gone: Callable[[], bool]) -> Iterator[Event]:
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

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")

    def do_GET(self) -> None:
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
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            body = self._body()
        except ValueError as exc:
            self._error(400, f"request body: {exc}")
            return
        if path in ("/v1/chat/completions", "/chat/completions"):
            self._chat(body)
        elif path == "/extras/tokenize/count":
            self._json(200, {"count": self.server.app.backend.count_tokens(str(body["input"]))})
        else:
            self._error(404, f"no such endpoint: POST {path}")

    # ---------------------------------------------------------------- chat completions
    def _chat(self, body: dict[str, Any]) -> None:
        app = self.server.app
        try:
            prompt = prompt_from(body.get("messages"))
            options = options_from(body, app.backend.context_length, plain=app.plain)
        except (ValueError, TypeError, AttributeError) as exc:
            self._error(400, str(exc))
            return
        events = app.events(prompt, options, self._client_gone)
        head = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()),
                "model": app.backend.name}  # fmt: skip
        try:
            if body.get("stream"):
                self._stream(events, head, bool((body.get("stream_options") or {})
                                                .get("include_usage")))  # fmt: skip
            else:
                self._complete(events, head)
        except (ClientGone, BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except RepoctxError as exc:  # the prompt does not fit, the model failed, …
            self._error(400, str(exc))

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

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        doc = json.loads(self.rfile.read(length).decode("utf-8")) if length else {}
        if not isinstance(doc, dict):
            raise ValueError("expected a JSON object")
        return doc

    def _json(self, status: int, doc: dict[str, Any]) -> None:
        data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        kind = "invalid_request_error" if status < 500 else "server_error"
        self._json(status, {"error": {"message": message, "type": kind, "code": status}})


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stream in progress never holds up shutdown
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: ServeApp,
                 log: Callable[[str], None] | None) -> None:  # fmt: skip
        self.app = app
        self.log = log
        super().__init__(address, Handler)


def run_server(
    app: ServeApp, host: str, port: int, *, on_ready: Callable[[str], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> None:  # fmt: skip
    """Listen, publish the state file, serve until SIGTERM/SIGINT, then clean up.

    SIGTERM asks ``serve_forever`` to return (from another thread, as ``shutdown`` must be
    called) rather than raising in the main thread, which may be inside socketserver code
    that swallows exceptions.
    """
    server = _Server((host, port), app, log)
    url = f"http://{_url_host(host)}:{server.server_address[1]}"
    state = ServeState(url, os.getpid(), app.backend.name, app.model_path,
                       app.backend.context_length, app.plain, app.fallback, app.started,
                       __version__)  # fmt: skip

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
