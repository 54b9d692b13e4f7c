"""A reviewer's default exclusions (issue #19, 5): fixtures and test data, migrations,
dependencies vendored under deps/ (and kin), empty files — listed with their reasons, never
read, and brought back by --include PATTERN or --include-all; `pack` keeps them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import repoctx
from repoctx.scanning.walk import FIXTURE_RE, REVIEWER_REASONS, WalkOptions

REPOCTX = [sys.executable, "-c", "import sys; from repoctx.cli import main; sys.exit(main())"]
FILES = {
    "app/models.py": "class Item:\n    pass\n",
    "app/views.py": "from app.models import Item\n\n\ndef show():\n    return Item()\n",
    "app/migrations/0001_initial.py": "from app.models import Item\n\nOPS = [Item]\n",
    "db/migrate/20240101_create.rb": "class Create\nend\n",
    "tests/fixtures/broken.py": "def (:\n",
    "tests/testdata/input.json": "{\"a\": 1}\n",
    "deps/lua/lapi.c": "int lua_x(void) { return 1; }\n",
    "app/empty.py": "",
    "tests/test_views.py": "from app.views import show\n\n\ndef test_show():\n    show()\n",
}
EXPECTED = {
    "app/migrations/0001_initial.py": "migration",
    "db/migrate/20240101_create.rb": "migration",
    "tests/fixtures/broken.py": "fixture or test data",
    "tests/testdata/input.json": "fixture or test data",
    "deps/lua/lapi.c": "vendored dependency",
    "app/empty.py": "empty",
}


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REPOCTX_CACHE_DIR": str(root.parent / "cache")}
    return subprocess.run([*REPOCTX, *args], cwd=root, capture_output=True, text=True,
                          timeout=120, env=env)


def _skips(repo: repoctx.Repo) -> dict[str, str]:
    return {p: f.skip.reason for p, f in repo.files.items() if f.skip is not None}


def test_reviewer_defaults_list_what_a_reviewer_skips(make_repo) -> None:  # type: ignore[no-untyped-def]
    root = make_repo(FILES, git=True)
    reviewed = repoctx.scan(root, options=WalkOptions(reviewer=True))
    assert _skips(reviewed) == EXPECTED
    assert all(reviewed.files[p].skip.tier == "listed" for p in EXPECTED)  # type: ignore[union-attr]
    assert reviewed.files["tests/fixtures/broken.py"].parsed is None  # never read: no warning
    assert set(EXPECTED.values()) == set(REVIEWER_REASONS.values())
    dumped = repoctx.scan(root)  # every other command: a faithful dump
    assert _skips(dumped) == {}
    back = repoctx.scan(root, options=WalkOptions(reviewer=True, include=("deps/", "*.json")))
    assert _skips(back) == {p: why for p, why in EXPECTED.items()
                            if not p.startswith("deps/") and not p.endswith(".json")}


def test_analysis_leaves_out_the_same_fixtures() -> None:
    from repoctx.review import facts

    assert facts._FIXTURE_RE is FIXTURE_RE


def test_review_names_what_it_left_out_and_pack_keeps_it(make_repo) -> None:  # type: ignore[no-untyped-def]
    root = make_repo(FILES, git=True)
    done = _run(root, "review", ".", "--plan", "--budget", "100000")
    assert done.returncode == 0, done.stderr
    line = [ln for ln in done.stderr.splitlines() if "listed, not reviewed" in ln]
    assert line == ["repoctx: listed, not reviewed: fixture or test data (2), migration (2), "
                    "empty (1), vendored dependency (1) (--include PATTERN or --include-all "
                    "reviews them)"]
    assert "migrations/0001_initial.py" not in done.stdout and "app/views.py" in done.stdout
    everything = _run(root, "review", ".", "--plan", "--budget", "100000", "--include-all")
    assert "listed, not reviewed" not in everything.stderr
    assert "app/migrations/0001_initial.py" in everything.stdout
    some = _run(root, "review", ".", "--plan", "--budget", "100000", "--include", "migrations/")
    assert "app/migrations/0001_initial.py" in some.stdout and "migration (1)" in some.stderr
    packed = _run(root, "pack", ".", "--budget", "100000")
    assert packed.returncode == 0, packed.stderr
    assert "OPS = [Item]" in packed.stdout and "lua_x" in packed.stdout


def test_config_includes_and_a_bad_one(make_repo) -> None:  # type: ignore[no-untyped-def]
    root = make_repo({**FILES, "pyproject.toml":
                      "[tool.repoctx]\nreview_include = ['deps/']\n"}, git=True)  # fmt: skip
    done = _run(root, "review", ".", "--plan", "--budget", "100000")
    assert done.returncode == 0, done.stderr
    assert "deps/lua/lapi.c" in done.stdout and "vendored dependency" not in done.stderr
    (root / "pyproject.toml").write_text("[tool.repoctx]\nreview_include = 'deps/'\n")
    bad = _run(root, "review", ".", "--plan")
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().endswith("review_include must be a list of gitignore-style "
                                       "patterns, not 'deps/'")
