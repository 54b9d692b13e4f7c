"""Smoke test in a real terminal: ``repoctx tui fixtures/pack-small`` inside tmux with the
embedded fallback model; type a question, read the answer back with ``capture-pane``, quit.

Needs the ``tmux`` binary (``apt-get install tmux``); skipped with that reason without it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

PACK_SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "pack-small"
TMUX = shutil.which("tmux")
SUMMARY = re.compile(r"▕ \d[\d,]* tokens · [\d.,]+ tok/s")  # the answer summary line

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)"),
]


class Terminal:
    """One tmux server on a private socket, one 100×30 window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        assert TMUX is not None
        done = subprocess.run([TMUX, "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=30, check=False)  # fmt: skip
        if done.returncode and args[0] in ("new-session", "send-keys"):
            pytest.fail(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "repoctx")

    def wait(self, ready: Callable[[str], bool], what: str, timeout: float = 240) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.screen()
            if ready(text):
                return text
            time.sleep(0.5)
        raise AssertionError(f"no {what} after {timeout} s; the screen:\n{self.screen()}")


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(f"repoctx-test-{os.getpid()}")
    env = {
        "HF_HUB_CACHE": str(tmp_path / "hf"), "OLLAMA_MODELS": str(tmp_path / "ollama"),
        "XDG_CONFIG_HOME": os.environ["XDG_CONFIG_HOME"],
        "REPOCTX_CACHE_DIR": os.environ["REPOCTX_CACHE_DIR"], "TERM": "xterm-256color",
    }  # fmt: skip
    command = [sys.executable, "-m", "repoctx", "tui", str(PACK_SMALL),
               "--budget", "550", "--max-tokens", "12"]  # fmt: skip
    # COLUMNS/LINES from the test process would override the pane's real size
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    script = (f"env -u COLUMNS -u LINES {assignments} {shlex.join(command)}; "
              "echo REPOCTX-EXIT=$?; sleep 60")  # fmt: skip
    term.tmux("new-session", "-d", "-s", "repoctx", "-x", "100", "-y", "30", script)
    try:
        yield term
    finally:
        term.tmux("kill-server")


def test_ask_in_a_real_terminal(terminal: Terminal) -> None:
    screen = terminal.wait(lambda s: "cold: next question reads the repo" in s, "packed repo")
    assert "embedded fallback" in screen and "pricing.py S" in screen
    terminal.tmux("send-keys", "-t", "repoctx", "What does pricing.py compute?", "Enter")
    screen = terminal.wait(lambda s: SUMMARY.search(s) is not None, "answer summary")
    lines = screen.splitlines()
    asked = next(i for i, line in enumerate(lines) if "› What does pricing.py compute?" in line)
    summary = next(i for i, line in enumerate(lines) if SUMMARY.search(line))
    answer = [line.split("▕", 1)[-1].strip() for line in lines[asked + 1 : summary]]
    assert any(answer), f"no answer text between question and summary:\n{screen}"
    assert "warm: repo kept" in screen
    terminal.tmux("send-keys", "-t", "repoctx", "C-q")
    terminal.wait(lambda s: "REPOCTX-EXIT=0" in s, "clean exit", timeout=60)
