"""Real `git commit`s through the hook, installed both ways, against a real model server:
the plain .git/hooks/pre-commit from `repoctx hook install`, and the pre-commit framework
(PyPI's `pre-commit`) running our .pre-commit-hooks.yaml from a local hook repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_hook_common import (
    SOURCES,
    Served,
    git,
    hook_env,
    init_repo,
    run_cli,
    served,
    write,
)

__all__ = ["served"]
MANIFEST = Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml"
pytestmark = pytest.mark.slow


def committing_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """PATH finds this interpreter's `repoctx`; pre-commit keeps its cache in tmp."""
    bin_dir = str(Path(sys.executable).parent)
    return hook_env(PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                    PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), **extra)  # fmt: skip


def git_commit(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-m", "change", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


def stage(root: Path) -> None:
    write(root, {"pkg/core.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n"
                                "    return a - b\n"})  # fmt: skip
    git(root, "add", "pkg/core.py")


def test_plain_hook_commit_and_commit_all(tmp_path: Path, served: Served) -> None:
    root = init_repo(tmp_path / "repo", {**SOURCES, "pyproject.toml":
                     "[tool.repoctx.hook]\nbudget = 1024\nmax_suggestions = 2\n"})  # fmt: skip
    assert run_cli(root, "hook", "install").returncode == 0
    env = committing_env(tmp_path, REPOCTX_SERVER=served.url)
    stage(root)
    write(root, {"README.md": "# demo, not staged\n"})
    head = git(root, "rev-parse", "HEAD")
    done = git_commit(root, env)
    assert done.returncode == 0, done.stderr
    assert git(root, "rev-parse", "HEAD^") == head
    lines = [line for line in (done.stdout + done.stderr).splitlines() if "repoctx" in line]
    assert lines and "via server from REPOCTX_SERVER" in lines[0], done.stderr
    assert (root / "README.md").read_text() == "# demo, not staged\n"  # untouched
    assert git(root, "status", "--porcelain") == " M README.md\n"
    done = git_commit(root, env, "-a")  # git hands the hook a temporary index
    assert done.returncode == 0 and "via server from REPOCTX_SERVER" in done.stderr
    assert git(root, "show", "HEAD:README.md") == "# demo, not staged\n"


def hook_repo(tmp_path: Path) -> tuple[Path, str]:
    """Our manifest in a local git repo, with `language: system` so pre-commit installs
    nothing (offline); everything else is the manifest users get."""
    repo = init_repo(tmp_path / "hook-repo", {"README.md": "hooks\n"})
    text = MANIFEST.read_text()
    assert "language: python" in text
    write(repo, {".pre-commit-hooks.yaml": text.replace("language: python", "language: system")})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hooks")
    return repo, git(repo, "rev-parse", "HEAD").strip()


def test_manifest_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest  # type: ignore[import-untyped]

    (hook,) = load_manifest(str(MANIFEST))
    assert (hook["id"], hook["entry"], hook["language"]) == (
        "repoctx-refactor", "repoctx hook run", "python")
    assert hook["verbose"] and not hook["pass_filenames"] and hook["stages"] == ["pre-commit"]


@pytest.mark.parametrize("style", ["hook-repo", "local"])
def test_pre_commit_framework_commit(tmp_path: Path, served: Served, style: str) -> None:
    # pre-commit is pinned in the [test] extra: missing, it is a broken install, not a skip
    assert shutil.which("pre-commit", path=str(Path(sys.executable).parent)) is not None
    root = init_repo(tmp_path / "repo")
    if style == "hook-repo":
        hooks, rev = hook_repo(tmp_path)
        config = (f"repos:\n- repo: {hooks}\n  rev: {rev}\n  hooks:\n  - id: repoctx-refactor\n"
                  "    args: [--budget, '1024', --max-suggestions, '2']\n")  # fmt: skip
    else:
        config = ("repos:\n- repo: local\n  hooks:\n  - id: repoctx-refactor\n"
                  "    name: repoctx refactor suggestions\n    entry: repoctx hook run\n"
                  "    language: system\n    pass_filenames: false\n    verbose: true\n"
                  "    args: [--budget, '1024', --max-suggestions, '2']\n")  # fmt: skip
    write(root, {".pre-commit-config.yaml": config})
    git(root, "add", ".pre-commit-config.yaml")
    git(root, "commit", "-q", "-m", "config", "--no-verify")
    env = committing_env(tmp_path, REPOCTX_SERVER=served.url)
    installed = subprocess.run([str(Path(sys.executable).parent / "pre-commit"), "install"],
                               cwd=root, env=env, capture_output=True, text=True)  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    stage(root)
    done = git_commit(root, env)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "repoctx refactor suggestions" in out and "Passed" in out
    assert "via server from REPOCTX_SERVER" in out  # verbose: our output is shown
    assert git(root, "log", "-1", "--format=%s") == "change\n"


@pytest.fixture(scope="module")
def gemma() -> Path:
    """The embedded Gemma 270M: a real (tiny) model, for behaviour that holds whatever it says."""
    from repoctx.llm.fallback import fallback_model_path

    return fallback_model_path()


@pytest.fixture()
def scripted() -> Iterator[str]:
    """An OpenAI-compatible server on 127.0.0.1 that answers one fixed finding (no model)."""
    from fault_servers import start, stop

    proc, url = start("findings")
    yield url
    stop(proc)


def test_fail_on_blocks_the_commit_and_skip_lets_it_through(tmp_path: Path, scripted: str) -> None:
    """The protocol, pinned with a scripted server named in [tool.repoctx.hook]: its one
    finding at pkg/core.py:5 is shown under its file, fail_on from config stops the commit,
    and SKIP lets it through."""
    root = init_repo(tmp_path / "repo", {**SOURCES, "pyproject.toml":
                     f"[tool.repoctx.hook]\nserver = '{scripted}'\nbudget = 1024\n"
                     "max_suggestions = 1\nfail_on = 'info'\n"})  # fmt: skip
    assert run_cli(root, "hook", "install").returncode == 0
    env = committing_env(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    stage(root)
    head = git(root, "rev-parse", "HEAD")
    done = git_commit(root, env)
    assert done.returncode == 1, done.stderr
    assert "1 refactor suggestion · fault-model" in done.stderr
    assert "\npkg/core.py\n  pkg/core.py:5" in done.stderr
    assert "sub duplicates add's shape." in done.stderr
    assert "commit stopped: 1 finding(s) at or above 'info'" in done.stderr
    assert git(root, "rev-parse", "HEAD") == head
    done = git_commit(root, {**env, "SKIP": "repoctx-refactor"})
    assert done.returncode == 0 and "skipped: SKIP=repoctx-refactor" in done.stderr
    assert git(root, "rev-parse", "HEAD") != head


def test_a_local_gguf_from_config_runs_in_the_hook(tmp_path: Path, gemma: Path) -> None:
    """A local GGUF (loaded cold in the hook) named in [tool.repoctx]: whatever the real model
    says, the hook names it, and the commit is stopped exactly when it reports a finding at
    or above fail_on."""
    root = init_repo(tmp_path / "repo", {**SOURCES, "pyproject.toml":
                     f"[tool.repoctx]\nmodel = '{gemma}'\n\n[tool.repoctx.hook]\n"
                     "budget = 1024\nmax_suggestions = 1\nfail_on = 'info'\n"})  # fmt: skip
    assert run_cli(root, "hook", "install").returncode == 0
    env = committing_env(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    stage(root)
    head = git(root, "rev-parse", "HEAD")
    done = git_commit(root, env)
    assert "gemma-3-270m" in done.stderr and "Traceback" not in done.stderr
    stopped = "commit stopped:" in done.stderr
    assert done.returncode == (1 if stopped else 0), done.stderr
    assert (git(root, "rev-parse", "HEAD") == head) == stopped


BAD_CONFIGS = {
    "toml error elsewhere": ("[tool.repoctx.hook]\nbudget = 1024\n[tool.other]\nx = = 1\n",
                             "cannot read config"),
    "timeout not a number": ("[tool.repoctx.hook]\ntimeout = \"abc\"\n", "timeout must be"),
    "timeout infinite": ("[tool.repoctx.hook]\ntimeout = inf\n", "timeout must be"),
    "timeout a bool": ("[tool.repoctx.hook]\ntimeout = true\n", "timeout must be"),
    "fail_on bogus": ("[tool.repoctx.hook]\nfail_on = \"bogus\"\n", "fail_on must be one of"),
    "unknown key": ("[tool.repoctx.hook]\nfial_on = \"high\"\n", "unknown setting 'fial_on'"),
    "budget a string": ("[tool.repoctx.hook]\nbudget = \"4k\"\n", "budget must be a positive"),
    "max_suggestions zero": ("[tool.repoctx.hook]\nmax_suggestions = 0\n",
                             "max_suggestions must be a positive"),
    "hook not a table": ("[tool.repoctx]\nhook = 3\n", "must be a table"),
    "server not a string": ("[tool.repoctx.hook]\nserver = 5\n", "server must be a string"),
    "redaction off in config": ("[tool.repoctx.hook]\nno_redact = true\n", "redaction"),
    "tool not a table": ("tool = 3\n", "unreachable"),  # no repoctx config at all
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_bad_config_is_reported_and_the_commit_goes_through(tmp_path: Path, name: str) -> None:
    """Advisory: a staged pyproject.toml the hook cannot use never blocks a commit."""
    text, message = BAD_CONFIGS[name]
    root = init_repo(tmp_path / "repo", SOURCES)
    assert run_cli(root, "hook", "install").returncode == 0
    write(root, {"pyproject.toml": text})
    git(root, "add", "pyproject.toml")
    stage(root)
    env = committing_env(tmp_path, REPOCTX_SERVER="http://127.0.0.1:9",
                         XDG_CONFIG_HOME=str(tmp_path / "cfg"))  # fmt: skip
    head = git(root, "rev-parse", "HEAD")
    done = git_commit(root, env)
    assert done.returncode == 0, done.stderr
    assert git(root, "rev-parse", "HEAD^") == head
    assert "Traceback" not in done.stderr
    assert message in done.stderr, done.stderr
    assert ("repoctx: config ignored" in done.stderr) == (name != "tool not a table")


def test_bad_config_blocks_when_fail_on_is_validly_set(tmp_path: Path) -> None:
    """With a valid blocking ``fail_on``, the user asked for strictness: a config error stops."""
    root = init_repo(tmp_path / "repo", SOURCES)
    assert run_cli(root, "hook", "install").returncode == 0
    write(root, {"pyproject.toml": "[tool.repoctx.hook]\nfail_on = \"high\"\ntimeout = \"abc\"\n"})
    git(root, "add", "pyproject.toml")
    stage(root)
    env = committing_env(tmp_path, REPOCTX_SERVER="http://127.0.0.1:9",
                         XDG_CONFIG_HOME=str(tmp_path / "cfg"))  # fmt: skip
    head = git(root, "rev-parse", "HEAD")
    done = git_commit(root, env)
    assert done.returncode != 0
    assert git(root, "rev-parse", "HEAD") == head
    lines = [line for line in done.stderr.splitlines() if line.startswith("repoctx:")]
    assert lines and "timeout must be" in lines[0] and "fail_on is 'high'" in lines[0]
    assert "Traceback" not in done.stderr
