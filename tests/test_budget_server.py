"""The budget of a model behind a server is the server's own context, read from the server.

llama-cpp-python's server is real: started by the test on 127.0.0.1 with a tiny GGUF.
vLLM, llama-server (C++) and Ollama cannot run here, so a tiny real ``http.server`` on
127.0.0.1 answers with the JSON shapes those servers document (vLLM's OpenAI-compatible
``/v1/models`` with ``max_model_len``; llama-server's ``/props``; Ollama's ``/api/ps``,
``/api/show`` and OpenAI-compatible ``/v1/models``), recorded as in their public docs.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from repoctx.budget.server import server_context
from repoctx.cli import main
from repoctx.errors import ModelError


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_cpp_server(qwen35_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import llama_cpp.server.app  # noqa: F401  (the [test] extra pins llama-cpp-python[server])

    port = _free_port()
    log = (tmp_path_factory.mktemp("server") / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(qwen35_gguf), "--host",
         "127.0.0.1", "--port", str(port), "--n_ctx", "3000", "--n_gpu_layers", "0"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{url}/v1/models", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server did not start (see {log.name})")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_llama_cpp_python_server_context(llama_cpp_server: str) -> None:
    info = server_context(llama_cpp_server + "/v1/")
    assert info.kind == "llama-cpp-python"
    assert info.n_ctx == 3072  # --n_ctx 3000, padded to 256 by llama.cpp, as the server runs it


def test_budget_cli_with_a_real_server(
    llama_cpp_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["budget", "--server", llama_cpp_server, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["max_ctx"] == 3072 and data["device"]["source"] == "server"
    assert data["pack_budget"] == 3072 - 384 - 768 and data["rows"] == []
    assert main(["budget", "--server", llama_cpp_server]) == 0
    assert "Server context: 3,072 tokens" in capsys.readouterr().out


# --------------------------------------------------------------------------- recorded shapes

VLLM_MODELS = {"object": "list", "data": [{
    "id": "Qwen/Qwen3.5-27B", "object": "model", "created": 1_767_000_000, "owned_by": "vllm",
    "root": "Qwen/Qwen3.5-27B", "parent": None, "max_model_len": 32768,
    "permission": [{"id": "modelperm-1", "object": "model_permission", "allow_sampling": True,
                    "organization": "*", "is_blocking": False}]}]}  # fmt: skip
LLAMA_SERVER_PROPS = {
    "default_generation_settings": {"id": 0, "n_ctx": 16384, "is_processing": False,
                                    "params": {"n_predict": -1, "temperature": 0.8}},
    "total_slots": 4, "model_path": "/models/Qwen3.5-27B-Q4_K_M.gguf",
    "chat_template": "{{ messages }}", "build_info": "b6500-0000000",
}  # fmt: skip
OLLAMA_MODELS = {
    "object": "list",
    "data": [
        {"id": "qwen3.5:27b", "object": "model", "created": 1_767_000_000, "owned_by": "library"}
    ],
}
OLLAMA_PS = {
    "models": [
        {
            "name": "qwen3.5:27b",
            "model": "qwen3.5:27b",
            "size": 21_000_000_000,
            "digest": "ab12",
            "details": {
                "format": "gguf",
                "family": "qwen35",
                "parameter_size": "27B",
                "quantization_level": "Q4_K_M",
            },
            "expires_at": "2026-11-27T10:00:00Z",
            "size_vram": 21_000_000_000,
            "context_length": 65536,
        }
    ]
}
OLLAMA_SHOW = {
    "modelfile": "FROM qwen3.5:27b", "template": "{{ .Prompt }}",
    "parameters": 'num_ctx                        40960\nstop "<|im_end|>"',
    "details": {"format": "gguf", "family": "qwen35", "parameter_size": "27B"},
    "model_info": {"general.architecture": "qwen35", "qwen35.context_length": 262144,
                   "qwen35.block_count": 64},
    "capabilities": ["completion", "tools", "thinking"],
}  # fmt: skip


class _Recorded(BaseHTTPRequestHandler):
    routes: ClassVar[dict[tuple[str, str], Any]] = {}

    def _answer(self, method: str) -> None:
        body = self.routes.get((method, self.path))
        if method == "POST":
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
        payload = json.dumps(body if body is not None else {"error": "not found"}).encode()
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def log_message(self, *args: Any) -> None:
        pass


def _serve(routes: dict[tuple[str, str], Any]) -> Iterator[str]:
    handler = type("Handler", (_Recorded,), {"routes": routes})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def recorded(request: pytest.FixtureRequest) -> Iterator[str]:
    yield from _serve(request.param)


@pytest.mark.parametrize(
    ("recorded", "kind", "n_ctx", "source"),
    [
        ({("GET", "/v1/models"): VLLM_MODELS}, "vllm", 32768, "max_model_len"),
        ({("GET", "/props"): LLAMA_SERVER_PROPS}, "llama-server", 16384, "default_generation"),
        ({("GET", "/v1/models"): OLLAMA_MODELS, ("GET", "/api/ps"): OLLAMA_PS},
         "ollama", 65536, "/api/ps context_length"),
        ({("GET", "/v1/models"): OLLAMA_MODELS, ("GET", "/api/ps"): {"models": [
            {k: v for k, v in OLLAMA_PS["models"][0].items() if k != "context_length"}]},
          ("POST", "/api/show"): OLLAMA_SHOW}, "ollama", 40960, "num_ctx"),
    ],
    indirect=["recorded"],
    ids=["vllm", "llama-server", "ollama-ps", "ollama-show"],
)  # fmt: skip
def test_recorded_server_shapes(recorded: str, kind: str, n_ctx: int, source: str) -> None:
    info = server_context(recorded)
    assert (info.kind, info.n_ctx) == (kind, n_ctx) and source in info.source


def test_ollama_without_num_ctx_says_so() -> None:
    show = {k: v for k, v in OLLAMA_SHOW.items() if k != "parameters"}
    routes = {("GET", "/api/ps"): {"models": []}, ("POST", "/api/show"): show}
    for url in _serve(routes):
        info = server_context(url, model="qwen3.5:27b")
        assert info.n_ctx == 262144 and info.warnings and "num_ctx" in info.warnings[0]


def test_server_without_a_context(capsys: pytest.CaptureFixture[str]) -> None:
    routes = {("GET", "/v1/models"): {"object": "list", "data": [{"id": "x", "owned_by": "o"}]}}
    for url in _serve(routes):
        with pytest.raises(ModelError, match="did not report its context"):
            server_context(url)
        assert main(["budget", "--server", url]) == 3
        assert "pass --ctx N" in capsys.readouterr().err


def test_unreachable_server() -> None:
    with pytest.raises(ModelError, match="cannot reach the server"):
        server_context(f"http://127.0.0.1:{_free_port()}", timeout=1.0)
