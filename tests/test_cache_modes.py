"""Everything repoctx keeps in the user cache dir that holds repository content is the user's
alone (issue 16 item 4): files 0600 and the directories repoctx creates 0700, under the
ordinary umask 022 that would otherwise make them world-readable."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from repoctx.cli import main
from repoctx.llm.prefix_states import StateStore
from repoctx.review.whole.store import ResultStore
from repoctx.running import ServeState, write_state
from repoctx.scanning import memo


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def test_cache_files_are_user_only(tmp_path: Path, umask_022: None,
                                   monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    cache = tmp_path / "home" / ".cache" / "repoctx"  # nothing of it exists yet
    monkeypatch.setenv("REPOCTX_CACHE_DIR", str(cache))
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "app.py").write_text('PASSWORD_HINT = "x"\n\n\ndef f():\n    return 1\n')
    monkeypatch.setattr(memo, "RACY_NS", 0)  # a file written just now: keep the memo anyway
    assert main(["pack", str(repo), "--budget", "2000", "-o", str(tmp_path / "out.md")]) == 0
    capsys.readouterr()
    store = ResultStore(cache)
    store.put("k", "review", {"answer": "about app.py"})
    store.close()
    StateStore(cache / "states", cap=1 << 20).save("model", {"n_ctx": 8}, [1, 2, 3],
                                                   b"kv-state", [])  # fmt: skip
    write_state(ServeState("http://127.0.0.1:1", 1, "m", "/m.gguf", 8, False, False, 0.0, "0"))
    names = {p.relative_to(cache).parts[0] for p in _files(cache)}
    assert {"cache.sqlite", "whole_reviews.sqlite", "packs", "states", "serve.json"} <= names, names
    wide = {str(p.relative_to(cache)): oct(_mode(p)) for p in _files(cache)
            if _mode(p) & 0o077 and ".marshal" not in p.name}  # fmt: skip
    assert wide == {}
    for directory in (cache, cache.parent, cache / "packs", cache / "states"):
        assert _mode(directory) == 0o700, directory
    assert _mode(tmp_path / "out.md") == 0o644  # an output the user asked for: the umask


def test_an_old_world_readable_cache_is_tightened(tmp_path: Path, umask_022: None) -> None:
    from repoctx.scanning.cache import Cache

    tmp_path.joinpath("cache.sqlite").touch(mode=0o644)
    cache = Cache(tmp_path)
    cache.close()
    assert _mode(tmp_path / "cache.sqlite") == 0o600


def test_wal_and_shm_side_files_are_user_only(tmp_path: Path, umask_022: None) -> None:
    from repoctx.scanning.cache import Cache

    cache = Cache(tmp_path / "c")
    cache.remember_hashes("/repo", [("a.py", 1, 2, "h")])
    try:
        sides = [p for p in _files(tmp_path / "c") if p.name.endswith(("-wal", "-shm"))]
        assert len(sides) == 2  # WAL mode while open: the side files exist
        assert {p.name: oct(_mode(p)) for p in _files(tmp_path / "c")} == {
            "cache.sqlite": "0o600", "cache.sqlite-wal": "0o600", "cache.sqlite-shm": "0o600"}
    finally:
        cache.close()
