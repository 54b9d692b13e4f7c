from __future__ import annotations

import os
import threading
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import repoctx
from repoctx.packing.selection import COUNT_AHEAD
from repoctx.scanning import workers as analyse
from repoctx.scanning.cache import Cache
from repoctx.scanning.tokens import qwen35
from repoctx.scanning.workers import Analysed, Job, Unreadable, analyse_again, analyse_all


def _jobs(root: Path) -> list[Job]:
    return [Job(p.relative_to(root).as_posix(), p, "python", p.stat().st_size)
            for p in sorted(root.glob("*.py"))]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_workers_give_the_same_results(make_repo, monkeypatch: pytest.MonkeyPatch,
                                       workers: str) -> None:
    root = make_repo({f"m{i}.py": f"import m{i + 1}\n\ndef f{i}(x):\n    return x\n"
                      for i in range(70)})
    monkeypatch.setenv("REPOCTX_WORKERS", "1")
    serial = {o.path: o for o in analyse_all(_jobs(root), qwen35(), lambda d, t: None)}
    monkeypatch.setenv("REPOCTX_WORKERS", workers)
    seen: list[tuple[int, int]] = []
    outcomes = analyse_all(_jobs(root), qwen35(), lambda d, t: seen.append((d, t)))
    other = {o.path: o for o in outcomes}
    assert set(serial) == set(other)
    for path, outcome in serial.items():
        assert isinstance(outcome, Analysed)
        twin = other[path]
        assert isinstance(twin, Analysed)
        assert (twin.digest, twin.facts, twin.tokens, twin.skeleton_tokens) == \
            (outcome.digest, outcome.facts, outcome.tokens, outcome.skeleton_tokens)
    assert seen[-1] == (70, 70)


def test_unreadable_file_is_an_outcome_not_an_exception(tmp_path: Path) -> None:
    job = Job("gone.py", tmp_path / "gone.py", "python", 0)
    outcomes = list(analyse_all([job], qwen35(), lambda d, t: None))
    assert outcomes == [Unreadable("gone.py", "changed during the run: deleted")]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_lazy_outcomes_in_workers_leave_the_skeleton_unrendered(
        make_repo, monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    root = make_repo({f"m{i}.py": f"def f{i}(x):\n    return x\n" for i in range(8)})
    monkeypatch.setenv("REPOCTX_WORKERS", workers)
    idle: list[int] = []
    outcomes = list(analyse_all(_jobs(root), None, lambda d, t: None, lambda: idle.append(1)))
    assert len(outcomes) == 8
    for outcome in outcomes:
        assert isinstance(outcome, Analysed) and outcome.tokens is None
        parsed = outcome.facts["parsed"]
        assert isinstance(parsed, dict)
        # in workers the pack's skeletons wait (null, never ""), and so do the definitions
        # of a language whose graph does not read them; few jobs render at once
        assert parsed["definitions"] == (None if workers == "2" else [
            {"kind": "function", "name": f"f{outcome.path[1:-3]}", "line": 1, "end_line": 2}])
        expected = f"def f{outcome.path[1:-3]}(x):\n    ...\n"
        assert parsed["skeleton"] == (None if workers == "2" else expected)
    assert idle == ([1] if workers == "2" else [])  # the caller's work, while workers parse


def test_the_qwen_counter_is_built_on_first_use() -> None:
    from repoctx.scanning.tokens import QwenCounter

    counter = QwenCounter()
    assert counter._built is None
    assert counter.count("def f(): pass") == qwen35().count("def f(): pass")
    assert counter._built is not None


def test_a_packs_candidates_are_analysed_again_in_workers_only_when_it_pays(
        make_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: workers never pay")
    monkeypatch.delenv("REPOCTX_WORKERS", raising=False)
    root = make_repo({f"m{i}.py": f"def f{i}(x):\n    return x\n" * 800 for i in range(8)})
    jobs = _jobs(root)
    assert sum(j.size for j in jobs) >= analyse.AGAIN_MIN_BYTES
    outcomes = analyse_again(jobs, qwen35())
    assert outcomes is not None and len(outcomes) == 8
    for outcome in outcomes:  # complete: the skeleton rendered, everything counted
        serial = analyse.analyse_file(Job(outcome.path, root / outcome.path, "python", 0),
                                      qwen35())
        assert isinstance(outcome, Analysed) and isinstance(serial, Analysed)
        assert outcome.facts["parsed"]["skeleton"]  # type: ignore[index]
        assert (outcome.facts, outcome.tokens, outcome.skeleton_tokens) == \
            (serial.facts, serial.tokens, serial.skeleton_tokens)
    assert analyse_again(jobs[:2], qwen35()) is None  # too few to pay for the workers
    monkeypatch.setattr(analyse, "AGAIN_MIN_BYTES", 10**9)
    assert analyse_again(jobs, qwen35()) is not None  # eight files are enough
    monkeypatch.setattr(analyse, "AGAIN_MIN_FILES", 9)
    assert analyse_again(jobs, qwen35()) is None
    monkeypatch.setenv("REPOCTX_WORKERS", "2")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:  # only forked workers pay: a process with threads would have to spawn them
        assert analyse_again(jobs, qwen35()) is None
    finally:
        stop.set()
        other.join()


@pytest.mark.parametrize("count", [True, False])
def test_outcomes_cross_from_workers_as_plain_tuples_unchanged(
        make_repo, tmp_path: Path, count: bool) -> None:
    root = make_repo({"a.py": "import os\n\n\ndef f():\n    return 1\n"})
    jobs = [*_jobs(root), Job("gone.py", tmp_path / "gone.py", "python", 0)]
    crossed = [analyse._from_wire(w) for w in analyse._analyse_chunk(count, jobs)]
    direct = [analyse.analyse_file(job, qwen35()) if count else
              analyse.analyse_file(job, skeleton_text=False, lean=True, texts=False)
              for job in jobs]
    assert crossed == direct
    assert isinstance(crossed[1], Unreadable)


def test_a_pack_forks_one_pool_however_many_batches_it_counts(
        make_repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 item 15: the selection counts its candidates in batches (COUNT_AHEAD), and
    each batch made its own pool (313 pools, 628 forks, for a cold pack of 100k files)."""
    monkeypatch.setenv("REPOCTX_WORKERS", "2")
    files = 5 * COUNT_AHEAD
    root = make_repo({f"m{i:03}.py": f"def f{i}(x):\n    return x\n" for i in range(files)})
    repo = repoctx.scan(root, count=False)  # lazily counted, as a pack scans
    created: list[int] = []

    class Counted(ProcessPoolExecutor):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            created.append(kwargs.get("max_workers", 0))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(analyse, "ProcessPoolExecutor", Counted)
    result = repoctx.pack(repo, 200_000)
    assert result.counts()["full"] == files  # every batch was counted ...
    assert created == [2]  # ... by the one pool of this pack
    again = repoctx.pack(repoctx.scan(root, count=False, cache=Cache(enabled=False)), 200_000)
    assert again.text == result.text and len(created) == 3  # (its scan's pool and its own)
