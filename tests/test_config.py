"""repoctx.config: one precedence rule, one error for a bad value, one documented table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from repoctx import config
from repoctx.cli import main
from repoctx.errors import InputError

DOCS = Path(__file__).parent.parent / "docs" / "config.md"


def _files(tmp_path: Path, project: str, user: str) -> tuple[Path, dict[str, str]]:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text(project, encoding="utf-8")
    home = tmp_path / "xdg"
    (home / "repoctx").mkdir(parents=True)
    (home / "repoctx" / "config.toml").write_text(user, encoding="utf-8")
    return repo, {"XDG_CONFIG_HOME": str(home)}


def test_one_precedence_rule(tmp_path: Path) -> None:
    repo, env = _files(tmp_path, '[tool.repoctx]\nmodel = "project"\n', 'model = "user"\n')
    assert config.value("model", cli="cli", repo=repo, env={**env, "REPOCTX_MODEL": "e"}) == "cli"
    assert config.value("model", repo=repo, env={**env, "REPOCTX_MODEL": "e"}) == "e"
    assert config.value("model", repo=repo, env=env) == "project"
    assert config.value("model", repo=None, env=env) == "user"
    assert config.value("model", repo=None, env={"XDG_CONFIG_HOME": str(tmp_path / "none")}) \
        is None


def test_user_config_under_a_repoctx_table_and_hook_keys(tmp_path: Path) -> None:
    repo, env = _files(tmp_path, "[tool.repoctx.hook]\nmax-suggestions = 3\n",
                       '[repoctx]\nserver = "http://u"\n[repoctx.hook]\ntimeout = 5\n')
    assert config.value("server", repo=repo, env=env) == "http://u"
    assert config.value("hook.max_suggestions", repo=repo, env=env) == 3
    assert config.value("hook.timeout", repo=repo, env=env) == 5.0


def test_machine_settings_never_come_from_a_repository(tmp_path: Path) -> None:
    repo, env = _files(tmp_path, '[tool.repoctx]\ncache_dir = "/tmp/x"\nworkers = 64\n', "")
    assert config.value("cache_dir", repo=repo, env=env) is None
    assert config.value("workers", repo=repo, env=env) is None


@pytest.mark.parametrize(("var", "raw", "message"), [
    ("REPOCTX_WORKERS", "abc", "REPOCTX_WORKERS must be a positive integer, not 'abc'"),
    ("REPOCTX_WORKERS", "0", "REPOCTX_WORKERS must be a positive integer, not '0'"),
    ("REPOCTX_STATE_CACHE", "lots",
     "REPOCTX_STATE_CACHE must be a size like 8G, 512MiB or 20GB, or off, not 'lots'"),
    ("REPOCTX_SERVER_TIMEOUT", "inf",
     "REPOCTX_SERVER_TIMEOUT must be a positive number of seconds, not 'inf'"),
    ("REPOCTX_CHECKPOINT_TOKENS", "-5",
     "REPOCTX_CHECKPOINT_TOKENS must be a positive integer, not '-5'"),
])  # fmt: skip
def test_a_bad_variable_is_one_line_exit_2(tmp_path: Path, var: str, raw: str,
                                           message: str) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", var: raw, "REPOCTX_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "repoctx", "pack", str(tmp_path)],
                          capture_output=True, text=True, env=env)  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"repoctx: {message}\n")


def test_good_variables_are_typed() -> None:
    env = {"REPOCTX_WORKERS": "3", "REPOCTX_STATE_CACHE": "20GB",
           "REPOCTX_SERVER_TIMEOUT": "2.5", "REPOCTX_CACHE_DIR": "~/c"}
    assert config.workers(env) == 3 and config.state_cache(env) == 20 * 10**9
    assert config.server_timeout(env) == 2.5 and config.cache_dir(env) == Path("~/c").expanduser()
    assert config.state_cache({"REPOCTX_STATE_CACHE": "off"}) == 0
    assert config.workers({}) is None and config.server_timeout({}) == 600.0
    config.check_environment(env)


def test_a_bad_config_value_names_the_file_and_key(tmp_path: Path) -> None:
    repo, env = _files(tmp_path, '[tool.repoctx]\nparallel = "two"\n', "")
    with pytest.raises(InputError, match=r"pyproject.toml \[tool.repoctx\]: parallel must be a "
                                         r"positive integer, not 'two'$"):
        config.value("parallel", repo=repo, env=env)
    with pytest.raises(InputError, match="unknown setting 'fial_on'"):
        config.check("hook.fial_on", "high", "[tool.repoctx.hook]")


def test_the_hook_ignores_a_bad_variable_it_does_not_read(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPOCTX_WORKERS", "abc")
    monkeypatch.chdir(tmp_path)  # not a git repository: the hook says so and exits 0
    code = main(["hook", "run"])
    assert code == 0, capsys.readouterr().err


def test_docs_table_is_the_settings_table() -> None:
    assert config.table_markdown() in DOCS.read_text(encoding="utf-8")
    keys = {s.key for s in config.SETTINGS}
    assert {"model", "server", "workers", "state_cache", "cache_dir", "hook.fail_on"} <= keys


def test_every_repoctx_variable_the_code_reads_is_in_the_table() -> None:
    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in (Path(config.__file__).parent).rglob("*.py"))
    import re

    used = set(re.findall(r"\bREPOCTX_[A-Z_]+[A-Z]\b", source))
    assert used <= set(config.BY_ENV), used - set(config.BY_ENV)
