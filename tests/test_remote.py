"""Remote repositories: ``repoctx pack|review|graph URL[@REF][#SUBDIR]`` on real git repos that
the tests create and serve as file:// URLs (the clone, fetch and checkout are git's own)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import git
import pytest

from repoctx.cli import main
from repoctx.errors import InputError
from repoctx.remote import is_remote, mask, parse_spec, repos_dir


def _commit(repo: git.Repo, files: dict[str, str], message: str) -> str:
    root = Path(repo.working_tree_dir or ".")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    repo.index.add(list(files))
    return repo.index.commit(message, author=git.Actor("t", "t@example.com")).hexsha


@pytest.fixture
def origin(tmp_path: Path) -> tuple[git.Repo, str]:
    """A repository with two commits on main, a tag v1 on the first, a branch feature/x."""
    repo = git.Repo.init(tmp_path / "origin" / "proj", initial_branch="main")
    _commit(repo, {"app/main.py": "from app import util\n\nprint(util.VALUE)\n",
                   "app/util.py": "VALUE = 1\n", "app/__init__.py": "",
                   "README.md": "# proj\n"}, "one")
    repo.create_tag("v1")
    _commit(repo, {"app/util.py": "VALUE = 2\n\ndef second():\n    return 2\n"}, "two")
    repo.git.branch("feature/x")
    return repo, (tmp_path / "origin" / "proj").as_uri()


def _pack(spec: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["pack", spec, "--budget", "4k", "--format", "markdown"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(("text", "url", "ref", "subdir"), [
    ("https://github.com/o/r", "https://github.com/o/r", None, None),
    ("https://github.com/o/r.git@v1.2#src/lib", "https://github.com/o/r.git", "v1.2", "src/lib"),
    ("https://tok:pw@host.example/o/r@feature/x", "https://tok:pw@host.example/o/r",
     "feature/x", None),
    ("git@github.com:o/r.git", "git@github.com:o/r.git", None, None),
    ("git@github.com:o/r.git@main", "git@github.com:o/r.git", "main", None),
    ("ssh://git@host:2222/o/r@" + "a" * 40, "ssh://git@host:2222/o/r", "a" * 40, None),
    ("file:///tmp/x/proj#pkg", "file:///tmp/x/proj", None, "pkg"),
])
def test_spec_syntax(text: str, url: str, ref: str | None, subdir: str | None) -> None:
    """The ref's @ is the first after the host: user@ and credentials are never a ref."""
    assert is_remote(text)
    spec = parse_spec(text)
    assert (spec.url, spec.ref, spec.subdir) == (url, ref, subdir)


@pytest.mark.parametrize("text", [".", "src", "a:b", "C:/work/x", "user@host", "./git@x:y"])
def test_local_paths_are_not_urls(text: str) -> None:
    assert not is_remote(text)


@pytest.mark.parametrize("text", ["https://h/o/r@", "https://h/o/r#../../etc",
                                  "https://h/o/r@--upload-pack=x", "https://h"])
def test_bad_specs_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        parse_spec(text)


def test_credentials_are_masked() -> None:
    assert mask("https://user:sekret@host/o/r") == "https://***@host/o/r"
    assert mask("https://ghp_token@host/o/r") == "https://***@host/o/r"
    assert parse_spec("https://a:sekret@h/o/r@v1").shown == "https://***@h/o/r@v1"
    assert mask("git@github.com:o/r") == "git@github.com:o/r"


def test_pack_default_branch_tag_branch_commit_and_subdir(
        origin: tuple[git.Repo, str], capsys: pytest.CaptureFixture[str]) -> None:
    repo, url = origin
    code, out, err = _pack(url, capsys)
    assert code == 0 and "VALUE = 2" in out and "def second" in out
    assert f"repoctx: {url}: receiving objects" in err  # not a TTY: one plain line per phase
    assert len([line for line in err.splitlines() if "receiving objects" in line]) == 1
    code, out, _ = _pack(f"{url}@v1", capsys)
    assert code == 0 and "VALUE = 1" in out and "def second" not in out
    code, out, _ = _pack(f"{url}@feature/x", capsys)
    assert code == 0 and "VALUE = 2" in out
    first = repo.commit("v1").hexsha
    code, out, _ = _pack(f"{url}@{first}", capsys)
    assert code == 0 and "VALUE = 1" in out
    code, out, _ = _pack(f"{url}@v1#app", capsys)
    assert code == 0 and "util.py" in out and "README.md" not in out
    checkouts = list(repos_dir().glob("*/proj"))
    assert len(checkouts) == 4  # one per ref (default, v1, feature/x, sha); #app shares v1
    shallow = git.Repo(checkouts[0])
    assert len(list(shallow.iter_commits())) == 1  # --depth 1


def test_a_branch_is_refreshed_and_a_commit_reused(
        origin: tuple[git.Repo, str], capsys: pytest.CaptureFixture[str]) -> None:
    repo, url = origin
    assert _pack(url, capsys)[0] == 0
    _commit(repo, {"app/util.py": "VALUE = 3\n"}, "three")
    code, out, _ = _pack(url, capsys)
    assert code == 0 and "VALUE = 3" in out  # the default branch follows the remote
    sha = repo.head.commit.hexsha
    assert _pack(f"{url}@{sha}", capsys)[0] == 0
    (Path(repo.working_tree_dir or ".") / ".git").rename(Path(repo.working_tree_dir or ".")
                                                         / "moved.git")
    code, out, err = _pack(f"{url}@{sha}", capsys)  # immutable: no fetch, the remote is gone
    assert code == 0 and "VALUE = 3" in out
    code, out, err = _pack(url, capsys)  # a branch whose remote is gone: the cached checkout
    assert code == 0 and "VALUE = 3" in out and "using the cached checkout" in err


@pytest.mark.parametrize("suffix", ["@no-such-branch", "@" + "0" * 40])
def test_a_missing_ref_is_one_line_exit_2(origin: tuple[git.Repo, str], suffix: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    _, url = origin
    code, out, err = _pack(url + suffix, capsys)
    lines = [line for line in err.splitlines() if "objects" not in line and "deltas" not in line]
    assert code == 2 and out == ""
    assert lines == [f"repoctx: {url}{suffix}: no branch, tag or commit {suffix[1:]!r} in {url}"]
    assert not any(repos_dir().glob("*/*"))  # the partial clone is gone


def test_a_missing_repository_is_one_line_exit_2(tmp_path: Path) -> None:
    url = (tmp_path / "nowhere").as_uri()
    result = subprocess.run([sys.executable, "-m", "repoctx", "graph", url],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith(f"repoctx: cannot clone {url}: ")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_credentials_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _pack("https://someone:sekret-token@127.0.0.1:9/o/r.git", capsys)
    assert code == 2 and "sekret" not in err and "***@127.0.0.1" in err


def test_size_cap_stops_the_clone_and_keeps_nothing(
        origin: tuple[git.Repo, str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo, url = origin
    _commit(repo, {"big.txt": "".join(f"line {i} {'x' * 60}\n" for i in range(40_000))}, "big")
    monkeypatch.setenv("REPOCTX_REMOTE_MAX_BYTES", "200K")
    code, out, err = _pack(url, capsys)
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == (f"repoctx: {url}: the checkout is larger than the "
                                    "200.0 KiB cap (REPOCTX_REMOTE_MAX_BYTES raises it); "
                                    "nothing was kept")
    assert not any(repos_dir().glob("*/*"))
    monkeypatch.setenv("REPOCTX_REMOTE_MAX_BYTES", "lots")
    assert _pack(url, capsys)[0] == 2


def test_a_missing_subdirectory(origin: tuple[git.Repo, str],
                                capsys: pytest.CaptureFixture[str]) -> None:
    _, url = origin
    code, _, err = _pack(f"{url}#nope", capsys)
    assert code == 2 and err.splitlines()[-1] == f"repoctx: {url}#nope: no directory 'nope' " \
                                                 "in the repository"


def test_graph_and_cache_info_clear(origin: tuple[git.Repo, str],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    _, url = origin
    assert main(["graph", url]) == 0
    graph = json.loads(capsys.readouterr().out)
    assert {"source": "app/main.py", "target": "app/util.py", "kind": "import"} in graph["edges"]
    assert main(["cache", "info", "--json"]) == 0
    repos = json.loads(capsys.readouterr().out)["repos"]
    assert repos["entries"] == 1 and repos["checkouts"][0]["origin"] == url
    assert repos["checkouts"][0]["name"] == "proj" and repos["bytes"] > 0
    assert main(["cache", "info"]) == 0
    assert f"proj: {url}" in capsys.readouterr().out
    assert main(["cache", "clear", "--repos"]) == 0
    assert not repos_dir().exists()


@pytest.mark.slow
def test_review_of_a_file_url_on_the_fallback_model(origin: tuple[git.Repo, str]) -> None:
    """End to end: clone, scan, facts, the embedded Gemma's review, as a user runs it."""
    _, url = origin
    result = subprocess.run([sys.executable, "-m", "repoctx", "review", f"{url}@v1",
                             "--max-tokens", "48"],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    assert "# repoctx review: proj" in result.stdout
    assert "Static facts" in result.stdout and "Traceback" not in result.stderr
    assert "model: " in result.stdout + result.stderr
