"""The refactor request: staged text in the pack, focus, facts, and fitting the context."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_hook_common import SOURCES, git, init_repo, write

from repoctx.api import scan
from repoctx.hook.git import open_repo, read_staged, unified_diff
from repoctx.hook.job import staged_texts
from repoctx.hook.prompt import JSON_NOTE, build_request
from repoctx.hook.settings import Settings
from repoctx.llm.base import Options, Prompt
from repoctx.scanning.repo import Repo

Request = tuple[Repo, Prompt, Options, str | None]


def _request(root: Path, context: int = 8192, budget: int | None = None) -> Request:
    repo = open_repo(root)
    change = read_staged(repo)
    scanned = scan(root)
    prompt, options, skip = build_request(
        scanned, change, unified_diff(repo), staged_texts(repo, change), scanned.counter.count,
        context=context, settings=Settings(budget=budget), plain=False, default_budget=2048)
    return scanned, prompt, options, skip


def test_pack_holds_the_staged_version_and_the_tail_holds_diff_and_facts(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    write(root, {"pkg/core.py": "def add(a, b):\n    return a + b  # STAGED\n\n\n"
                                "def mul(a, b):\n    return a * b\n"})  # fmt: skip
    git(root, "add", "pkg/core.py")
    write(root, {"pkg/core.py": "def add(a, b):\n    return a + b  # WORKTREE ONLY\n"})
    _, prompt, options, skip = _request(root)
    assert skip is None
    system, user = prompt.messages
    assert prompt.prefix_messages == 1
    assert "# STAGED" in system.content and "WORKTREE ONLY" not in system.content
    assert "WORKTREE ONLY" not in user.content
    assert "+    return a + b  # STAGED" in user.content  # the diff is the tail
    assert "`pkg/core.py`: modified; +1 −1 lines; imported by 2 file(s): `pkg/app.py`, " \
           "`tests/test_core.py`; touches function `add` (lines 1–2, 2 lines)" in user.content
    assert "No test file is part of this change." in user.content
    assert user.content.endswith(JSON_NOTE.format(n=5))
    schema = options.json_schema
    assert schema is not None
    item = schema["properties"]["findings"]["items"]["properties"]
    assert item["path"] == {"enum": ["pkg/core.py"]}  # suggestions only on staged files
    assert schema["properties"]["findings"]["maxItems"] == 5


def test_renamed_new_and_binary_files_in_the_facts(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo", {**SOURCES, "tests/test_more.py": "def test_x():\n"
                                         "    pass\n"})  # fmt: skip
    git(root, "mv", "pkg/app.py", "pkg/main.py")
    write(root, {"logo.png": b"\x89PNG\r\n\x1a\n\x00" + bytes(range(200)),
                 "tests/test_more.py": "def test_x():\n    assert True\n"})  # fmt: skip
    git(root, "add", "-A")
    _, prompt, _options, skip = _request(root)
    user = prompt.messages[1].content
    assert skip is None
    assert "`pkg/main.py`: renamed from `pkg/app.py`" in user
    assert "`logo.png`: new file (binary, not shown)" in user
    assert "No test file is part of this change." not in user


def test_a_diff_that_leaves_no_room_is_a_skip(tmp_path: Path) -> None:
    root = init_repo(tmp_path / "repo")
    write(root, {"pkg/big.py": "".join(f"VALUE_{i} = {i} * {i}\n" for i in range(400))})
    git(root, "add", "pkg/big.py")
    skip = _request(root, context=2048)[3]
    assert skip is not None and skip.startswith("skipped: the staged diff (")
    assert "leaves no room for the repository in the model's 2,048-token context" in skip


def test_the_prompt_fits_the_context(tmp_path: Path) -> None:
    files = {f"pkg/m{i}.py": "".join(f"def f{i}_{j}():\n    return {j}\n\n" for j in range(80))
             for i in range(10)}  # fmt: skip
    root = init_repo(tmp_path / "repo", {**SOURCES, **files})
    write(root, {"pkg/core.py": "def add(a, b):\n    return b + a\n"})
    git(root, "add", "-A")
    scanned, prompt, options, skip = _request(root, context=4096, budget=100_000)
    assert skip is None
    used = sum(scanned.counter.count(m.content) for m in prompt.messages)
    assert used + options.max_tokens <= 4096


@pytest.mark.parametrize("n", [1, 3])
def test_answer_room_grows_with_suggestions(n: int) -> None:
    from repoctx.hook.prompt import answer_tokens

    assert answer_tokens(Settings(max_suggestions=n)) == 256 + 160 * n
    assert answer_tokens(Settings(max_suggestions=n, think=True)) == 256 + 160 * n + 2048
