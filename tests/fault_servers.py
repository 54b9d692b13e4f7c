"""Misbehaving OpenAI-compatible servers on 127.0.0.1, real processes (no tests here).

    python tests/fault_servers.py MODE PORT

``silent``  accepts connections and never answers anything;
``hang``    lists a model (vLLM-style, with its context) but never answers a chat completion;
``stall``   streams the first words of an answer, then goes quiet with the connection open;
``die``     streams the first words, then the process exits at once (a crash, or kill -9).
``auth``    a healthy server that wants HTTP basic auth ``AUTH_USER``:``AUTH_PASSWORD`` on
            every request (401 otherwise) and streams a whole short answer.

Scripted (well-behaved) servers, for tests of the protocol rather than of a model's words:

``findings``  answers every chat completion with :data:`FINDINGS` (a findings JSON document
              with one finding at ``pkg/core.py``), streamed, then finishes properly;
``loop``      says on ``/health`` that it is a ``repoctx serve`` of the embedded fallback, and
              answers ``requested max_tokens=N`` then :data:`LOOP_LINE` over and over (the
              fallback's loop), until the client hangs up.

Tests start one with :func:`start` and stop it with :func:`stop`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIRST_WORDS = "Partial answer before the fault"
MODEL = {"id": "fault-model", "object": "model", "max_model_len": 4096}
AUTH_USER, AUTH_PASSWORD = "alice", "s3cret-Pa55"
FINDINGS = {"findings": [{"path": "pkg/core.py", "line": 5, "severity": "medium",
                          "category": "refactor", "message": "sub duplicates add's shape.",
                          "suggestion": "Keep one arithmetic helper."}],
            "summary": "One scripted finding."}
LOOP_LINE = "- The same bullet about the code, written again and again.\n"


def _finish(usage: dict[str, int]) -> bytes:
    doc = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": MODEL["id"],
           "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}
    return f"data: {json.dumps(doc)}\n\ndata: [DONE]\n\n".encode()


def _chunk(text: str) -> bytes:
    doc = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": MODEL["id"],
           "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return f"data: {json.dumps(doc)}\n\n".encode()


def handler(mode: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, doc: Any) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _refused(self) -> bool:
            import base64

            token = base64.b64encode(f"{AUTH_USER}:{AUTH_PASSWORD}".encode()).decode()
            if mode != "auth" or self.headers.get("Authorization") == f"Basic {token}":
                return False
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._json(401, {"error": {"message": "bad credentials"}})
            return True

        def do_GET(self) -> None:
            if self._refused():
                return
            if mode == "loop" and self.path.rstrip("/") == "/health":
                self._json(200, {"status": "ok", "server": "repoctx", "fallback": True,
                                 "plain": True, "pid": os.getpid()})
            elif self.path.rstrip("/") == "/v1/models":
                self._json(200, {"object": "list", "data": [MODEL]})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            if self._refused():
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not self.path.endswith("/chat/completions"):
                self._json(404, {"error": "not found"})
                return
            if mode in ("findings", "loop"):
                self._scripted(json.loads(body))
                return
            if mode == "hang":
                time.sleep(3600)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for word in FIRST_WORDS.split():
                self.wfile.write(_chunk(word + " "))
                self.wfile.flush()
                time.sleep(0.05)
            if mode == "die":
                os._exit(1)
            if mode == "auth":
                done = {"id": "c1", "object": "chat.completion.chunk", "created": 0,
                        "model": MODEL["id"], "choices": [{"index": 0, "delta": {},
                                                           "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
                self.close_connection = True
                return
            time.sleep(3600)

        def _scripted(self, request: dict[str, Any]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                if mode == "findings":
                    text = json.dumps(FINDINGS)
                    for at in range(0, len(text), 40):
                        self.wfile.write(_chunk(text[at:at + 40]))
                    self.wfile.write(_finish({"prompt_tokens": 100, "completion_tokens": 60,
                                              "total_tokens": 160}))
                    self.wfile.flush()
                    return
                self.wfile.write(_chunk(f"requested max_tokens={request.get('max_tokens')}\n"))
                for _ in range(100_000):
                    self.wfile.write(_chunk(LOOP_LINE))
                    self.wfile.flush()
                    time.sleep(0.01)
            except OSError:  # the client hung up: what a guard against loops does
                return

    return Handler


def _silent(port: int) -> None:
    listener = socket.create_server(("127.0.0.1", port))
    held = []
    while True:
        conn, _ = listener.accept()
        held.append(conn)  # never read, never answered, never closed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(mode: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start a fault server; returns the process and its URL once it accepts connections."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), mode, str(port)])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"fault server {mode} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()


if __name__ == "__main__":
    mode_arg, port_arg = sys.argv[1], int(sys.argv[2])
    if mode_arg == "silent":
        _silent(port_arg)
    else:
        server = ThreadingHTTPServer(("127.0.0.1", port_arg), handler(mode_arg))
        server.daemon_threads = True
        server.serve_forever()
