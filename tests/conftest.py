"""Shared fixtures: every test runs with its own cache and config dirs, never the user's."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("REPOCTX_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.delenv("REPOCTX_MODEL", raising=False)
    monkeypatch.delenv("REPOCTX_SERVER", raising=False)


RepoFactory = Callable[..., Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> RepoFactory:
    """Write ``files`` (path → text or bytes) under a fresh dir; ``git=True`` commits them."""

    def factory(files: Mapping[str, str | bytes], *, git: bool = False,
                name: str = "repo") -> Path:
        from bad_inputs import write

        return write(tmp_path / name, files, git=git)

    return factory


# --- ggufgen fixtures (owner: budget, tests/ggufgen.py): tiny real GGUFs, cached per machine ---
import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from ggufgen import gemma3_gguf, plain_gguf, qwen35_27b_gguf, qwen35_gguf  # noqa: E402, F401

# --- end ggufgen fixtures ---
