"""Incremental ingest through the front ends, for real: the hook's next commit against a warm
``repoctx serve`` (and one restarted from its saved state), and ``repoctx review`` run twice
with a local model (the second resumes from the state the first saved)."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from test_hook_common import git, init_repo, start_serve, stop_serve, write

from repoctx.cli import main
from repoctx.hook import run as hook
from repoctx.llm.prefix_states import StateStore

pytestmark = pytest.mark.slow
FILES = {f"pkg/m{i:02d}.py": "".join(f"def f{i}_{j}(x):\n    return x * {j} + {i}\n\n"
                                     for j in range(5)) for i in range(10)}  # fmt: skip
FILES["pyproject.toml"] = "[tool.repoctx.hook]\nbudget = 6000\nmax_suggestions = 1\n"
LAST = "pkg/m09.py"  # last by path and imported by nothing: last in the pack either way


@pytest.fixture(autouse=True)
def _checkpoint_every_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPOCTX_CHECKPOINT_TOKENS", "32")  # inherited by repoctx serve


def commit_through_hook(root: Path, env: dict[str, str], n: int) -> hook.Outcome:
    write(root, {LAST: (root / LAST).read_text() + f"\ndef added_{n}():\n    return {n}\n"})
    git(root, "add", LAST)
    outcome, _ = hook.run(root, {}, env)
    git(root, "commit", "-q", "--no-verify", "-m", f"change {n}")
    assert outcome.stats is not None, outcome.reason
    return outcome


def health(url: str) -> dict[str, object]:
    with urllib.request.urlopen(f"{url}/health", timeout=10) as response:
        doc: dict[str, object] = json.loads(response.read())
    return doc


def test_hook_next_commit_resumes_from_serve_and_from_its_saved_state(
    tmp_path: Path, qwen35_gguf: Path
) -> None:
    root = init_repo(tmp_path / "repo", FILES)
    cache = tmp_path / "serve-cache"
    served = start_serve(qwen35_gguf, cache, ctx=8192)
    try:
        env = {"REPOCTX_SERVER": served.url, "PATH": "/usr/bin:/bin"}
        first = commit_through_hook(root, env, 1)
        assert first.stats is not None and first.stats.cached_tokens == 0
        second = commit_through_hook(root, env, 2)
        assert second.stats is not None
        ingest = health(served.url)["ingest"]
        assert isinstance(ingest, dict) and ingest["checkpoints"] > 5
    finally:
        stop_serve(served)  # SIGTERM: the last repo prefix goes to the state cache
    cached = second.stats.cached_tokens
    assert ingest["last_cached_tokens"] == cached
    assert cached > 0.5 * second.stats.prompt_tokens  # everything up to the edited file
    (saved,) = StateStore(cache / "states").entries()
    restarted = start_serve(qwen35_gguf, cache, ctx=8192)
    try:
        env["REPOCTX_SERVER"] = restarted.url
        third = commit_through_hook(root, env, 3)
    finally:
        stop_serve(restarted)
    assert third.stats is not None and third.stats.cached_tokens >= cached - 64
    assert third.stats.cached_tokens <= saved.n


def test_second_review_resumes_from_the_saved_state_and_says_so(
    make_repo, qwen35_gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_repo({k: v for k, v in FILES.items() if k.endswith(".py")})
    answers, reused = [], []
    for run in range(2):
        out = tmp_path / f"review{run}.md"
        code = main(["review", str(root), "--model", str(qwen35_gguf), "--budget", "3000",
                     "--max-tokens", "16", "--output", str(out)])  # fmt: skip
        assert code == 0, capsys.readouterr().err
        text = out.read_text()
        footer = re.search(r"tokens in ([\d,]+) \(([\d,]+) reused\)", text)
        assert footer is not None
        reused.append(int(footer.group(2).replace(",", "")))
        answers.append(text[: footer.start()])
    capsys.readouterr()
    assert reused[0] == 0 and reused[1] > 1000  # the whole packed repo
    assert answers[0] == answers[1]  # the review itself is unchanged
