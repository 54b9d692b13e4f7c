"""Corrupt state on disk never stops a run: the scan cache torn mid-file, and ``repoctx serve``'s
state file in every broken shape (the hook reads it on every commit).

A file that is not a database at all is covered by test_cache.py (moved aside, rebuilt).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from repoctx.running import read_state, state_path
from repoctx.serve.client import find_running

FIXTURE = Path(__file__).parent.parent / "fixtures" / "review-small"
GOOD = {"url": "http://127.0.0.1:9", "pid": os.getpid(), "model": "m", "model_path": "/m.gguf",
        "n_ctx": 8192, "plain": False, "fallback": False, "started": 1.0, "version": "0.1.0"}


def _pack(cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "repoctx", "pack", str(FIXTURE), "--budget",
                           "4000"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "REPOCTX_CACHE_DIR": str(cache)})  # fmt: skip


def test_a_torn_scan_cache_gives_the_same_prompt(tmp_path: Path) -> None:
    first = _pack(tmp_path)
    assert first.returncode == 0, first.stderr
    database = tmp_path / "cache.sqlite"
    size = database.stat().st_size
    with database.open("r+b") as f:  # keep the header, tear every page after the first
        f.seek(4096)
        f.write(os.urandom(max(0, size - 4096)))
    shutil.rmtree(tmp_path / "packs", ignore_errors=True)  # else the pack memo answers
    second = _pack(tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert "unusable" in second.stderr and "rebuilt it" in second.stderr  # said, in one line
    assert "Traceback" not in second.stderr
    third = _pack(tmp_path)  # and the run after that is clean again
    assert third.returncode == 0 and third.stdout == first.stdout


BROKEN: list[bytes | dict[str, object] | list[int]] = [
    b"", b"{", b"\xff\xfe\x00garbage", b"null", [1, 2],
    {**GOOD, "pid": "1234"}, {**GOOD, "pid": 0}, {**GOOD, "pid": -1}, {**GOOD, "pid": 2**40},
    {**GOOD, "pid": True}, {**GOOD, "url": 5}, {**GOOD, "n_ctx": "big"},
    {k: v for k, v in GOOD.items() if k != "model"}, {**GOOD, "extra": 1},
]  # fmt: skip


@pytest.mark.parametrize("content", BROKEN, ids=range(len(BROKEN)))
def test_a_broken_serve_state_file_is_ignored(content: bytes | dict[str, object] | list[int],
                                              tmp_path: Path) -> None:  # fmt: skip
    env = {"REPOCTX_CACHE_DIR": str(tmp_path)}
    data = content if isinstance(content, bytes) else json.dumps(content).encode()
    state_path(env).write_bytes(data)
    assert read_state(env) is None
    assert find_running(env, timeout=0.2) is None


def test_a_good_state_file_still_reads(tmp_path: Path) -> None:
    env = {"REPOCTX_CACHE_DIR": str(tmp_path)}
    state_path(env).write_text(json.dumps(GOOD))
    state = read_state(env)
    assert state is not None and state.pid == os.getpid()
    assert find_running(env, timeout=0.2) is None  # alive, but nothing answers at :9


def test_the_hook_skips_past_a_broken_state_file(tmp_path: Path) -> None:
    from test_hook_common import git, hook_env, init_repo, run_cli

    root = init_repo(tmp_path / "repo")
    (root / "pkg" / "core.py").write_text("def add(a, b):\n    return b + a\n")
    git(root, "add", "-A")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "serve.json").write_text(json.dumps({**GOOD, "pid": "not a pid"}))
    done = run_cli(root, "hook", "run", env=hook_env(REPOCTX_CACHE_DIR=str(cache)))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "skipped" in done.stderr


@pytest.mark.parametrize("damage", ["garbage", "torn", "bad-row"])
def test_the_whole_review_store_survives_damage(damage: str, tmp_path: Path) -> None:
    """review --whole's per-pack result store: moved aside and rebuilt, or disabled; a run
    never fails on it."""
    import sqlite3

    from repoctx.review.whole.store import FILE_NAME, ResultStore

    store = ResultStore(tmp_path)
    for i in range(200):
        store.put(f"k{i}", "pack", {"answer": "x" * 200, "i": i})
    store.close()
    database = tmp_path / FILE_NAME
    if damage == "garbage":
        database.write_bytes(b"not a database" * 100)
    elif damage == "torn":
        with database.open("r+b") as f:
            f.seek(4096)
            f.write(os.urandom(max(0, database.stat().st_size - 4096)))
    else:
        with sqlite3.connect(database) as db:
            db.execute("UPDATE results SET data='{not json' WHERE key='k1'")
    again = ResultStore(tmp_path)
    assert again.get("k1") is None  # nothing wrong is ever served
    again.put("fresh", "pack", {"answer": "y"})
    if damage != "bad-row":
        assert again.warning and ("rebuilt" in again.warning or "not cached" in again.warning)
        assert again.get("fresh") in ({"answer": "y"}, None)
