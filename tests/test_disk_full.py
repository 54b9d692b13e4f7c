"""Disk full while writing the result: one line, exit 1, and never a partial file in place.

A real child process runs the CLI with RLIMIT_FSIZE set and SIGXFSZ ignored, so the kernel
fails its writes past the limit with EFBIG exactly as a full disk fails them with ENOSPC:
``--output`` and ``--manifest`` go through repoctx.atomic (temp file + rename), so the old
file stays whole and no temp file is left; stdout redirected to a file must not be cut short
in silence (Python's text layer ignores short writes).
"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

FIXTURE = Path(__file__).parent.parent / "fixtures" / "review-small"
LIMIT = 1000  # bytes: the packed fixture is ~3 KB, a review document more


def _limited() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _run(args: list[str], stdout: int | IO[str] = subprocess.PIPE,
         ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run([sys.executable, "-m", "repoctx", *args], preexec_fn=_limited,
                          stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=600)


def _one_line(done: subprocess.CompletedProcess[str], what: str) -> None:
    lines = [line for line in done.stderr.splitlines() if line.startswith("repoctx:")]
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert any(what in line and "File too large" in line for line in lines), done.stderr


@pytest.mark.parametrize("flag", ["--output", "--manifest"])
def test_pack_file_outputs_stay_whole(flag: str, tmp_path: Path) -> None:
    target = tmp_path / "result"
    target.write_text("the previous result\n")
    done = _run(["pack", str(FIXTURE), "--budget", "4000", "--no-cache", flag, str(target)])
    _one_line(done, str(target))
    assert target.read_text() == "the previous result\n"  # not replaced, not truncated
    assert [p.name for p in tmp_path.iterdir()] == ["result"]  # no temp file left


def test_pack_to_a_redirected_stdout_is_not_cut_in_silence(tmp_path: Path) -> None:
    with (tmp_path / "prompt.txt").open("w") as redirected:
        done = _run(["pack", str(FIXTURE), "--budget", "4000", "--no-cache"], redirected)
    _one_line(done, "cannot write to stdout")


@pytest.mark.slow
def test_review_output_stays_whole(tmp_path: Path) -> None:
    target = tmp_path / "review.md"
    target.write_text("yesterday's review\n")
    done = _run(["review", str(FIXTURE), "--budget", "1500", "--max-tokens", "8", "--no-cache",
                 "--output", str(target)])  # fmt: skip
    _one_line(done, str(target))
    assert target.read_text() == "yesterday's review\n"
    assert [p.name for p in tmp_path.iterdir()] == ["review.md"]
