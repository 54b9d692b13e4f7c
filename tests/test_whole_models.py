"""Whole-repo review end to end with real models: a tiny qwen35 GGUF on llama.cpp (fast, for
packs, order, resume and Ctrl-C), the same model behind a real llama_cpp.server for
``--parallel 2``, and the embedded Gemma 270M for merged JSON and SARIF.

The fixture repo is forced into several packs by a small ``--budget``.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llm_helpers import Server

from repoctx.cli import main
from repoctx.llm.fallback import BANNER
from repoctx.review.findings import validate_findings
from repoctx.review.whole.merge import normalised

FIXTURE = Path(__file__).parent.parent / "fixtures" / "whole-small"
PACKS = 5  # fixtures/whole-small at --budget 700 (test_whole.py checks the plan)


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / "whole-small"))


def _lines(err: str, suffix: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("repoctx: pack ")
            and line.endswith(suffix)]


def _headings(out: str) -> list[str]:
    return [line.split(":")[0] for line in out.splitlines() if line.startswith("## Pack ")]


@pytest.mark.slow
def test_local_review_in_packs_resumes_and_redoes_only_the_changed_pack(
    tmp_path: Path, qwen35_gguf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = _copy(tmp_path)
    args = ["review", str(repo), "--model", str(qwen35_gguf), "--whole", "--budget", "700",
            "--max-tokens", "8", "--parallel", "2"]  # fmt: skip
    written = tmp_path / "review.md"
    assert main([*args, "--output", str(written)]) == 0
    first = capsys.readouterr()
    assert "a local model reviews one pack at a time" in first.err
    assert len(_lines(first.err, "· reviewing")) == PACKS
    assert _headings(first.out) == [f"## Pack {i} of {PACKS}" for i in range(1, PACKS + 1)]
    assert first.out.index(f"## Pack {PACKS} of") < first.out.index("## Whole-repo overview")
    assert f"{PACKS} of {PACKS} packs reviewed (0 stored reviews reused) · {PACKS + 1} model " \
           "calls" in first.out
    document = written.read_text(encoding="utf-8")
    assert document.index("## Whole-repo overview") < document.index("## Pack 1 of")

    assert main(args) == 0  # nothing changed: every pack and the merge pass are stored
    again = capsys.readouterr()
    assert _lines(again.err, "· reviewing") == []
    assert len(_lines(again.err, "stored review reused")) == PACKS
    assert f"({PACKS} stored reviews reused) · 0 model calls" in again.out

    store = repo / "inventory" / "store.py"  # a body edit: its skeleton in other packs stays
    store.write_text(store.read_text().replace("no check", "unchecked"), encoding="utf-8")
    assert main(args) == 0
    edited = capsys.readouterr()
    assert [line.split(" · ")[0] for line in _lines(edited.err, "· reviewing")] == [
        f"repoctx: pack 3 of {PACKS}"]
    # that pack, and the merge pass unless the pack's new review reads the same as before
    assert "· 2 model calls" in edited.out or "· 1 model call ·" in edited.out


@pytest.mark.slow
def test_an_interrupted_run_resumes_from_the_stored_packs(tmp_path: Path,
                                                          qwen35_gguf: Path) -> None:
    """The core API: closing the event generator (what Ctrl-C does) after the first pack, a
    second run reviews only the rest, and a third evaluates no token at all."""
    import llama_cpp  # noqa: F401  (before numpy)

    import repoctx
    from repoctx.llm.base import Options
    from repoctx.llm.llamacpp import LlamaCppBackend
    from repoctx.llm.runtime import LoadSettings
    from repoctx.packing.plan import plan_packs
    from repoctx.review.whole.job import Job, PartFinished, WholeDone, review_whole
    from repoctx.review.whole.prompts import Spec
    from repoctx.review.whole.store import ResultStore

    repo = repoctx.scan(FIXTURE)
    plan = plan_packs(repo, 700, fmt="qwen")
    backend = LlamaCppBackend(qwen35_gguf, LoadSettings(n_ctx=2048, n_batch=512, n_ubatch=512))
    store = ResultStore(tmp_path)
    job = Job(Spec("whole-small", "tiny-qwen35", Options(max_tokens=8, temperature=0)),
              backend.context_length)
    try:
        events = review_whole(repo, plan, backend, job, store)
        for event in events:
            if isinstance(event, PartFinished):
                break
        events.close()  # interrupted after pack 1
        cached = {e.result.part.number: e.result.cached
                  for e in review_whole(repo, plan, backend, job, store)
                  if isinstance(e, PartFinished)}
        assert cached == {1: True, **{n: False for n in range(2, PACKS + 1)}}
        before = backend.evaluated_tokens
        done = [e for e in review_whole(repo, plan, backend, job, store)
                if isinstance(e, WholeDone)]
        assert backend.evaluated_tokens == before  # everything came from the store
        assert all(r.cached for r in done[0].report.results) and done[0].report.stats == []
    finally:
        store.close()
        backend.close()


@pytest.mark.slow
def test_ctrl_c_keeps_finished_packs_for_the_next_run(tmp_path: Path, qwen35_gguf: Path) -> None:
    repo = _copy(tmp_path)
    cmd = [sys.executable, "-m", "repoctx", "review", str(repo), "--model", str(qwen35_gguf),
           "--whole", "--budget", "700", "--max-tokens", "96"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = ""
    while f"pack 2 of {PACKS} done" not in seen:
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=120)
    assert proc.returncode == 130, seen + rest
    assert "interrupted" in rest and "Traceback" not in rest
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    reused = _lines(again.stderr, "stored review reused")
    reviewed = _lines(again.stderr, "· reviewing")
    assert reused[:2] == [f"repoctx: pack {i} of {PACKS} · {n} · stored review reused"
                          for i, n in ((1, "4 files"), (2, "2 files"))]
    assert len(reused) + len(reviewed) == PACKS and reviewed


@pytest.fixture
def parallel_server(qwen35_gguf: Path) -> Iterator[Server]:
    """llama_cpp.server that lets requests overlap: by default it cuts a streaming answer off
    when the next request arrives."""
    server = Server(qwen35_gguf, extra=("--interrupt_requests", "False"))
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_parallel_review_against_a_real_server(
    tmp_path: Path, parallel_server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["review", str(FIXTURE), "--server", parallel_server.url, "--whole",
                 "--budget", "700", "--max-tokens", "8", "--parallel", "2"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "· 2 at a time" in captured.out
    progress = [line for line in captured.err.splitlines() if line.startswith("repoctx: pack")]
    assert progress[0].endswith("reviewing") and progress[1].endswith("reviewing")  # in flight
    assert _headings(captured.out) == [f"## Pack {i} of {PACKS}" for i in range(1, PACKS + 1)]
    assert f"{PACKS + 1} model calls" in captured.out


@pytest.mark.slow
def test_merged_json_and_sarif_from_the_fallback_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = FIXTURE.parent / "review-small"  # 2 packs at 700: the 270M model is slow here
    args = ["review", str(small), "--whole", "--budget", "700", "--max-tokens", "200"]
    assert main([*args, "--format", "json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc.pop("model")["fallback"] is True  # structured, not only the banner
    assert validate_findings(doc) == [] and doc["summary"].startswith(BANNER)
    parts = len(_lines(captured.err, "· reviewing"))
    assert parts >= 2
    assert all((small / f["path"]).is_file() for f in doc["findings"])
    keys = [(f["path"], f["line"], f["category"], normalised(f["message"]))
            for f in doc["findings"]]
    assert len(keys) == len(set(keys))  # de-duplicated

    out = tmp_path / "review.sarif"
    assert main([*args, "--format", "sarif", "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert _lines(captured.err, "· reviewing") == []  # the JSON run's packs are reused
    sarif = json.loads(out.read_text(encoding="utf-8"))
    assert json.loads(captured.out) == sarif
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    rules = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert len(run["results"]) == len(doc["findings"])
    for result in run["results"]:
        assert result["ruleId"] in rules and result["level"] == "note"  # never an error
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert (small / location["artifactLocation"]["uri"]).is_file()
        assert location["region"]["startLine"] >= 1 and result["message"]["text"]
