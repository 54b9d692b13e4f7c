"""Reading the staged change from real git repositories: index vs HEAD, never the disk."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_hook_common import git, init_repo, snapshot, write

from repoctx.errors import InputError
from repoctx.hook.git import (
    ChangedFile,
    in_progress,
    new_line_ranges,
    open_repo,
    read_staged,
    staged_bytes,
    unified_diff,
)
from repoctx.hook.job import partial_findings, staged_texts, tidy
from repoctx.review.findings import complete_objects

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


def by_path(root: Path) -> dict[str, ChangedFile]:
    return {f.path: f for f in read_staged(open_repo(root)).files}


def test_statuses_renames_binaries_and_counts(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write(root, {"pkg/core.py": "def add(a, b):\n    return a + b + 0\n", "logo.png": PNG,
                 "pkg/new.py": "X = 1\nY = 2\n"})  # fmt: skip
    git(root, "mv", "pkg/app.py", "pkg/main.py")
    git(root, "rm", "-q", "README.md")
    git(root, "add", "-A")
    files = by_path(root)
    assert {p: f.status for p, f in files.items()} == {
        "pkg/core.py": "M", "logo.png": "A", "pkg/new.py": "A", "pkg/main.py": "R",
        "README.md": "D",
    }  # fmt: skip
    core, png, new, main, readme = (files[p] for p in
                                    ("pkg/core.py", "logo.png", "pkg/new.py", "pkg/main.py",
                                     "README.md"))  # fmt: skip
    assert (core.added, core.removed) == (1, 5)
    assert (new.added, new.removed) == (2, 0)
    assert main.old_path == "pkg/app.py"
    assert png.binary and not png.reviewable
    assert readme.blob is None and not readme.reviewable
    assert core.reviewable and main.reviewable


def test_first_commit_has_no_head(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r", commit=False)
    git(root, "add", "pkg/core.py", "README.md")
    change = read_staged(open_repo(root))
    assert change.head is None
    assert sorted(f.path for f in change.files) == ["README.md", "pkg/core.py"]
    assert all(f.status == "A" for f in change.files)
    assert "+def add(a, b):" in unified_diff(open_repo(root))


def test_partially_staged_file_reads_the_index_not_the_disk(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write(root, {"pkg/core.py": "def add(a, b):\n    return a + b  # staged\n"})
    git(root, "add", "pkg/core.py")
    write(root, {"pkg/core.py": "def add(a, b):\n    return a + b  # NOT staged\n"})
    repo = open_repo(root)
    change = read_staged(repo)
    (core,) = change.files
    assert staged_bytes(repo, core) == b"def add(a, b):\n    return a + b  # staged\n"
    assert staged_texts(repo, change) == {"pkg/core.py": staged_bytes(repo, core)}
    assert "NOT staged" not in unified_diff(repo)


def test_git_index_file_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`git commit -a` hands the hook a temporary index through GIT_INDEX_FILE."""
    root = init_repo(tmp_path / "r")
    other = tmp_path / "other-index"
    env = {**os.environ, "GIT_INDEX_FILE": str(other)}
    git(root, "read-tree", "HEAD", env=env)
    write(root, {"pkg/core.py": "changed = True\n"})
    git(root, "add", "pkg/core.py", env=env)
    assert read_staged(open_repo(root)).files == ()  # the real index has nothing staged
    monkeypatch.setenv("GIT_INDEX_FILE", str(other))
    assert [f.path for f in read_staged(open_repo(root)).files] == ["pkg/core.py"]


def test_submodule_is_not_reviewable(tmp_path: Path) -> None:
    lib = init_repo(tmp_path / "lib", {"lib.py": "X = 1\n"})
    root = init_repo(tmp_path / "r")
    git(root, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    files = by_path(root)
    sub = files["vendor/lib"]
    assert sub.submodule and not sub.reviewable
    assert files[".gitmodules"].reviewable
    assert "Subproject commit" in unified_diff(open_repo(root))


def test_linked_worktree(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    wt = tmp_path / "wt"
    git(root, "worktree", "add", "-q", str(wt), "-b", "side")
    write(wt, {"pkg/core.py": "def add(a, b):\n    return b + a\n"})
    git(wt, "add", "pkg/core.py")
    change = read_staged(open_repo(wt / "pkg"))
    assert change.root == wt.resolve() or change.root == wt
    assert "worktrees" in change.git_dir.parts
    assert [f.path for f in change.files] == ["pkg/core.py"]
    assert read_staged(open_repo(root)).files == ()  # the main worktree's index is separate


def _conflict(root: Path) -> None:
    git(root, "checkout", "-q", "-b", "other")
    write(root, {"pkg/core.py": "other\n"})
    git(root, "commit", "-qam", "other")
    git(root, "checkout", "-q", "main")
    write(root, {"pkg/core.py": "mine\n"})
    git(root, "commit", "-qam", "mine")


@pytest.mark.parametrize(("command", "expected"), [
    (("merge", "other"), "a merge commit"),
    (("cherry-pick", "other"), "a cherry-pick is in progress"),
    (("rebase", "other"), "a rebase"),
    (("revert", "--no-edit", "HEAD"), None),  # a clean revert commits by itself
])  # fmt: skip
def test_operations_in_progress(tmp_path: Path, command: tuple[str, ...],
                                expected: str | None) -> None:  # fmt: skip
    root = init_repo(tmp_path / "r")
    _conflict(root)
    git(root, *command, check=False)
    why = in_progress(open_repo(root))
    assert (why is None) if expected is None else (why is not None and expected in why)


def test_not_a_repository_and_bare(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not inside a git repository"):
        open_repo(tmp_path)
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    with pytest.raises(InputError, match="bare"):
        open_repo(tmp_path / "bare.git")


def test_reading_changes_nothing(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "r")
    write(root, {"pkg/core.py": "staged\n"})
    git(root, "add", "-A")
    write(root, {"pkg/core.py": "unstaged\n", "untracked.txt": "u\n"})
    before = snapshot(root)
    repo = open_repo(root)
    change = read_staged(repo)
    staged_texts(repo, change)
    unified_diff(repo)
    assert snapshot(root) == before


def test_new_line_ranges() -> None:
    diff = (
        "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,3 @@\n a\n+b\n c\n"
        "@@ -10 +11,0 @@\n-gone\n"
        "diff --git a/old.py b/old.py\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
        "diff --git a/n.py b/n.py\n--- /dev/null\n+++ b/n.py\n@@ -0,0 +1 @@\n+y\n"
    )
    assert new_line_ranges(diff) == {"x.py": [(1, 3)], "n.py": [(1, 1)]}


def test_partial_findings_from_a_cut_off_answer() -> None:
    one = ('{"path": "a.py", "line": 3, "severity": "low", "category": "refactor", '
           '"message": "m", "suggestion": "s"}')  # fmt: skip
    text = f'{{"findings": [{one}, {one.replace("3", "1")}, {{"path": "b.py", "li'
    found = partial_findings(text)
    assert [f["line"] for f in found] == [3, 1]
    assert partial_findings('{"summ') == []
    assert complete_objects('{"findings": [ ], "summary": "1000000000') == ([], True)
    assert complete_objects(text) == (found, False)
    assert [f["line"] for f in tidy(found, 5)] == [1, 3]  # ordered by file, then line
    bad = {**found[0], "severity": "catastrophic"}
    assert tidy([bad, *found], 5) == tidy(found, 5)  # invalid findings are dropped
    high = {**found[0], "line": 9, "severity": "high"}
    assert tidy([*found, high], 1) == [high]  # over the limit: the worst are kept
