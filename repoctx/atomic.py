"""atomic: write a file so that a failure never leaves a partial one in its place.

Write a sibling temp file, fsync, rename over the target. Two cases must not be renamed
over: a target that is not a regular file (``--output /dev/null``, a FIFO, a terminal) is
written in place — replacing it would turn ``/dev/null`` into a regular file for the whole
machine — and a symlink is followed, so the link survives and its target gets the text.
A new file gets the mode the user's umask gives any file they create (an existing one
keeps its own).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from repoctx.errors import InputError, RepoctxError


def check_target(path: Path) -> None:
    """Raise the error :func:`write_text_atomic` would raise for ``path`` before it writes
    anything: a caller with several outputs checks them all first."""
    _target(path)


def _target(path: Path) -> tuple[Path, os.stat_result | None]:
    """Where ``path`` writes (a symlink's target) and what is there now (None: nothing)."""
    target = path.expanduser()
    if target.is_symlink():
        target = target.resolve()
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise RepoctxError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a directory")
    directory = target.parent if str(target.parent) else Path(".")
    if info is None and not directory.is_dir():
        raise InputError(f"{path}: directory {directory} does not exist")
    replaced = info is None or stat.S_ISREG(info.st_mode)  # a temp file is made beside it
    if replaced and not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"{path}: cannot write in {directory} (permission denied)")
    return target, info


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    target, info = _target(path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        _write_in_place(path, target, text)
        return
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle, temp_name = _create_temp(directory, target.name)
    except OSError as exc:
        raise RepoctxError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        if mode is not None:
            os.chmod(temp_name, mode)
        elif info is not None:
            os.chmod(temp_name, stat.S_IMODE(info.st_mode))
        os.replace(temp_name, target)
    except OSError as exc:
        Path(temp_name).unlink(missing_ok=True)
        raise RepoctxError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _create_temp(directory: Path, name: str) -> tuple[int, str]:
    """A new sibling temp file, open for writing, created with mode 0666 so that the kernel
    applies the umask (``mkstemp`` makes 0600: outputs came out unreadable to the group)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temp_name = str(directory / f".{name}.{secrets.token_hex(4)}")
        try:
            return os.open(temp_name, flags, 0o666), temp_name
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {name}")


def _write_in_place(path: Path, target: Path, text: str) -> None:
    try:
        with open(target, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as exc:
        raise RepoctxError(f"{path}: cannot write ({exc.strerror or exc})") from exc
