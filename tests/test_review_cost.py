"""`repoctx review` says what it will cost and what it is: flags checked before anything is
written, an empty repository refused, --whole only when asked (with its plan, time estimate
and a question on a terminal), plain progress lines off a terminal, and the fallback's
banner, answer cap, repetition guard and structured flag on every path (issue #19, 4–8)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_servers import FINDINGS, LOOP_LINE, start, stop

from repoctx.llm.base import Done, Event, PrefillProgress, Stats, Text
from repoctx.llm.fallback import BANNER
from repoctx.llm.repetition import Guard, guarded, looping_tail
from repoctx.packing.plan import PackPlan, PlannedPack
from repoctx.review.job import to_sarif
from repoctx.review.whole.cost import Rates, duration, estimate, measured, record

FIXTURE = Path(__file__).parent.parent / "fixtures" / "review-small"
WHOLE = Path(__file__).parent.parent / "fixtures" / "whole-small"  # 5 packs at 700 tokens
REPOCTX = [sys.executable, "-c", "import sys; from repoctx.cli import main; sys.exit(main())"]


def _run(*args: str, cwd: Path | None = None, timeout: float = 120,
         **env: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run([*REPOCTX, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **env})  # fmt: skip


@pytest.fixture()
def scripted() -> Iterator[str]:
    proc, url = start("findings")
    yield url
    stop(proc)


@pytest.fixture()
def looping() -> Iterator[str]:
    proc, url = start("loop")
    yield url
    stop(proc)


# ------------------------------------------------------------------ flags and empty input
@pytest.mark.parametrize(("flags", "message"), [
    (("--budget", "banana"),
     "--budget: expected a number of tokens like 65536 or 64k, not 'banana'"),
    (("--budget", "10"), "--budget 10: too small for a review"),
    (("--max-tokens", "0"), "--max-tokens 0: must be at least 1"),
    (("--yes",), "--yes only confirms --whole"),
    (("--whole-share", "2"), "whole_share must be a number in (0, 1]"),
])  # fmt: skip
def test_bad_flags_fail_before_anything_is_printed_or_written(
    tmp_path: Path, flags: tuple[str, ...], message: str
) -> None:
    out = tmp_path / "review.md"
    done = _run("review", str(FIXTURE), "-o", str(out), *flags,
                REPOCTX_CACHE_DIR=str(tmp_path / "cache"))  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and not out.exists()
    assert done.stderr.splitlines() == [f"repoctx: {done.stderr.split('repoctx: ', 1)[1]}"
                                        .rstrip("\n")]
    assert message in done.stderr
    assert not (tmp_path / "cache").exists()  # nothing scanned, nothing cached


def test_an_empty_directory_is_one_line_not_a_model_call(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "blank").mkdir()
    (tmp_path / "blank" / "a.py").write_text("")
    (tmp_path / "blank" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    for name, tail in (("empty", "nothing to review"),
                       ("blank", "nothing to review (2 files, none of them reviewable text)")):
        started = time.monotonic()
        done = _run("review", str(tmp_path / name), REPOCTX_CACHE_DIR=str(tmp_path / "c"))
        assert done.returncode == 2 and done.stdout == ""
        errors = [ln for ln in done.stderr.splitlines() if ln.startswith("repoctx:")
                  and not ln.startswith("repoctx: listed, not reviewed:")]  # why, if anything
        assert errors == [f"repoctx: {tmp_path / name}: {tail}"], done.stderr
        assert time.monotonic() - started < 30  # no model was loaded


# ------------------------------------------------------------------ repetition guard
def test_guard_stops_at_the_first_repeated_line_even_renumbered() -> None:
    guard = Guard()
    shown = guard.feed("## Risks\n1. The parser trusts its input blindly.\n")
    shown += guard.feed("```\n```\n2. The parser trusts its input blindly.\n3. more")
    assert shown == "## Risks\n1. The parser trusts its input blindly.\n```\n```\n"
    assert guard.looped and guard.flush() == ""
    fresh = Guard()
    assert fresh.feed("- one idea here, long enough\n- another idea, long enough\nend") == (
        "- one idea here, long enough\n- another idea, long enough\n")
    assert not fresh.looped and fresh.flush() == "end"


def test_guard_stops_a_template_filled_in_for_every_file() -> None:
    """The fallback's other loop (seen on a web framework): every bullet a new file name,
    every bullet ending in the same long sentence. The third time, the answer stops."""
    tail = ("It will be used to handle errors, such as :meth:`_get_current_request_context` "
            "and _get_flashed_messages().")
    bullets = [f"* `src/{name}.py`: this is an instance of the {name} class that handles "
               f"the {name}. {tail}\n" for name in ("client", "config", "session", "cli")]
    guard = Guard()
    assert guard.feed("".join(bullets)) == "".join(bullets[:2]) and guard.looped
    varied = Guard()
    lines = [f"* `src/{n}.py` handles the {n} settings for the application.\n" for n in "abcd"]
    assert varied.feed("".join(lines)) == "".join(lines) and not varied.looped


def test_guard_stops_a_loop_without_newlines() -> None:
    unit = "the same clause again, "
    text = "Start. " + unit * 3
    assert looping_tail(text) == len("Start. ") + len(unit)
    assert looping_tail("Start. " + unit * 2) is None
    guard = Guard()
    assert guard.feed(text) == "Start. " + unit and guard.looped


def _events(closed: list[bool]) -> Iterator[Event]:
    try:
        yield PrefillProgress(10, 10, 0, 100.0, None)
        yield Text("A first line that is long enough.\n")
        while True:
            yield Text(LOOP_LINE)
    finally:
        closed.append(True)


def test_guarded_stream_closes_the_generation_and_accounts_for_it() -> None:
    closed: list[bool] = []
    events = list(guarded(_events(closed)))
    texts = "".join(e.text for e in events if isinstance(e, Text))
    assert texts == "A first line that is long enough.\n" + LOOP_LINE
    assert closed == [True]
    done = events[-1]
    assert isinstance(done, Done) and done.stats.prompt_tokens == 10
    assert done.stats.output_tokens == 3 and done.stats.finish_reason == "stop"
    finished = list(guarded(iter([Text("short answer"), Done(Stats(output_tokens=2))])))
    assert finished == [Text("short answer"), Done(Stats(output_tokens=2))]


# ------------------------------------------------------------------ cost
def test_estimate_reads_every_pack_and_at_most_every_answer(tmp_path: Path) -> None:
    packs = tuple(PlannedPack(i, ("a.py",), (), 9_000) for i in range(4))
    plan = PackPlan(10_000, 9_000, 1_000, packs, (), ())
    rates = Rates(1_000.0, 10.0, "test")
    cost = estimate(plan, rates, 500)
    assert cost.low_s == pytest.approx(40.0)  # 4 × 10,000 tokens at 1,000 tok/s
    assert cost.high_s == pytest.approx(40.0 + 5 * 500 / 10)  # 4 answers and the merge
    assert estimate(plan, rates, 500, parallel=2).high_s == pytest.approx(cost.high_s / 2)
    assert cost.text() == "~40 s–5 min at 1,000 prefill and 10.0 decode tok/s (test)"
    assert [duration(s) for s in (5, 3600, 7200 * 12, 86400 * 3)] == [
        "5 s", "60 min", "24.0 h", "3.0 days"]
    path = tmp_path / "rates.json"
    assert measured("gguf:m", path) is None
    record("gguf:m", Stats(prompt_tokens=120, output_tokens=50, prefill_s=1, decode_s=1), path)
    assert measured("gguf:m", path) is None  # too short a prefill to be a rate
    record("gguf:m", Stats(prompt_tokens=5_000, cached_tokens=1_000, output_tokens=100,
                           prefill_s=2.0, decode_s=4.0), path)  # fmt: skip
    rates_now = measured("gguf:m", path)
    assert rates_now is not None and (rates_now.prefill, rates_now.decode) == (2_000.0, 25.0)
    assert rates_now.source.startswith("measured with this model on ")
    path.write_text("{not json")
    assert measured("gguf:m", path) is None


def test_whole_prints_its_cost_and_asks_on_a_terminal(tmp_path: Path, scripted: str) -> None:
    """On a terminal --whole says what it will take and waits for a yes; "n" starts nothing."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen([*REPOCTX, "review", str(WHOLE), "--whole", "--budget", "700",
                             "--max-tokens", "500", "--server", scripted],
                            stdin=secondary, stderr=secondary, stdout=subprocess.PIPE,
                            env={**os.environ, "NO_COLOR": "1",
                                 "REPOCTX_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 120
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        try:
            seen += os.read(primary, 4096)
        except OSError:
            break
    assert b"[y/N]" in seen, seen.decode(errors="replace")
    os.write(primary, b"n\n")
    out, _ = proc.communicate(timeout=60)
    rest = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        rest += chunk
    os.close(primary)
    text = (seen + rest).decode(errors="replace")
    assert proc.returncode == 1
    assert "whole-repo review: 5 packs of at most 700 tokens" in text
    assert "(assumed for a GPU server; not yet measured with it)" in text
    assert "not started" in text and "## Pack" not in out.decode()


def test_whole_off_a_terminal_starts_without_asking(tmp_path: Path, scripted: str) -> None:
    done = _run("review", str(WHOLE), "--whole", "--budget", "700", "--server", scripted,
                "--format", "json", "--max-tokens", "500",
                REPOCTX_CACHE_DIR=str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    assert "whole-repo review: 5 packs" in done.stderr and "[y/N]" not in done.stderr
    doc = json.loads(done.stdout)
    assert doc["model"]["fallback"] is False


# ------------------------------------------------------------------ the fallback everywhere
def test_sarif_from_the_fallback_is_never_an_error() -> None:
    doc = {**FINDINGS, "findings": [{**FINDINGS["findings"][0], "severity": "high"}]}
    real = to_sarif(doc, tool_version="0", model="m")
    tiny = to_sarif(doc, tool_version="0", model="m", fallback=True)
    assert real["runs"][0]["results"][0]["level"] == "error"
    assert tiny["runs"][0]["results"][0]["level"] == "note"
    assert tiny["runs"][0]["properties"]["model"] == {"name": "m", "fallback": True}


def test_a_served_fallback_gets_banner_cap_and_loop_guard(tmp_path: Path, looping: str) -> None:
    """`--server` at a repoctx serve of the fallback: the same banner, the fallback's answer
    cap (768), and its loop cut at the first repeat — with progress lines in the log."""
    out = tmp_path / "review.md"
    done = _run("review", str(FIXTURE), "--server", looping, "-o", str(out),
                REPOCTX_CACHE_DIR=str(tmp_path / "cache"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(BANNER)
    assert "requested max_tokens=768" in done.stdout
    assert done.stdout.count(LOOP_LINE.strip()) == 1
    assert out.read_text().startswith(BANNER)
    progress = [ln for ln in done.stderr.splitlines() if ln.startswith("repoctx · ")]
    assert progress[:3] == ["repoctx · walk…", "repoctx · parse…", "repoctx · graph…"]
    assert any(ln.startswith("repoctx · loading the model") for ln in progress)
    assert "repoctx · writing the answer" in progress


def test_scripted_findings_to_sarif_keep_their_severity(tmp_path: Path, scripted: str) -> None:
    done = _run("review", str(FIXTURE), "--server", scripted, "--format", "sarif",
                "--max-tokens", "500",
                REPOCTX_CACHE_DIR=str(tmp_path / "cache"))
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)["runs"][0]
    assert [r["level"] for r in run["results"]] == ["warning"]
    assert run["properties"]["model"]["fallback"] is False


def test_progress_lines_off_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """One line per stage, then one every LOG_EVERY_S while a server reads the prompt (it
    reports nothing) and while the answer is written."""
    from repoctx.cli import _review_render

    monkeypatch.setattr(_review_render, "LOG_EVERY_S", 0.1)
    renderer = _review_render.Renderer(json_mode=True, think=False)
    renderer.stage("loading the model (test)")
    renderer.prefill(PrefillProgress(0, 0, 0, 0.0, None))
    time.sleep(0.35)
    renderer.text("first")
    silent = capsys.readouterr().err.splitlines()
    time.sleep(0.25)  # the heartbeat stopped at the first token
    renderer.text(" second")
    renderer.close()
    lines = silent + capsys.readouterr().err.splitlines()
    assert lines[0] == "repoctx · loading the model (test)"
    assert lines[1] == "repoctx · reading the repo: the server is reading the prompt"
    waits = [ln for ln in lines if "waiting for the server's first token" in ln]
    assert 2 <= len(waits) <= 4 and all(ln in silent for ln in waits)
    assert lines[-2:] == ["repoctx · writing the answer",
                          "repoctx · writing the answer: 12 characters in 0 s"]
