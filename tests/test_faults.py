"""Model-server faults through `repoctx review`, against real misbehaving servers (processes of
our own on 127.0.0.1, tests/fault_servers.py): each is one line on stderr, exit 3, no
traceback, and ``--output`` keeps what had been produced.

Connection refused is covered by test_review.py::test_unreachable_server_is_one_line, and a
real llama_cpp.server killed mid-stream by test_llm_openai.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_servers import FIRST_WORDS, start, stop

from repoctx.cli import main

FIXTURE = Path(__file__).parent.parent / "fixtures" / "review-small"
ARGS = ("--budget", "1500", "--max-tokens", "8")


@pytest.fixture
def fault(request: pytest.FixtureRequest) -> Iterator[str]:
    proc, url = start(request.param)
    try:
        yield url
    finally:
        stop(proc)


def _review(url: str, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, float]:
    began = time.monotonic()
    code = main(["review", str(FIXTURE), "--server", url, *ARGS, "--output", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("repoctx:")]
    assert len(lines) == 1, err  # one line says what went wrong
    return code, lines[0], time.monotonic() - began


@pytest.mark.parametrize("fault", ["silent"], indirect=True)
def test_a_server_that_never_answers_is_one_line(fault: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, line, took = _review(fault, tmp_path / "out.md", capsys)
    assert code == 3 and "did not answer within 5 s" in line
    assert took < 30  # the probe's own limit, not the 600 s answer timeout
    assert "## Static facts" in (tmp_path / "out.md").read_text()


@pytest.mark.parametrize("fault", ["hang"], indirect=True)
def test_a_server_silent_after_the_request_times_out(fault: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPOCTX_SERVER_TIMEOUT", "2")
    code, line, took = _review(fault, tmp_path / "out.md", capsys)
    assert code == 3 and "did not answer within 2 s" in line
    assert took < 30  # one wait: a silent server is not retried
    assert "## Static facts" in (tmp_path / "out.md").read_text()


@pytest.mark.parametrize("fault", ["stall"], indirect=True)
def test_a_stream_that_stalls_keeps_the_partial_answer(fault: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPOCTX_SERVER_TIMEOUT", "2")
    code, line, _ = _review(fault, tmp_path / "out.md", capsys)
    assert code == 3 and "sent nothing for 2 s mid-answer" in line
    assert FIRST_WORDS in " ".join((tmp_path / "out.md").read_text().split())


@pytest.mark.parametrize("fault", ["die"], indirect=True)
def test_a_server_dying_mid_stream_keeps_the_partial_answer(fault: str, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:  # fmt: skip
    code, line, _ = _review(fault, tmp_path / "out.md", capsys)
    # close-delimited (HTTP/1.0 style): the end of the stream is the crash; chunked: an error
    assert code == 3 and ("before the answer was finished" in line or "mid-answer" in line)
    assert FIRST_WORDS in " ".join((tmp_path / "out.md").read_text().split())


def test_a_bad_timeout_setting_is_exit_2(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPOCTX_SERVER_TIMEOUT", "soon")
    code = main(["review", str(FIXTURE), "--server", "http://127.0.0.1:9", *ARGS])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "REPOCTX_SERVER_TIMEOUT must be a positive number of seconds, not 'soon'" in err
