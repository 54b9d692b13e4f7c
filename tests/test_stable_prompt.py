"""A commit should change the packed prompt as late as possible (issue 9: prefix reuse): the xml
tags survive an edit, and a file just committed stays among the volatile files at the end."""

from __future__ import annotations

import os
from pathlib import Path

import git

import repoctx
from repoctx.scanning.history import RECENT, churn

FILES = {f"{name}.py": f"def {name}():\n    return {i}\n" for i, name in enumerate("abcdef")}


def common(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def test_an_edit_leaves_the_xml_tags_of_other_files_alone(make_repo) -> None:
    root = make_repo(FILES)
    before = repoctx.pack(repoctx.scan(root), 5000, fmt="xml").text
    (root / "f.py").write_text(FILES["f.py"] + "# edited\n")
    after = repoctx.pack(repoctx.scan(root), 5000, fmt="xml").text
    start = after.index("<file-", after.index('path="e.py"'))  # the block after e.py
    assert common(before, after) > start  # unchanged up to the edited file's body


def test_a_body_holding_the_boundary_gets_another_one(make_repo) -> None:
    root = make_repo(FILES)
    text = repoctx.pack(repoctx.scan(root), 5000, fmt="xml").text
    boundary = text.split('boundary="', 1)[1].split('"', 1)[0]
    (root / "g.py").write_text(f"TAG = '</file-{boundary}>'\n")  # a file that knows it
    hostile = repoctx.pack(repoctx.scan(root), 5000, fmt="xml").text
    other = hostile.split('boundary="', 1)[1].split('"', 1)[0]
    assert other != boundary and hostile.count(f"</file-{other}>") == len(FILES) + 1


def _commit(repo: git.Repo, files: dict[str, str], when: int) -> None:
    root = Path(repo.working_tree_dir or ".")
    for rel, text in files.items():
        (root / rel).write_text(text)
        repo.git.add(rel)
    env = {"GIT_AUTHOR_DATE": f"{when} +0000", "GIT_COMMITTER_DATE": f"{when} +0000"}
    repo.git.commit("-m", "change", env={**os.environ, **env})


def test_a_file_just_committed_stays_late_so_the_next_commit_changes_less(make_repo) -> None:
    root = make_repo({**FILES, "notes.txt": "0\n"}, git=True)
    repo = git.Repo(root)
    for i in range(RECENT):  # the initial commit leaves the recent window
        _commit(repo, {"notes.txt": f"{i + 1}\n"}, 1_700_000_000 + i)
    (root / "c.py").write_text(FILES["c.py"] + "# first change\n")
    repo.git.add("c.py")
    first = repoctx.pack(repoctx.scan(root), 5000, fmt="qwen").text  # c.py staged: last
    _commit(repo, {}, 1_700_000_100)
    facts = churn(root, set(FILES))
    assert facts["c.py"].recent and facts["c.py"].bucket == 2
    assert not facts["a.py"].recent and facts["a.py"].bucket == 1
    (root / "e.py").write_text(FILES["e.py"] + "# next change\n")
    repo.git.add("e.py")
    result = repoctx.pack(repoctx.scan(root), 5000, fmt="qwen")
    order = [e.path for e in result.files if e.tier == "full"]
    assert order[-3:] == ["c.py", "notes.txt", "e.py"]  # volatile (by path), then staged
    placement = {e.path: e.placement for e in result.files}
    assert placement["c.py"].endswith(f"changed in the last {RECENT} commits")
    # the prompt now changes where e.py was, no longer where c.py used to be (earlier)
    assert common(first, result.text) >= first.index("<|file_sep|>d.py")
