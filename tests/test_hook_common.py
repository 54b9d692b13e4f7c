"""Shared helpers for the hook and serve tests (no tests here): real git repos made with the
git command line, a real ``repoctx serve`` process on 127.0.0.1 with a tiny real GGUF, and a
snapshot of everything the hook must never change.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import bad_inputs
import pytest

from repoctx.serve.client import wait_ready

REPOCTX = [sys.executable, "-c", "import sys; from repoctx.cli import main; sys.exit(main())"]
FAST_HOOK = ("--budget", "1024", "--max-suggestions", "2")  # small prompts: seconds on a CPU

SOURCES = {
    "pkg/__init__.py": "",
    "pkg/core.py": "def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n",
    "pkg/app.py": "from pkg.core import add\n\n\ndef main():\n    return add(1, 2)\n",
    "tests/test_core.py": "from pkg.core import add\n\n\ndef test_add():\n"
                          "    assert add(1, 2) == 3\n",
    "README.md": "# demo\n",
}


def git(cwd: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def init_repo(root: Path, files: Mapping[str, str | bytes] = SOURCES, *,
              commit: bool = True) -> Path:  # fmt: skip
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.com")
    git(root, "config", "commit.gpgsign", "false")
    write(root, files)
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
    return root


def write(root: Path, files: Mapping[str, str | bytes]) -> None:
    bad_inputs.write(root, files)


def snapshot(root: Path) -> dict[str, object]:
    """Everything the hook must leave alone: status, stashes, index bytes, HEAD, refs, files."""
    git_dir = Path(git(root, "rev-parse", "--absolute-git-dir").strip())
    index = git_dir / "index"
    files = {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts
    }  # fmt: skip
    return {
        "status": git(root, "status", "--porcelain=v2", "--untracked-files=all"),
        "stash": git(root, "stash", "list"),
        "index": hashlib.sha256(index.read_bytes()).hexdigest() if index.exists() else None,
        "head": git(root, "rev-parse", "--verify", "-q", "HEAD", check=False),
        "refs": git(root, "for-each-ref"),
        "files": files,
    }


def hook_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SKIP", "REPOCTX_HOOK", "REPOCTX_SERVE_KEY")}  # the developer's own
    env.update(extra)
    return env


def run_cli(cwd: Path, *args: str, env: Mapping[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run([*REPOCTX, *args], cwd=cwd, env=dict(env or hook_env()),
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[str]
    cache_dir: Path
    log: Path


def start_serve(model: Path, cache_dir: Path, *, ctx: int = 8192, args: tuple[str, ...] = (),
                **env_extra: str) -> Served:  # fmt: skip
    """A real ``repoctx serve`` on a free port; its state file goes to ``cache_dir``."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    log = cache_dir / "serve.log"
    env = hook_env(REPOCTX_CACHE_DIR=str(cache_dir), **env_extra)
    proc = subprocess.Popen(
        [*REPOCTX, "serve", "--model", str(model), "--port", "0", "--ctx", str(ctx), "-v", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"), text=True,
    )  # fmt: skip
    from repoctx.running import read_state

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = read_state(env)
        if state is not None and state.pid == proc.pid and wait_ready(
                state.url, 5, key=state.api_key or None):
            return Served(state.url, proc, cache_dir, log)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise AssertionError(f"repoctx serve did not start: {log.read_text()}")


def stop_serve(served: Served) -> None:
    if served.proc.poll() is None:
        served.proc.send_signal(signal.SIGTERM)
        try:
            served.proc.wait(20)
        except subprocess.TimeoutExpired:
            served.proc.kill()
            served.proc.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``repoctx serve`` with the tiny qwen35 hybrid (real Qwen 3.5 vocabulary)."""
    from ggufgen import cached_qwen35_hybrid

    server = start_serve(cached_qwen35_hybrid(), tmp_path_factory.mktemp("serve-cache"))
    yield server
    stop_serve(server)
