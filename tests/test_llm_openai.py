# ruff: noqa: F811  (pytest fixtures imported from helper modules)
"""The OpenAI-compatible backend against a real llama-cpp-python server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llm_helpers import REPO_TEXT, Server, free_port, gemma_path, llama_server  # noqa: F401

from repoctx.errors import ModelError
from repoctx.llm.base import Done, Options, Prompt, Text, collect
from repoctx.llm.openai_compat import OpenAICompatBackend

GREEDY = Options(temperature=0, max_tokens=16)


@pytest.mark.slow
def test_streams_from_a_real_server(llama_server: Server) -> None:
    backend = OpenAICompatBackend(llama_server.url)
    try:
        assert backend.context_length == 2048  # the server's own n_ctx
        assert backend.count_tokens("def f(x):\n    return x") > 3
        events = list(backend.stream(Prompt.of(REPO_TEXT[:400], "What does f1 do?"), GREEDY))
        assert isinstance(events[-1], Done)
        text = "".join(e.text for e in events if isinstance(e, Text))
        assert text and events[-1].stats.output_tokens > 0
        # (no determinism check across requests: llama-cpp-python's server truncates its KV
        # for prefix reuse, which is not exact on this sliding-window model — the problem
        # repoctx's own snapshots solve, see snapshot.py)
    finally:
        backend.close()


@pytest.mark.slow
def test_json_schema_through_response_format(llama_server: Server) -> None:
    schema = {
        "type": "object",
        "properties": {"summary": {"type": "string", "maxLength": 40}},
        "required": ["summary"],
        "additionalProperties": False,
    }
    backend = OpenAICompatBackend(llama_server.url + "/v1")  # /v1 suffix accepted too
    try:
        opts = Options(temperature=0, max_tokens=60, json_schema=schema)
        result = collect(backend.stream(Prompt.of("def f(x): return x", "JSON:"), opts))
        assert set(json.loads(result.text)) == {"summary"}
    finally:
        backend.close()


def test_unreachable_server_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="unreachable"):
        OpenAICompatBackend(f"http://127.0.0.1:{free_port()}")


@pytest.mark.slow
def test_server_dying_mid_stream_keeps_partial_answer(gemma_path: Path) -> None:
    server = Server(gemma_path)
    backend = OpenAICompatBackend(server.url, timeout_s=20)
    received: list[str] = []
    try:
        events = backend.stream(Prompt.of(REPO_TEXT[:400], "Explain f1 in detail:"),
                                Options(temperature=0, max_tokens=400))  # fmt: skip
        with pytest.raises(ModelError, match=r"failed mid-answer|unreachable|refused"):
            for event in events:
                if isinstance(event, Text):
                    received.append(event.text)
                    if len(received) == 3:
                        server.proc.kill()  # dies, not a graceful shutdown
        assert len(received) >= 3  # what arrived before the failure is kept by the caller
    finally:
        server.stop()
        backend.close()


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_printed() -> None:
    """Issue 16 item 12: ``http://user:pass@host`` works, and no message shows the password."""
    import fault_servers

    from repoctx.budget import server_context
    from repoctx.serve.client import health

    proc, url = fault_servers.start("auth")
    user, password = fault_servers.AUTH_USER, fault_servers.AUTH_PASSWORD
    host = url.removeprefix("http://")
    try:
        backend = OpenAICompatBackend(f"http://{user}:{password}@{host}/v1", timeout_s=20)
        try:
            assert backend.context_length == 4096  # /v1/models read with the credentials
            assert password not in backend.name and password not in backend.root
            answer = collect(backend.stream(Prompt.of("repo", "q"), GREEDY))
            assert answer.text.startswith(fault_servers.FIRST_WORDS.split()[0])
        finally:
            backend.close()
        assert server_context(f"http://{user}:{password}@{host}").n_ctx == 4096
        with pytest.raises(ModelError) as refused:
            OpenAICompatBackend(f"http://{user}:wrong-{password}@{host}", timeout_s=20)
        assert "401" in str(refused.value) and password not in str(refused.value)
        with pytest.raises(ModelError) as unreachable:
            server_context(f"http://{user}:{password}@127.0.0.1:{free_port()}")
        assert password not in str(unreachable.value)
        assert health(f"http://{user}:{password}@127.0.0.1:{free_port()}") is None
    finally:
        fault_servers.stop(proc)
    with pytest.raises(ModelError) as err:
        OpenAICompatBackend(f"http://{user}:{password}@127.0.0.1:{free_port()}")
    assert "unreachable" in str(err.value) and password not in str(err.value)


def test_url_credentials_are_masked_in_cli_messages(tmp_path: Path) -> None:
    """Every message that prints a server URL masks its password (budget, models, policy)."""
    import subprocess
    import sys

    secret = "hunter2-Zz9"
    url = f"http://bob:{secret}@127.0.0.1:{free_port()}"
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("REPOCTX_")}
    env["REPOCTX_CACHE_DIR"] = str(tmp_path / "cache")
    runs = [["budget", str(tmp_path), "--server", url], ["models", "--server", url],
            ["review", str(tmp_path), "--server", url.replace("127.0.0.1", "example.com"),
             "--no-redact"], ["review", str(tmp_path), "--server", url, "--budget", "500"],
            ["hook", "run", "--server", url]]  # fmt: skip
    import git

    git.Repo.init(tmp_path)
    (tmp_path / "a.py").write_text("x = 1\n")
    git.Repo(tmp_path).index.add(["a.py"])
    for argv in runs:
        done = subprocess.run([sys.executable, "-m", "repoctx", *argv], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
        assert secret not in done.stdout + done.stderr, (argv, done.stderr[-500:])
        assert "Traceback" not in done.stderr, done.stderr[-2000:]
