"""The staged change, read from git without touching anything.

What ``git commit`` is about to record is the index, not the working tree: a partially staged
file has one version in the index and another on disk, and ``git commit -a`` / ``git commit
<paths>`` point ``GIT_INDEX_FILE`` at a temporary index. So everything here asks git itself
(through gitpython's command wrapper, which passes the hook's environment on) to compare the
index with HEAD, and reads staged blobs from the object database. Nothing is ever written:
``GIT_OPTIONAL_LOCKS=0`` stops even the opportunistic index refresh some commands do, and
there is no stash, checkout or reset anywhere in the hook.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from repoctx.errors import InputError

if TYPE_CHECKING:
    import git

SUBMODULE_MODE = "160000"
SYMLINK_MODE = "120000"
_DIFF_FLAGS = ("--cached", "-M", "--no-ext-diff", "--no-textconv", "--no-color")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
# Files in the (per-worktree) git dir that mean the commit is not an ordinary one.
_IN_PROGRESS = (
    ("MERGE_HEAD", "a merge commit"),
    ("rebase-merge", "a rebase is in progress"),
    ("rebase-apply", "a rebase or `git am` is in progress"),
    ("CHERRY_PICK_HEAD", "a cherry-pick is in progress"),
    ("REVERT_HEAD", "a revert is in progress"),
)


@dataclass(frozen=True, slots=True)
class ChangedFile:
    """One staged path: what happened to it and where its staged content is."""

    path: str  # the path after the change (the old path for a deletion)
    status: str  # A added, M modified, D deleted, R renamed, C copied, T type changed
    old_path: str | None = None  # renames and copies
    blob: str | None = None  # staged object id (a commit id for a submodule); None if deleted
    mode: str = "100644"
    added: int = 0
    removed: int = 0
    binary: bool = False
    old_blob: str | None = None  # HEAD's object id of the old side; None for a new file

    @property
    def submodule(self) -> bool:
        return self.mode == SUBMODULE_MODE

    @property
    def symlink(self) -> bool:
        return self.mode == SYMLINK_MODE

    @property
    def reviewable(self) -> bool:
        """Text that exists after the commit: what suggestions may point at."""
        return self.status != "D" and not (self.binary or self.submodule or self.symlink)


@dataclass(frozen=True, slots=True)
class StagedChange:
    root: Path  # the work tree (a linked worktree's own root in a worktree)
    git_dir: Path  # the per-worktree git dir
    head: str | None  # None before the first commit
    files: tuple[ChangedFile, ...]

    @property
    def lines_changed(self) -> int:
        return sum(f.added + f.removed for f in self.files)

    @property
    def reviewable(self) -> list[ChangedFile]:
        return [f for f in self.files if f.reviewable]


def open_repo(path: Path) -> git.Repo:
    """The repository ``path`` is in (``GIT_DIR`` wins, as it does for git in a hook)."""
    import git

    try:
        if os.environ.get("GIT_DIR"):
            repo = git.Repo()
        else:
            repo = git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise InputError(f"{path}: not inside a git repository") from None
    if repo.bare or repo.working_tree_dir is None:
        raise InputError(f"{path}: a bare repository has no staged change")
    repo.git.update_environment(GIT_OPTIONAL_LOCKS="0")
    return repo


def in_progress(repo: git.Repo) -> str | None:
    """Why this is not an ordinary commit (merge, rebase, cherry-pick, revert), or None."""
    git_dir = Path(repo.git_dir)
    for name, why in _IN_PROGRESS:
        if (git_dir / name).exists():
            return why
    return None


def head_commit(repo: git.Repo) -> str | None:
    """HEAD's commit id, or None on an unborn branch (the repository's first commit)."""
    try:
        out: str = repo.git.rev_parse("--verify", "--quiet", "HEAD^{commit}")
    except Exception:  # git exits 1 on an unborn HEAD
        return None
    return out.strip() or None


def _git_bytes(repo: git.Repo, *args: str) -> str:
    """Run git and decode its output losslessly (paths need not be UTF-8)."""
    raw: bytes = repo.git.execute(
        ["git", *args], stdout_as_string=False, strip_newline_in_stdout=False
    )
    return raw.decode("utf-8", "surrogateescape")


def read_staged(repo: git.Repo) -> StagedChange:
    """Every staged path with its status, staged blob and line counts (index vs HEAD)."""
    raw = _git_bytes(repo, "diff", *_DIFF_FLAGS, "--raw", "-z", "--no-abbrev")
    numstat = _git_bytes(repo, "diff", *_DIFF_FLAGS, "--numstat", "-z")
    counts = _parse_numstat(numstat)
    files = []
    for status, old_path, path, mode, blob, old_blob in _parse_raw(raw):
        added, removed = counts.get(path, (0, 0))
        binary = path not in counts and mode != SUBMODULE_MODE and status != "D"
        files.append(ChangedFile(path, status, old_path, blob, mode, added, removed, binary,
                                 old_blob))  # fmt: skip
    root = Path(str(repo.working_tree_dir))
    return StagedChange(root, Path(repo.git_dir), head_commit(repo), tuple(files))


def _parse_raw(out: str) -> list[tuple[str, str | None, str, str, str | None, str | None]]:
    """``:old new oid oid STATUS\\0path\\0[path\\0]`` → (status, old path, path, mode, blob,
    old blob)."""
    fields = out.split("\0")
    result = []
    i = 0
    while i < len(fields) and fields[i].startswith(":"):
        old_mode, new_mode, old_oid, new_oid, status = fields[i][1:].split(" ")
        letter = status[0]
        if letter in "RC":
            old_path, path = fields[i + 1], fields[i + 2]
            i += 3
        else:
            old_path, path = None, fields[i + 1]
            i += 2
        deleted = letter == "D" or set(new_oid) == {"0"}
        mode = new_mode if not deleted else "000000"
        old = None if set(old_oid) == {"0"} or old_mode in (SUBMODULE_MODE, "000000") else old_oid
        result.append((letter, old_path, path, mode, None if deleted else new_oid, old))
    return result


def _parse_numstat(out: str) -> dict[str, tuple[int, int]]:
    """Path → (added, removed); binary files ("-\\t-") are absent from the map."""
    fields = out.split("\0")
    counts: dict[str, tuple[int, int]] = {}
    i = 0
    while i < len(fields) and fields[i]:
        added, removed, path = fields[i].split("\t", 2)
        if not path:  # a rename: the old and new paths follow as their own fields
            path = fields[i + 2]
            i += 3
        else:
            i += 1
        if added != "-":
            counts[path] = (int(added), int(removed))
    return counts


def staged_bytes(repo: git.Repo, changed: ChangedFile) -> bytes | None:
    """The staged content of a text file (from the object database, never the disk)."""
    if changed.blob is None or changed.submodule:
        return None
    stream = repo.odb.stream(bytes.fromhex(changed.blob))
    data: bytes = stream.read()
    return data


def diff_sides(repo: git.Repo,
               change: StagedChange) -> dict[str, tuple[bytes | None, bytes | None]]:  # fmt: skip
    """Path (as the diff names it) → (HEAD's old-side bytes, the staged bytes); None where a
    side does not exist or is not text. The hook redacts these whole files and cuts the diff's
    lines from them, so a hunk inside a key block is redacted though it lacks the BEGIN line."""
    sides: dict[str, tuple[bytes | None, bytes | None]] = {}
    for changed in change.files:
        if changed.binary or changed.submodule:
            continue
        old = _blob(repo, changed.old_blob)
        sides[changed.path] = (old, staged_bytes(repo, changed))
    return sides


def _blob(repo: git.Repo, oid: str | None) -> bytes | None:
    if oid is None:
        return None
    try:
        data: bytes = repo.odb.stream(bytes.fromhex(oid)).read()
    except Exception:  # a missing object (shallow or partial clone): per-hunk redaction then
        return None
    return data


def unified_diff(repo: git.Repo, *, context: int = 3) -> str:
    """The staged change as a unified diff (binary files and submodules as one line each)."""
    return _git_bytes(repo, "diff", *_DIFF_FLAGS, f"-U{context}", "--submodule=short")


def new_line_ranges(diff: str) -> dict[str, list[tuple[int, int]]]:
    """Path → the line ranges (first, last, 1-based) the staged change wrote in the new file."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    path: str | None = None
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            path = target[2:] if target.startswith("b/") else None
        elif path is not None and line.startswith("@@"):
            m = _HUNK.match(line)
            if m:
                start, length = int(m.group(1)), int(m.group(2) or 1)
                if length:
                    ranges.setdefault(path, []).append((start, start + length - 1))
    return ranges
