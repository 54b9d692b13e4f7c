"""`repoctx hook run`: skip paths, start-up cost, settings, output and exit codes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_hook_common import REPOCTX, git, hook_env, init_repo, run_cli, write

from repoctx.budget import from_vram
from repoctx.cli.hook import render
from repoctx.errors import InputError
from repoctx.hook.run import machine_skip
from repoctx.hook.settings import Outcome, Settings, load_settings
from repoctx.llm.discover import Choice, resolve_model

HEAVY = ("llama_cpp", "openai", "textual", "rich", "tree_sitter", "numpy", "jinja2", "tiktoken",
         "gguf", "httpx", "pydantic", "repoctx.scanning.scan", "repoctx.scanning.repo",
         "repoctx.budget")  # fmt: skip


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo")


@pytest.fixture
def no_models(tmp_path: Path) -> dict[str, str]:
    """An environment where discovery finds no model anywhere."""
    home = tmp_path / "home"
    home.mkdir()
    env = hook_env(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    for var in ("HF_HUB_CACHE", "HF_HOME", "OLLAMA_MODELS", "XDG_CACHE_HOME"):
        env.pop(var, None)
    return env


def stage_change(root: Path) -> None:
    write(root, {"pkg/core.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n"
                                "    return a - b\n"})  # fmt: skip
    git(root, "add", "pkg/core.py")


def test_nothing_staged_is_fast_and_light(repo: Path) -> None:
    """Start-up is a feature: an empty commit pays for argparse, gitpython and two git calls."""
    best = min(_timed(repo) for _ in range(3))
    assert best < 1.5, f"`repoctx hook run` with nothing staged took {best:.2f} s"
    done = subprocess.run([sys.executable, "-X", "importtime", *REPOCTX[1:], "hook", "run"],
                          cwd=repo, capture_output=True, text=True, env=hook_env())  # fmt: skip
    assert done.returncode == 0
    assert "skipped: nothing staged" in done.stderr
    imported = set(re.findall(r"\|\s+([\w.]+)\s*$", done.stderr, re.MULTILINE))
    heavy = sorted(m for m in imported if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == [], f"heavy modules imported with nothing staged: {heavy}"


def _timed(repo: Path) -> float:
    began = time.perf_counter()
    done = run_cli(repo, "hook", "run")
    elapsed = time.perf_counter() - began
    assert done.returncode == 0 and "nothing staged" in done.stderr
    return elapsed


def test_every_command_module_is_light_at_import() -> None:
    """cli/__init__ imports every command module at start-up: all must stay argparse-only."""
    code = "from repoctx.cli import build_parser; build_parser()"
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                          capture_output=True, text=True)  # fmt: skip
    imported = set(re.findall(r"\|\s+([\w.]+)\s*$", done.stderr, re.MULTILINE))
    heavy = sorted(m for m in imported if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == [], f"command modules import heavy modules at start-up: {heavy}"


@pytest.mark.parametrize(("env", "expected"), [
    ({"REPOCTX_HOOK": "off"}, "skipped: REPOCTX_HOOK=off"),
    ({"REPOCTX_HOOK": "0"}, "skipped: REPOCTX_HOOK=off"),
    ({"SKIP": "flake8, repoctx-refactor"}, "skipped: SKIP=repoctx-refactor"),
])  # fmt: skip
def test_switches_skip_before_anything(repo: Path, env: dict[str, str], expected: str) -> None:
    stage_change(repo)
    done = run_cli(repo, "hook", "run", env={**hook_env(), **env})
    assert (done.returncode, done.stdout, done.stderr.strip()) == (0, "", f"repoctx: {expected}")


def test_skip_other_hook_ids_does_not_skip(repo: Path, no_models: dict[str, str]) -> None:
    stage_change(repo)
    done = run_cli(repo, "hook", "run", env={**no_models, "SKIP": "flake8"})
    assert "skipped: no model" in done.stderr


def test_no_model_skips_in_one_line(repo: Path, no_models: dict[str, str]) -> None:
    stage_change(repo)
    done = run_cli(repo, "hook", "run", env=no_models)
    assert done.returncode == 0 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("repoctx: skipped: no model")


def test_outside_git_and_merge_and_huge_diff(tmp_path: Path, repo: Path) -> None:
    outside = tmp_path / "plain"
    outside.mkdir()
    done = run_cli(outside, "hook", "run")
    assert done.returncode == 0 and "not inside a git repository" in done.stderr
    write(repo, {"big.py": "".join(f"x{i} = {i}\n" for i in range(50))})
    git(repo, "add", "big.py")
    done = run_cli(repo, "hook", "run", "--max-diff-lines", "10")
    assert done.returncode == 0 and "staged diff is large (50 lines > 10" in done.stderr
    git(repo, "commit", "-qm", "big")
    git(repo, "checkout", "-q", "-b", "other")
    write(repo, {"big.py": "y = 1\n"})
    git(repo, "commit", "-qam", "other")
    git(repo, "checkout", "-q", "main")
    write(repo, {"big.py": "z = 2\n"})
    git(repo, "commit", "-qam", "main")
    git(repo, "merge", "other", check=False)
    done = run_cli(repo, "hook", "run")
    assert (done.returncode, done.stderr.strip()) == (0, "repoctx: skipped: a merge commit")


def test_only_binary_or_deleted_changes(repo: Path) -> None:
    write(repo, {"logo.png": b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256))})
    git(repo, "add", "logo.png")
    git(repo, "rm", "-q", "README.md")
    done = run_cli(repo, "hook", "run")
    assert "only deletions, binary files or submodules staged" in done.stderr


def test_no_gpu_for_a_27b_model(repo: Path, qwen35_27b_gguf: Path) -> None:
    from repoctx.budget import detect

    if detect().is_gpu:
        pytest.skip("this machine has a GPU")
    stage_change(repo)
    done = run_cli(repo, "hook", "run", "--model", str(qwen35_27b_gguf))
    assert done.returncode == 0 and done.stdout == ""
    assert re.fullmatch(r"repoctx: skipped: no GPU for \S+ \(15\.\d GiB\); start `repoctx serve`"
                        r" on a machine with one, or set REPOCTX_SERVER\n", done.stderr)


def test_busy_gpu_is_a_skip(qwen35_27b_gguf: Path, qwen35_gguf: Path) -> None:
    """A card with 3 GiB free cannot hold 15 GiB of weights: skip, don't start crawling."""
    big = Choice(resolve_model(str(qwen35_27b_gguf), "test", ()), None, "test")
    why = machine_skip(big, from_vram("3GiB"))
    assert why is not None and why.startswith("skipped: GPU busy: 3.0 GiB free")
    small = Choice(resolve_model(str(qwen35_gguf), "test", ()), None, "test")
    assert machine_skip(small, from_vram("3GiB")) is None


def test_settings_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "r"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        "[tool.repoctx.hook]\nfail-on = 'high'\ntimeout = 30\nmax_suggestions = 3\n")
    user = tmp_path / "config" / "repoctx"
    user.mkdir(parents=True)
    (user / "config.toml").write_text("[hook]\ntimeout = 10\nbudget = 4096\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    got = load_settings(root, {"max_suggestions": 7, "fail_on": None})
    assert (got.fail_on, got.timeout_s, got.max_suggestions, got.budget) == ("high", 30, 7, 4096)
    (root / "pyproject.toml").write_text("[tool.repoctx.hook]\nfial_on = 'high'\ntimeout = 5\n")
    got = load_settings(root, {})  # advisory: reported and ignored, the rest still applies
    assert got.problems == ("[tool.repoctx.hook]: unknown setting 'fial_on'",)
    assert got.timeout_s == 5
    with pytest.raises(InputError, match=r"unknown setting 'fial_on'.*fail_on is 'high'"):
        load_settings(root, {"fail_on": "high"})
    with pytest.raises(InputError, match="timeout must be a positive"):
        load_settings(root, {"timeout_s": float("inf")})


def test_bad_setting_is_reported_not_fatal(repo: Path) -> None:
    (repo / "pyproject.toml").write_text("[tool.repoctx.hook]\nfail_on = 'sometimes'\n")
    stage_change(repo)
    done = run_cli(repo, "hook", "run")
    assert done.returncode == 0
    assert done.stderr.startswith("repoctx: config ignored: [tool.repoctx.hook]: fail_on must "
                                  "be one of never, high")  # fmt: skip


FINDINGS = [
    {"path": "a.py", "line": 3, "severity": "high", "category": "bug", "message": "Off by one.",
     "suggestion": "Use <=."},
    {"path": "a.py", "line": 9, "severity": "low", "category": "refactor",
     "message": "Long\nfunction.", "suggestion": "Split it."},
    {"path": "b/c.py", "line": 1, "severity": "info", "category": "test", "message": "x" * 300,
     "suggestion": "Add a test."},
]  # fmt: skip


def test_render_groups_by_file_with_path_line() -> None:
    out = Outcome("suggestions", findings=FINDINGS, model="m", via="repoctx serve",
                  timings={"total": 2.25}, summary="Fine overall.")  # fmt: skip
    lines = render(out)
    assert lines[0] == "repoctx: 3 refactor suggestions · m via repoctx serve · 2.2 s"
    assert lines[1] == "a.py"
    assert lines[2] == "  a.py:3: high bug: Off by one. → Use <=."
    assert lines[3] == "  a.py:9: low refactor: Long function. → Split it."
    assert lines[4] == "b/c.py" and lines[5].startswith("  b/c.py:1: info test: xxx")
    assert len(lines[5]) < 200 and "…" in lines[5]
    assert render(Outcome("skipped", "skipped: nothing staged")) == [
        "repoctx: skipped: nothing staged"]
    assert render(Outcome("error", "server died"))[0].startswith("repoctx: skipped after an error")


@pytest.mark.parametrize(("fail_on", "code"), [
    ("never", 0), ("high", 1), ("medium", 1), ("low", 1), ("info", 1)])
def test_fail_on_threshold(fail_on: str, code: int) -> None:
    assert Outcome("suggestions", findings=FINDINGS).exit_code(fail_on) == code
    low = [f for f in FINDINGS if f["severity"] != "high"]
    assert Outcome("suggestions", findings=low).exit_code("high") == 0
    assert Outcome("suggestions", findings=low).exit_code("medium") == 0
    # a time-out is advisory whatever it found
    assert Outcome("timeout", findings=FINDINGS).exit_code(fail_on) == 0


def test_defaults() -> None:
    s = Settings()
    assert (s.fail_on, s.max_suggestions, s.timeout_s) == ("never", 5, 90.0)
    assert os.environ.get("REPOCTX_HOOK") is None
