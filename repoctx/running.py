"""The state file a running ``repoctx serve`` leaves in the user cache dir: where it listens,
its pid, its model and, when it was started with ``--api-key``, its key.

Kept below every stage (standard library only) because clients at every level read it: the
hook and review to find a running serve, and the OpenAI-compatible backend and the budget
probes to present the key of the serve they talk to (repoctx/access.py). Written by
``repoctx serve`` (repoctx/serve/http.py), mode 0600.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from repoctx import config, stores
from repoctx.private import private_dir

STATE_FILE = stores.SERVE.name


@dataclass(frozen=True, slots=True)
class ServeState:
    """What a running ``repoctx serve`` tells other processes about itself."""

    url: str
    pid: int
    model: str
    model_path: str
    n_ctx: int
    plain: bool  # a base model without chat template: prompts use the plain layout
    fallback: bool  # the embedded Gemma 270M: outputs carry its banner
    started: float
    version: str
    # --api-key: clients found through this file send it (the file is 0600; not in repr)
    api_key: str = field(default="", repr=False)

    def public(self) -> dict[str, Any]:
        """The state to show a user (``serve --status``): the key masked."""
        doc = asdict(self)
        doc["api_key"] = "***" if self.api_key else ""
        return doc


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user cache dir (``REPOCTX_CACHE_DIR`` overrides), as the scan cache uses."""
    return config.cache_dir(env)


def state_path(env: Mapping[str, str] | None = None) -> Path:
    return cache_dir(env) / STATE_FILE


def write_state(state: ServeState, env: Mapping[str, str] | None = None) -> Path:
    """Write the state file atomically (a reader never sees half of it), readable by this
    user only: it may hold the server's API key."""
    import tempfile

    path = state_path(env)
    private_dir(path.parent)
    handle, temp = tempfile.mkstemp(prefix=".serve.", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)  # mkstemp's mode already; said here because it matters
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            doc = asdict(state)
            if not state.api_key:  # the file an older repoctx (a hook's own env) can read
                del doc["api_key"]
            json.dump(doc, stream, indent=2)
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return path


_STATE_TYPES: dict[str, type | tuple[type, ...]] = {
    "url": str, "pid": int, "model": str, "model_path": str, "n_ctx": int, "plain": bool,
    "fallback": bool, "started": (int, float), "version": str, "api_key": str,
}  # fmt: skip


def read_state(env: Mapping[str, str] | None = None) -> ServeState | None:
    """The state file, or None when it is missing, unreadable or not what serve writes.

    Field types are checked: a hand-edited or half-corrupted file (``"pid": "abc"``) made
    ``os.kill`` raise inside the hook's discovery. A file another user owns is not ours to
    trust (in a shared ``REPOCTX_CACHE_DIR`` it could send our repository to their server).
    """
    path = state_path(env)
    try:
        if hasattr(os, "getuid") and path.stat().st_uid != os.getuid():
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(doc, dict):
        doc.setdefault("api_key", "")  # written by a version without keys
    if not isinstance(doc, dict) or set(doc) != set(_STATE_TYPES):
        return None
    if not all(isinstance(doc[k], t) for k, t in _STATE_TYPES.items()):
        return None
    if isinstance(doc["pid"], bool) or not 0 < doc["pid"] < 2**31:  # 0/-1 mean a group/all
        return None
    return ServeState(**doc)


def remove_state(pid: int, env: Mapping[str, str] | None = None) -> None:
    """Remove the state file if it is still ours (a newer server may have replaced it)."""
    state = read_state(env)
    if state is not None and state.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            state_path(env).unlink()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return False
    return True
