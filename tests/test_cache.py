from __future__ import annotations

import os
from pathlib import Path

import repoctx
from repoctx.scanning.cache import Cache
from repoctx.scanning.scan import Progress


def _parsed_count(root: Path, cache: Cache | None = None) -> int:
    events: list[Progress] = []
    repoctx.scan(root, cache=cache, progress=events.append)
    totals = [e.total for e in events if e.stage == "parse"]
    return max(totals, default=0)


def test_second_scan_reparses_nothing(make_repo) -> None:
    root = make_repo({"a.py": "import b\n", "b.py": "X = 1\n", "README.md": "# hi\n"},
                     git=True)
    assert _parsed_count(root) == 3
    assert _parsed_count(root) == 0


def test_changed_file_is_the_only_one_reparsed(make_repo) -> None:
    root = make_repo({"a.py": "import b\n", "b.py": "X = 1\n"})
    _parsed_count(root)
    (root / "b.py").write_text("X = 2\n")
    os.utime(root / "b.py", ns=(1, 1))
    assert _parsed_count(root) == 1


def test_renamed_file_is_a_cache_hit_for_its_content(make_repo) -> None:
    root = make_repo({"a.py": "def f():\n    return 1\n"})
    repo = repoctx.scan(root)
    (root / "a.py").rename(root / "c.py")
    events: list[Progress] = []
    again = repoctx.scan(root, progress=events.append)
    assert again.files["c.py"].tokens == repo.files["a.py"].tokens
    # read once to learn the hash, but facts and counts come from the cache
    assert again.files["c.py"].parsed == repo.files["a.py"].parsed


def test_corrupt_cache_is_rebuilt_not_fatal(make_repo, tmp_path: Path) -> None:
    root = make_repo({"a.py": "X = 1\n"})
    directory = tmp_path / "cachedir"
    directory.mkdir()
    (directory / "cache.sqlite").write_bytes(b"this is not a database" * 100)
    cache = Cache(directory)
    assert cache.warning and "rebuilt" in cache.warning
    repo = repoctx.scan(root, cache=cache)
    assert repo.files["a.py"].tokens == repo.counter.count("X = 1\n")
    cache.close()
    assert (directory / "cache.sqlite.corrupt").exists()
    assert _parsed_count(root, Cache(directory)) == 0


def test_cache_lives_outside_the_repo(make_repo) -> None:
    root = make_repo({"a.py": "X = 1\n"}, git=True)
    before = sorted(p.relative_to(root) for p in root.rglob("*") if ".git" not in p.parts)
    repoctx.scan(root)
    after = sorted(p.relative_to(root) for p in root.rglob("*") if ".git" not in p.parts)
    assert before == after
    assert Path(os.environ["REPOCTX_CACHE_DIR"], "cache.sqlite").exists()


def test_disabled_cache_still_scans(make_repo) -> None:
    root = make_repo({"a.py": "X = 1\n"})
    repo = repoctx.scan(root, cache=Cache(enabled=False))
    assert repo.files["a.py"].tokens == repo.counter.count("X = 1\n")
