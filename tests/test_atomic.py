from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from repoctx.atomic import write_text_atomic
from repoctx.errors import InputError


def test_regular_file_is_replaced_whole_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    target.write_text("old")
    os.chmod(target, 0o640)
    write_text_atomic(target, "new text")
    assert target.read_text() == "new text"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.md"]


def test_special_files_are_written_in_place_never_replaced(tmp_path: Path) -> None:
    """`--output /dev/null` once turned /dev/null into a regular file: a FIFO stands in."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write_text_atomic(fifo, "through the pipe")
    reader.join(timeout=10)
    assert received == ["through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    write_text_atomic(Path(os.devnull), "discarded")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_symlink_survives_and_its_target_gets_the_text(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_bad_targets_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        write_text_atomic(tmp_path / "missing" / "out.txt", "x")
    with pytest.raises(InputError, match="is a directory"):
        write_text_atomic(tmp_path, "x")


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path: Path, umask: int) -> None:
    """Issue 16 item 8: outputs came out 0600 under umask 022 (mkstemp's mode)."""
    previous = os.umask(umask)
    try:
        write_text_atomic(tmp_path / f"new-{umask:o}.txt", "text")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / f"new-{umask:o}.txt").stat().st_mode) == 0o666 & ~umask
