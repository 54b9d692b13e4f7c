"""private: files in the user cache dir that hold repository content are the user's alone.

The analysis cache keeps skeletons and facts of every file (unredacted: redaction happens
when a pack is emitted), the pack memos keep whole prompts, the result store keeps answers
about the code and the model-state store keeps KV caches that decode back to the prompt. A
shared machine's other users must not read them, whatever the umask: such files are made
0600 and the directories repoctx creates for them 0700 (an existing directory keeps the
mode its owner gave it). Outputs the user names (``-o``) are not cache files: they follow
the umask (repoctx.atomic).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(directory: Path) -> None:
    """``mkdir -p`` creating each missing directory 0700; raises OSError as mkdir does."""
    missing: list[Path] = []
    current = directory
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it just now
            path.mkdir(mode=DIR_MODE)
    if not directory.is_dir():
        directory.mkdir(parents=True, exist_ok=True)  # raises the precise error


def private_file(path: Path) -> None:
    """Create ``path`` empty (0600) if it is missing; make it 0600 if it is not already.

    SQLite creates a database's ``-wal`` and ``-shm`` files with the database file's own
    permissions, so creating the database 0600 first covers its side files too; the side
    files of an older, world-readable cache are tightened here as well.
    """
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(OSError):  # absent, or not ours: sqlite reports what matters
            if os.stat(each).st_mode & 0o077:
                os.chmod(each, FILE_MODE)
