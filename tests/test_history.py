from __future__ import annotations

import json
import os
import re
from pathlib import Path

import git

import repoctx
from repoctx.cli import main
from repoctx.scanning.history import churn


def _commit(repo: git.Repo, files: dict[str, str], message: str, when: int) -> None:
    root = Path(repo.working_tree_dir or ".")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
        repo.git.add(rel)
    env = {"GIT_AUTHOR_DATE": f"{when} +0000", "GIT_COMMITTER_DATE": f"{when} +0000"}
    repo.git.commit("-m", message, env={**os.environ, **env})


def _history_repo(make_repo) -> Path:  # type: ignore[no-untyped-def]
    root = make_repo({"core.py": "X = 1\n", "hot.py": "Y = 1\n", "calm.py": "Z = 1\n",
                      "app.py": "import core\nimport hot\nimport calm\n"}, git=True)
    repo = git.Repo(root)
    for i in range(4):
        _commit(repo, {"hot.py": f"Y = {i + 2}\n"}, f"tune hot {i}", 1_700_000_000 + i)
    return root


def test_churn_counts_commits_and_work_tree_edits(make_repo) -> None:
    root = _history_repo(make_repo)
    (root / "calm.py").write_text("Z = 2\n")  # being edited now
    facts = churn(root, {"core.py", "hot.py", "calm.py", "app.py"})
    assert facts["hot.py"].commits == 5 and facts["hot.py"].bucket == 2
    assert facts["core.py"].commits == 1 and facts["core.py"].bucket == 1
    assert facts["calm.py"].dirty and facts["calm.py"].bucket == 3


def test_stable_files_go_first_among_valid_orders(make_repo, tmp_path: Path) -> None:
    root = _history_repo(make_repo)
    (root / "calm.py").write_text("Z = 2\n")
    result = repoctx.pack(repoctx.scan(root), 5000)
    order = [e.path for e in result.files if e.tier == "full"]
    assert order.index("core.py") < order.index("hot.py") < order.index("calm.py")
    assert order[-1] == "app.py"  # still after everything it imports
    plain = repoctx.pack(repoctx.scan(root), 5000, stable_order=False)
    assert [e.path for e in plain.files if e.tier == "full"][:3] == \
        ["calm.py", "core.py", "hot.py"]


def test_manifest_says_why_each_file_is_where_it_is(make_repo, tmp_path: Path,
                                                   capsys) -> None:  # type: ignore[no-untyped-def]
    root = _history_repo(make_repo)
    manifest = tmp_path / "m.json"
    assert main(["pack", str(root), "--budget", "5000", "--manifest", str(manifest)]) == 0
    rows = {r["path"]: r for r in json.loads(manifest.read_text())["files"]}
    assert re.fullmatch(r"imports nothing in the repo; 5 commits in the last 500, "
                        r"last on \d{4}-\d\d-\d\d", rows["hot.py"]["placement"])
    assert rows["app.py"]["placement"].startswith("after its 3 import(s); 1 commit")


def test_churn_of_non_ascii_and_subdirectory_paths(make_repo) -> None:  # type: ignore[no-untyped-def]
    """git quotes such names in `log --name-only` unless told not to; a scan rooted in a
    subdirectory sees paths relative to itself."""
    root = make_repo({"pkg/é.py": "A = 1\n", "pkg/plain.py": "B = 1\n"}, git=True)
    repo = git.Repo(root)
    _commit(repo, {"pkg/é.py": "A = 2\n"}, "accent", 1_700_000_000)
    facts = churn(root, {"pkg/é.py", "pkg/plain.py"})
    assert facts["pkg/é.py"].commits == 2 and facts["pkg/plain.py"].commits == 1
    inner = churn(root / "pkg", {"é.py", "plain.py"})
    assert inner["é.py"].commits == 2


def test_no_history_without_commits_or_git(tmp_path: Path) -> None:
    assert churn(tmp_path, {"a.py"}) == {}
    git.Repo.init(tmp_path)
    (tmp_path / "a.py").write_text("A = 1\n")
    assert churn(tmp_path, {"a.py"}) == {}  # no commit yet: git log fails
