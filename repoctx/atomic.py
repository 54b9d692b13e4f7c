"""atomic: write a file so that a failure never leaves a partial one in its place.

Write a sibling temp file, fsync, rename over the target. Two cases must not be renamed
over: a target that is not a regular file (``--output /dev/null``, a FIFO, a terminal) is
written in place — replacing it would turn ``/dev/null`` into a regular file for the whole
machine — and a symlink is followed, so the link survives and its target gets the text.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from repoctx.errors import InputError, RepoctxError


def write_text_atomic(path: Path, text: str, *, mode: int | None = None) -> None:
    target = path.expanduser()
    if target.is_symlink():
        target = target.resolve()
    try:
        info = target.stat()
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise RepoctxError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    if info is not None and not stat.S_ISREG(info.st_mode):
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{path}: is a directory")
        _write_in_place(path, target, text)
        return
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"{path}: directory {directory} does not exist")
    try:
        handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
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


def _write_in_place(path: Path, target: Path, text: str) -> None:
    try:
        with open(target, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as exc:
        raise RepoctxError(f"{path}: cannot write ({exc.strerror or exc})") from exc
