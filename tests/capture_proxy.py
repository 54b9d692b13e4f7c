"""A real HTTP proxy on 127.0.0.1 that records every request body on its way to a model server.

The model-boundary tests put it between a front end (review, the TUI, the hook) and a real
server, then read what the model was really sent — JSON bodies of chat completions, token
counting, health probes — instead of trusting what the front end says it sent. Responses,
streams included, are relayed chunk by chunk as they arrive.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "te",
              "trailer", "upgrade", "proxy-connection"}  # fmt: skip


@dataclass
class Recorded:
    method: str
    path: str
    body: bytes


@dataclass
class CaptureProxy:
    upstream: str
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> str:
        """Every request body, raw and JSON-decoded (escapes undone), as one searchable text."""
        parts: list[str] = []
        with self.lock:
            for item in self.requests:
                raw = item.body.decode("utf-8", "replace")
                parts.append(raw)
                with suppress(ValueError):
                    parts.append(_strings(json.loads(raw)))
        return "\n".join(parts)

    def posted(self, suffix: str) -> list[dict[str, Any]]:
        """Decoded JSON bodies of the POSTs to paths ending in ``suffix``."""
        with self.lock:
            chosen = [r for r in self.requests if r.method == "POST" and r.path.endswith(suffix)]
        return [json.loads(r.body) for r in chosen]


def _strings(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(_strings(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(_strings(v) for v in value)
    return ""


def _handler(proxy: CaptureProxy) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the body ends when we close: no length needed

        def log_message(self, *args: Any) -> None:
            pass

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with proxy.lock:
                proxy.requests.append(Recorded(self.command, self.path, body))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port,
                                                  timeout=600)
            try:
                upstream.request(self.command, self.path, body or None, headers)
                response = upstream.getresponse()
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Connection", "close")
                self.end_headers()
                while chunk := response.read1(65536):
                    self.wfile.write(chunk)
                    self.wfile.flush()
            except (OSError, http.client.HTTPException):
                self.close_connection = True
            finally:
                upstream.close()

        do_GET = do_POST = _relay

    return Handler


@contextmanager
def capture_proxy(upstream: str) -> Iterator[CaptureProxy]:
    """A proxy to ``upstream`` (``http://host:port``) on a free 127.0.0.1 port."""
    proxy = CaptureProxy(upstream.rstrip("/"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
