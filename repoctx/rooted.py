"""rooted: read a repository's file as the regular file at its path, or not at all.

The walk decides what a path is, but the file is read later (in a worker, at render time,
by the hook), and the tree may change in between: the file deleted, made unreadable,
replaced by a symlink or a FIFO, or a directory on its path replaced by a symlink to
``/etc``. ``open()`` follows all of that. Every read of a repository file goes through
:func:`read_file`, which opens the path without following a symlink in any component and
fails with a one-line reason (:class:`Refused`) otherwise.

Paths given here are absolute and canonical: the repository root is resolved once
(``walk.check_root``) and joined with the listing's relative paths, so a canonical path
holds no symlink at all, and "no symlink on the way" is "the opened file's own path is the
path asked for". On Linux that is one ``open(O_NOFOLLOW)`` and a ``readlink`` of
``/proc/self/fd`` (as cheap as a plain ``open``); elsewhere each component is opened
relative to the one before it, with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_PROC_FD = os.path.isdir("/proc/self/fd")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
_DIR_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_DIRECTORY", 0)
CHANGED = "changed during the run"


class Refused(OSError):
    """The path is no longer a regular file reached without symlinks; ``str`` is the reason
    shown in the manifest and on stderr."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


def read_file(path: str | Path, limit: int = -1) -> bytes:
    """The bytes (the first ``limit`` of them, if given) of the regular file at the
    canonical absolute ``path``; raises :class:`Refused` (or the OSError of a plain read,
    e.g. PermissionError) when it is anything else."""
    fd = _open(os.fspath(path))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"{CHANGED}: not a regular file")
        return _read(fd, info.st_size, limit)
    finally:
        os.close(fd)


def reason(exc: OSError) -> str:
    """The one-line reason a read failed, for the manifest and stderr."""
    if isinstance(exc, Refused):
        return exc.reason
    if isinstance(exc, FileNotFoundError) or exc.errno == errno.ENOTDIR:
        return f"{CHANGED}: deleted"
    return f"unreadable ({exc.strerror or exc.__class__.__name__})"


def _open(path: str) -> int:
    if not _PROC_FD:
        return _open_by_components(path)
    try:
        fd = os.open(path, _FILE_FLAGS)
    except OSError as exc:
        raise _refusal(exc) from exc
    try:
        opened = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        opened = path  # /proc without this process's fds (a sandbox): as a plain open
    if opened != path:
        os.close(fd)
        raise Refused(f"{CHANGED}: a directory on its path is now a symlink (not followed)")
    return fd


def _open_by_components(path: str) -> int:
    """Open ``path`` one component at a time from ``/``, following no symlink."""
    parts = [part for part in path.split("/") if part]
    fd = os.open("/", _DIR_FLAGS)
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            try:
                opened = os.open(part, _FILE_FLAGS if last else _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if not last and exc.errno in (errno.ELOOP, errno.ENOTDIR) and \
                        stat.S_ISLNK(os.lstat(part, dir_fd=fd).st_mode):
                    raise Refused(f"{CHANGED}: a directory on its path is now a symlink "
                                  "(not followed)") from exc
                raise _refusal(exc) from exc
            os.close(fd)
            fd = opened
        return fd
    except BaseException:
        os.close(fd)
        raise


def _refusal(exc: OSError) -> OSError:
    """``O_NOFOLLOW`` on a symlink fails with ELOOP (EMLINK on some BSDs): say so."""
    if exc.errno in (errno.ELOOP, errno.EMLINK):
        return Refused(f"{CHANGED}: now a symlink (not followed)")
    return exc


def _read(fd: int, size: int, limit: int) -> bytes:
    """All bytes to EOF (or ``limit``): the size is a hint, the file may grow meanwhile."""
    chunks: list[bytes] = []
    got = 0
    request = limit if limit >= 0 else size + 1
    while request > 0:
        chunk = os.read(fd, request)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
        request = limit - got if limit >= 0 else 1 << 20
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
