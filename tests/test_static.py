"""The static checks run inside the test suite, so the README's test command is CI's check:
mypy --strict over repoctx/ (settings in pyproject.toml), ruff over the code, its tests and
the benchmarks, and docs/cli.md equal to what ``--help`` prints now (bench/cli_doc.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True)  # fmt: skip


def test_mypy_strict() -> None:
    done = _run("mypy")  # [tool.mypy]: strict, packages = ["repoctx"]
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff() -> None:
    done = _run("ruff", "check", "repoctx", "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr


def test_cli_reference_is_current() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "cli_doc.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
