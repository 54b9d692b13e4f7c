"""The relevance model (repoctx.packing.relevance): each signal on a small repository with real git
history, the plan by value per token, and the reasons the manifest gives."""

from __future__ import annotations

import os
from pathlib import Path

import git

import repoctx
from repoctx.packing.relevance import cochange, knapsack, model, signals


def _commit(repo: git.Repo, files: dict[str, str], message: str, when: int) -> None:
    root = Path(repo.working_tree_dir or ".")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
        repo.git.add(rel)
    env = {"GIT_AUTHOR_DATE": f"{when} +0000", "GIT_COMMITTER_DATE": f"{when} +0000"}
    repo.git.commit("-m", message, env={**os.environ, **env})


FILES = {
    "pkg/__init__.py": "from pkg.engine import Engine\nfrom pkg.wheel import Wheel\n",
    "pkg/engine.py": "class Engine:\n    def start(self) -> int:\n        return 1\n",
    "pkg/wheel.py": "class Wheel:\n    size = 3\n",
    "pkg/horn.py": "def honk() -> str:\n    return 'beep'\n",
    "pkg/brake.py": "def stop() -> int:\n    return 0\n",
    "tests/test_engine.py": "from pkg import Engine\n\n\ndef test_start():\n"
                            "    assert Engine().start() == 1\n",
    "tests/test_wheel.py": "from pkg import Wheel\n\n\ndef test_size():\n"
                           "    assert Wheel.size == 3\n",
    "docs/guide.py": "print('guide')\n",
    "types/index.d.ts": "export declare const a: number;\n",
    "types/index.d.cts": "export declare const a: number;\n",
    "lib/adapters/fetch.js": "module.exports = 1;\n",
    "test/unit/adapters/fetch.js": "const f = require('./x');\n",
}


def _repo(make_repo) -> Path:  # type: ignore[no-untyped-def]
    root: Path = make_repo(FILES, git=True)
    repo = git.Repo(root)
    for i in range(5):  # horn.py and brake.py change together, again and again
        _commit(repo, {"pkg/horn.py": f"def honk() -> str:\n    return 'beep{i}'\n",
                       "pkg/brake.py": f"def stop() -> int:\n    return {i + 1}\n"},
                f"tune {i}", 1_700_000_000 + i)
    return root


def _signals(root: Path, focus: str) -> signals.Signals:
    repo = repoctx.scan(root)
    nodes = list(repo.files)
    return model.collect(repo, [focus], nodes)


def test_cochange_couples_files_committed_together(make_repo) -> None:
    root = _repo(make_repo)
    found = _signals(root, "pkg/horn.py")
    assert found.values["pkg/brake.py"]["cochange_conf"] > 0.8
    assert found.count["pkg/brake.py"] == 6  # five tuning commits and the first one
    assert found.values.get("pkg/engine.py", {}).get("cochange_conf", 0) < 0.5


def test_cochange_is_mined_once_and_extended_incrementally(make_repo, tmp_path: Path) -> None:
    root = _repo(make_repo)
    cache = tmp_path / "cache"
    first = cochange.mine(root, cache)
    assert len(first.commits) == 6 and len(list((cache / "cochange").iterdir())) == 1
    _commit(git.Repo(root), {"pkg/wheel.py": "class Wheel:\n    size = 4\n"}, "w", 1_800_000_000)
    second = cochange.mine(root, cache)
    assert second.commits[0] == ("pkg/wheel.py",) and second.commits[1:] == first.commits
    assert cochange.mine(root, cache) == second  # from the cache, same answer


def test_huge_commits_say_nothing_about_coupling(make_repo) -> None:
    root = _repo(make_repo)
    many = {f"gen/f{i}.py": "x = 1\n" for i in range(cochange.HUGE + 1)}
    _commit(git.Repo(root), {**many, "pkg/horn.py": "def honk() -> str:\n    return ''\n"},
            "regenerate", 1_800_000_000)
    history = cochange.mine(root, None)
    assert all(len(files) <= cochange.HUGE for files in history.commits)


def test_tests_reach_the_code_through_the_package_root(make_repo) -> None:
    root = _repo(make_repo)
    found = _signals(root, "pkg/engine.py")
    assert found.values["tests/test_engine.py"]["barrel"] == 1.0  # via pkg/__init__.py
    assert found.values["tests/test_engine.py"]["uses_focus"] == 1.0  # names Engine
    assert found.used["tests/test_engine.py"] == "Engine"
    assert "uses_focus" not in found.values.get("tests/test_wheel.py", {})
    assert found.values["pkg/__init__.py"]["imported_by"] == 1.0


def test_test_and_source_pair_by_name_and_mirrored_path(make_repo) -> None:
    root = _repo(make_repo)
    assert _signals(root, "pkg/engine.py").values["tests/test_engine.py"]["test_pair"] == 1.0
    mirrored = _signals(root, "lib/adapters/fetch.js").values["test/unit/adapters/fetch.js"]
    assert mirrored["test_pair"] == 1.5  # same name, and the folder "adapters" mirrored
    assert signals.core_stem("src/app.test.ts") == signals.core_stem("src/app.ts") == "app"
    assert signals.core_stem("GsonTest.java") == "gson"
    assert signals.core_stem("gin_test.go") == "gin"


def test_siblings_and_twins(make_repo) -> None:
    root = _repo(make_repo)
    found = _signals(root, "types/index.d.ts")
    assert found.values["types/index.d.cts"]["twin"] == 1.0
    engine = _signals(root, "pkg/engine.py")
    assert engine.values["pkg/wheel.py"]["sibling"] == 1.0
    assert "twin" not in engine.values["pkg/wheel.py"]


def test_kind_signals_mark_support_code_and_tiny_files(make_repo) -> None:
    root = _repo(make_repo)
    (root / "pkg" / "empty.py").write_text("")
    found = _signals(root, "pkg/engine.py")
    assert found.values["pkg/empty.py"]["tiny"] == 1.0
    assert found.values["tests/test_engine.py"]["is_test"] == 1.0


def test_plan_chooses_by_value_per_token_and_degrades_a_large_focus() -> None:
    focus = knapsack.Item("big.py", 1.0, 9000, 1200)
    items = [knapsack.Item("huge.py", 0.6, 7000, 900), knapsack.Item("a.py", 0.5, 800, 100),
             knapsack.Item("b.py", 0.4, 700, 90), knapsack.Item("noise.py", 0.001, 10, 5)]
    plan = knapsack.plan([focus], items, 8_000)
    assert "big.py" in plan.skeleton  # over the budget: its skeleton instead
    assert plan.full[:2] == ("a.py", "b.py")  # more value per token than huge.py
    assert "huge.py" in plan.skeleton  # too big for what is left: its outline
    roomy = knapsack.plan([focus], items, 11_000)  # room for all three
    assert "huge.py" in roomy.full
    assert "noise.py" not in plan.full + plan.skeleton
    small = knapsack.plan([knapsack.Item("f.py", 1.0, 1000, 100)], items, 10_000)
    assert small.full[0] == "f.py"


def test_pack_reasons_name_the_signals(make_repo) -> None:
    root = _repo(make_repo)
    result = repoctx.pack(repoctx.scan(root), 4000, focus=["pkg/horn.py"])
    rows = {e.path: e for e in result.files}
    assert rows["pkg/horn.py"].reason.startswith("focus")
    assert rows["pkg/brake.py"].tier == "full"
    assert "changed with pkg/horn.py in 6 commits" in rows["pkg/brake.py"].reason
    engine = repoctx.pack(repoctx.scan(root), 4000, focus=["pkg/engine.py"])
    reasons = {e.path: e.reason for e in engine.files}
    assert "test of pkg/engine.py" in reasons["tests/test_engine.py"]


def test_pack_with_focus_is_deterministic(make_repo) -> None:
    root = _repo(make_repo)
    texts = {repoctx.pack(repoctx.scan(root), 3000, focus=["pkg/engine.py"]).text
             for _ in range(3)}
    assert len(texts) == 1
