"""Fixtures for the model-backend tests (owned by the llm tests; ggufgen.py is shared).

Real models only: the embedded Gemma 3 270M (a real trained model, for text that depends on
its input) and ggufgen's tiny random-weight GGUFs (a qwen35 hybrid, a plain qwen3, a gemma3
with sliding-window layers) for state and snapshot behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from repoctx.llm.fallback import fallback_model_path
from repoctx.llm.llamacpp import LlamaCppBackend
from repoctx.llm.runtime import LoadSettings

REPO_TEXT = "".join(
    f"def f{i}(x):\n    '''Return x plus {i}.'''\n    return x + {i}\n\n" for i in range(24)
)


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    return fallback_model_path()


def load(path: Path, n_ctx: int = 1024, n_batch: int = 256) -> LlamaCppBackend:
    """A backend with a small context and batch, so tests see several prefill chunks."""
    return LlamaCppBackend(path, LoadSettings(n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_batch))


# llama-cpp-python's server builds ``Llama`` objects, which keep llama.cpp's "extra" CPU buffer
# types on; their AMX matmul segfaults on AMX-advertising sandboxed CPUs (see
# repoctx.llm.runtime.cpu_has_amx). The launcher turns them off, then runs the real server.
_LAUNCH = """
import runpy, sys
import llama_cpp
from repoctx.llm.runtime import cpu_has_amx
if cpu_has_amx():
    _default = llama_cpp.llama_model_default_params
    def _params():
        p = _default()
        p.use_extra_bufts = False
        return p
    llama_cpp.llama_model_default_params = _params
    llama_cpp.llama_cpp.llama_model_default_params = _params
sys.argv = ["llama_cpp.server", *sys.argv[1:]]
runpy.run_module("llama_cpp.server", run_name="__main__")
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A real ``python -m llama_cpp.server`` on 127.0.0.1, started and stopped by a test."""

    def __init__(self, model: Path, n_ctx: int = 2048, extra: tuple[str, ...] = ()) -> None:
        import subprocess
        import sys
        import time
        import urllib.request

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = ["--model", str(model), "--host", "127.0.0.1", "--port", str(self.port),
                "--n_ctx", str(n_ctx), "--verbose", "False", *extra]  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"llama_cpp.server exited: {err[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.url}/v1/models", timeout=1).read()
                return
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError("llama_cpp.server did not become ready in 120 s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture(scope="session")
def llama_server(gemma_path: Path) -> Iterator[Server]:
    server = Server(gemma_path)
    try:
        yield server
    finally:
        server.stop()
