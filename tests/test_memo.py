"""The pack memo: a repeated `repoctx pack` of an unchanged repository is recalled, not
rebuilt, and gives the same bytes; any change that could alter the pack is a miss."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import git
import pytest
from conftest import RepoFactory

from repoctx import api
from repoctx.cli import main
from repoctx.scanning import memo

FILES = {
    "app/__init__.py": "",
    "app/core.py": "def core() -> int:\n    return 1\n",
    "app/main.py": "from app.core import core\n\n\ndef main() -> int:\n    return core()\n",
    "README.md": "# demo\n",
    "data.bin": b"\0\1\2",
    "bad.py": "def broken(:\n",
}

Run = Callable[..., tuple[str, str, str]]


@pytest.fixture
def trusted_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files written by the test are seconds old at most: trust their signatures anyway."""
    monkeypatch.setattr(memo, "RACY_NS", 0)


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    """`repoctx pack ROOT ARGS… -o F --manifest M` → (prompt, manifest text, stderr)."""

    def invoke(root: Path, *args: str) -> tuple[str, str, str]:
        out, manifest = tmp_path / "out.txt", tmp_path / "manifest.json"
        code = main(["pack", str(root), *args, "-o", str(out), "--manifest", str(manifest)])
        assert code == 0
        return out.read_text(), manifest.read_text(), capsys.readouterr().err

    return invoke


@pytest.fixture
def no_scan(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call to make any further scan fail the test: the next pack must be recalled."""

    def forbid() -> None:
        def scan(*_: object, **__: object) -> None:
            raise AssertionError("scanned although the memo should have answered")

        monkeypatch.setattr(api, "scan", scan)

    return forbid


def memos() -> list[Path]:
    return sorted((Path(os.environ["REPOCTX_CACHE_DIR"]) / "packs").glob("*.json"))


@pytest.mark.parametrize(("use_git", "budget"), [(True, ["--budget", "2000"]),
                                               (False, ["--budget", "2000"]),
                                               (True, [])])  # auto: a note on stderr
def test_second_pack_is_recalled_with_identical_output(
        make_repo: RepoFactory, run: Run, trusted_now: None, no_scan: Callable[[], None],
        use_git: bool, budget: list[str]) -> None:
    root = make_repo(FILES, git=use_git)
    first = run(root, *budget)
    assert len(memos()) == 1
    no_scan()
    assert run(root, *budget) == first  # prompt, manifest, stderr report
    assert "bad.py: syntax error" in first[2]  # problems are reported again on a recall


def test_stdout_recall_prints_the_same_prompt(
        make_repo: RepoFactory, trusted_now: None, no_scan: Callable[[], None],
        capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(FILES, git=True)
    assert main(["pack", str(root), "--budget", "2000", "--format", "qwen"]) == 0
    first = capsys.readouterr()
    no_scan()
    assert main(["pack", str(root), "--budget", "2000", "--format", "qwen"]) == 0
    assert capsys.readouterr() == first


def test_a_changed_file_is_a_miss_and_shows_in_the_pack(
        make_repo: RepoFactory, run: Run, trusted_now: None) -> None:
    root = make_repo(FILES, git=True)
    run(root, "--budget", "2000")
    (root / "app" / "core.py").write_text("def core() -> int:\n    return 2\n")
    prompt, _, _ = run(root, "--budget", "2000")
    assert "return 2" in prompt and "return 1" not in prompt


@pytest.mark.parametrize("change", ["add", "delete", "ignore", "commit"])
def test_repository_changes_are_misses(make_repo: RepoFactory, run: Run, trusted_now: None,
                                       change: str) -> None:
    root = make_repo(FILES, git=True)
    first = run(root, "--budget", "2000")
    if change == "add":
        (root / "app" / "extra.py").write_text("X = 1\n")
    elif change == "delete":
        (root / "README.md").unlink()
    elif change == "ignore":
        (root / ".repoctxignore").write_text("README.md\n")
    else:  # a new commit that changes no file: the ranking reads the history
        git.Repo(root).git.commit("--allow-empty", "-m", "empty")
    second = run(root, "--budget", "2000")
    assert len(memos()) == 2  # the change made a new memo instead of answering from the old
    if change in ("add", "delete", "ignore"):
        assert second[1] != first[1]


@pytest.mark.parametrize("extra", [["--budget", "1500"], ["--format", "markdown"],
                                   ["--focus", "app/core.py"],
                                   ["--max-file-bytes", "10"], ["--include-vendored"]])
def test_each_request_option_has_its_own_memo(make_repo: RepoFactory, run: Run,
                                              trusted_now: None, extra: list[str]) -> None:
    root = make_repo(FILES, git=True)
    run(root, "--budget", "2000")
    options = ["--budget", "2000", *extra] if extra[0] != "--budget" else extra
    run(root, *options)
    assert len(memos()) == 2


def test_no_cache_neither_reads_nor_writes_a_memo(make_repo: RepoFactory, run: Run,
                                                  trusted_now: None) -> None:
    root = make_repo(FILES, git=True)
    run(root, "--budget", "2000", "--no-cache")
    assert memos() == []
    from repoctx.scanning.cache import default_cache_dir

    # nor the per-file cache: not even the counts the pack makes after the scan
    assert not (default_cache_dir() / "cache.sqlite").exists()


def test_recently_changed_files_are_not_memoised(make_repo: RepoFactory, run: Run) -> None:
    root = make_repo(FILES, git=True)  # just written: within the racy window
    run(root, "--budget", "2000")
    assert memos() == []


def test_an_emitted_file_that_hashes_differently_is_a_miss(
        make_repo: RepoFactory, run: Run, trusted_now: None) -> None:
    root = make_repo(FILES, git=True)
    run(root, "--budget", "2000")
    (stored,) = memos()
    payload = json.loads(stored.read_text())
    assert "app/core.py" in payload["emitted"]
    payload["emitted"]["app/core.py"] = "0" * 32  # as if the bytes changed under one signature
    stored.write_text(json.dumps(payload))
    key = stored.stem
    assert memo.recall(stored.parent, key, root.resolve()) is None
    payload["emitted"]["app/core.py"] = memo.content_hash((root / "app/core.py").read_bytes())
    stored.write_text(json.dumps(payload))
    assert memo.recall(stored.parent, key, root.resolve()) is not None


@pytest.mark.parametrize("damage", [b"", b"{not json", b"[]", b'{"format": 999}',
                                    b'{"format": 1, "text": 3, "manifest": {}, "emitted": {}}'])
def test_a_damaged_memo_is_a_miss_and_is_replaced(
        make_repo: RepoFactory, run: Run, trusted_now: None, damage: bytes) -> None:
    root = make_repo(FILES, git=True)
    first = run(root, "--budget", "2000")
    (stored,) = memos()
    stored.write_bytes(damage)
    assert run(root, "--budget", "2000") == first
    assert json.loads(stored.read_text())["format"] == memo.FORMAT


def test_focus_on_a_missing_file_is_one_line_and_exit_2(
        make_repo: RepoFactory, trusted_now: None, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo(FILES, git=True)
    assert main(["pack", str(root), "--budget", "2000", "--focus", "nope.py"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "--focus nope.py: not a file of" in err


def test_only_the_newest_memos_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo, "KEEP", 3)
    for number in range(5):
        memo.remember(tmp_path, f"k{number}", "text", {}, {})
        os.utime(tmp_path / f"k{number}.json", ns=(number * 10**9, number * 10**9))
    memo.remember(tmp_path, "k5", "text", {}, {})
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == ["k3", "k4", "k5"]


def test_a_read_only_cache_dir_only_costs_the_memo(
        make_repo: RepoFactory, run: Run, trusted_now: None, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("REPOCTX_CACHE_DIR", str(blocker))  # nothing can be created under it
    root = make_repo(FILES, git=True)
    prompt, _, _ = run(root, "--budget", "2000")
    assert "def core" in prompt


def test_a_pack_that_keeps_secrets_is_never_memoised(make_repo: RepoFactory, run: Run,
                                                     trusted_now: None) -> None:
    root = make_repo({**FILES, "app/keys.py": 'AWS = "AKIAIOSFODNN7EXAMPLE"\n'}, git=True)
    first = run(root, "--budget", "2000", "--no-redact")
    assert memos() == []
    assert run(root, "--budget", "2000", "--no-redact") == first
    run(root, "--budget", "2000")
    (stored,) = memos()
    assert stored.stat().st_mode & 0o777 == 0o600  # the user's code, for the user only
