"""Reads of repository files never leave the repository, and a file that changes between
the scan and the render is left out with a reason instead of crashing the pack (issue 16
items 5 and 6)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import repoctx
from repoctx import rooted
from repoctx.cli import main
from repoctx.rooted import Refused, read_file, reason
from repoctx.scanning.cache import Cache

SECRET = "TOP SECRET outside the repository\n"


@pytest.fixture(params=[True, False], ids=["proc-fd", "by-components"])
def both_ways(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Linux's /proc/self/fd check, and the component-by-component open used elsewhere."""
    monkeypatch.setattr(rooted, "_PROC_FD", request.param and rooted._PROC_FD)


@pytest.mark.usefixtures("both_ways")
def test_read_file_reads_regular_files_only(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    (root / "d").mkdir()
    (root / "d" / "f.py").write_bytes(b"x = 1\n" * 5000)
    (root / "empty").write_bytes(b"")
    (root / "outside.txt").write_text(SECRET)
    os.symlink(root / "outside.txt", root / "link.txt")
    os.symlink(root, root / "up")
    os.mkfifo(root / "pipe")
    assert read_file(root / "d" / "f.py") == b"x = 1\n" * 5000
    assert read_file(root / "d" / "f.py", 9) == b"x = 1\nx ="
    assert read_file(root / "empty") == b"" and read_file(root / "d" / "f.py", 0) == b""
    expected = {
        "link.txt": "changed during the run: now a symlink (not followed)",
        "up/outside.txt": "changed during the run: a directory on its path is now a symlink "
                          "(not followed)",
        "missing.py": "changed during the run: deleted",
        "d/f.py/below": "changed during the run: deleted",
        "pipe": "changed during the run: not a regular file",  # and never blocks
        "d": "changed during the run: not a regular file",
    }
    for rel, why in expected.items():
        with pytest.raises(OSError) as caught:
            read_file(root / rel)
        assert reason(caught.value) == why, rel
    assert isinstance(Refused("x"), OSError)


def _churned(root: Path, outside: Path) -> dict[str, Callable[[], None]]:
    """Ways a file changes after the scan, before the pack reads it."""
    def to_symlink() -> None:
        (root / "link.py").unlink()
        os.symlink(outside / "secret.py", root / "link.py")

    def dir_to_symlink() -> None:
        shutil.rmtree(root / "pkg")
        os.symlink(outside, root / "pkg")

    def to_fifo() -> None:
        (root / "fifo.py").unlink()
        os.mkfifo(root / "fifo.py")

    return {"gone.py": (root / "gone.py").unlink, "link.py": to_symlink,
            "pkg/secret.py": dir_to_symlink, "fifo.py": to_fifo}


@pytest.mark.parametrize("lazy", [True, False], ids=["lazy-counts", "counted"])
def test_files_changed_between_scan_and_render_are_left_out_with_a_reason(
        tmp_path: Path, lazy: bool) -> None:
    """9 of 10 runs of a churn loop crashed pack/review, and the symlink case packed its
    target: each change is now a manifest entry with its reason, and the pack still fits."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.py").write_text(f"SECRET = {SECRET!r}\n")
    root = tmp_path / "repo"
    files = {"keep.py": "import gone\n", "gone.py": "x = 1\n", "link.py": "y = 2\n",
             "pkg/secret.py": "z = 3\n", "fifo.py": "w = 4\n"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    repo = repoctx.scan(root, count=not lazy, cache=Cache(enabled=False))
    assert all(repo.files[rel].packable for rel in files)
    changes = _churned(root, outside)
    for change in changes.values():
        change()
    result = repoctx.pack(repo, 3000)
    rows = {row["path"]: row for row in result.manifest()["files"]}
    problems = {p.path: p.reason for p in result.problems}
    for rel in changes:
        assert rows[rel]["tier"] == "excluded", rel
        assert str(rows[rel]["reason"]).startswith("changed during the run: "), rel
        assert problems[rel] == rows[rel]["reason"]
    assert rows["link.py"]["reason"] == "changed during the run: now a symlink (not followed)"
    assert rows["gone.py"]["reason"] == "changed during the run: deleted"
    assert rows["keep.py"]["tier"] == "full"
    assert "SECRET" not in result.text
    assert result.total_tokens == repo.counter.count(result.text) <= 3000


def test_a_pack_run_reports_a_file_changed_after_its_scan_on_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the CLI: the change lands between the scan and the render (the selection
    counting its first candidates), the pack exits 0 and says so on stderr."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    (root / "b.py").write_text("y = 2\n")
    from repoctx.scanning.repo import Repo

    original = Repo.ensure_counts

    def churn_first(self: Repo, paths: object = None) -> None:
        if (root / "b.py").exists():
            (root / "b.py").unlink()
            os.symlink("/etc/hostname", root / "b.py")
        original(self, paths)  # type: ignore[arg-type]

    monkeypatch.setattr(Repo, "ensure_counts", churn_first)
    manifest = tmp_path / "m.json"
    assert main(["pack", str(root), "--budget", "3000", "--manifest", str(manifest)]) == 0
    err = capsys.readouterr().err
    assert "b.py: changed during the run: now a symlink (not followed)" in err
    rows = {r["path"]: r for r in json.loads(manifest.read_text())["files"]}
    assert rows["b.py"]["tier"] == "excluded" and rows["a.py"]["tier"] == "full"
