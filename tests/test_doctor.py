from __future__ import annotations

import json
from pathlib import Path

import pytest

from repoctx.budget import plan, what_if
from repoctx.cli import main
from repoctx.llm.doctor import Report, SpeedRow, SystemFacts, cliffs

GiB = 1 << 30


def test_doctor_measures_a_real_model_on_the_cpu(qwen35_gguf: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--model", str(qwen35_gguf), "--ctx", "2048", "--depths",
                 "256,1024", "--requests", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["plan"]["n_ctx"] == 2048
    assert [row["depth"] for row in report["rows"]] == [256, 1024]
    assert all(row["prefill_tok_s"] > 0 and row["decode_tok_s"] > 0 for row in report["rows"])
    assert len(report["requests_memory_bytes"]) == 3
    assert report["system"]["gpu_offload"] is False
    assert report["flash_attention"] is True  # read from llama.cpp's context log line
    assert any("without GPU offload" in cliff for cliff in report["cliffs"])


def test_without_a_gpu_doctor_says_so_and_runs_a_short_check(
        qwen35_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--model", str(qwen35_gguf), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert "runs on the CPU" in captured.err and "short check" in captured.err
    assert "--full" in captured.err
    assert [row["depth"] for row in report["rows"]] == [512, 2048]
    assert len(report["requests_memory_bytes"]) == 2
    assert report["plan"]["n_ctx"] == 8192  # not the 262K a GPU plan would load


def test_full_keeps_the_gpu_sized_defaults() -> None:
    import argparse

    from repoctx.cli.doctor import _sizes

    full = argparse.Namespace(depths=None, requests=None)
    assert _sizes(full, short=False) == ([8192, 32768, 65536], 10, 16_384)
    assert _sizes(full, short=True) == ([512, 2048], 2, 2048)
    asked = argparse.Namespace(depths="1k", requests=5)
    assert _sizes(asked, short=True) == ([1024], 5, 2048)


def test_quick_prints_checks_and_plan(qwen35_gguf: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--model", str(qwen35_gguf), "--quick", "--ctx", "4096"]) == 0
    out = capsys.readouterr().out
    assert "llama-cpp-python 0.3.36" in out and "n_ctx 4,096" in out


def _report(rows: list[SpeedRow], requests: list[int | None], kv: str = "f16") -> Report:
    facts = SystemFacts(("NVIDIA H100",), "580", "0.3.36", True, "CUDA = 1")
    planned = plan(_header(), what_if("h100"), kv_type=kv)
    return Report(facts, planned, 20 * GiB, 18 * GiB, rows, requests, flash_attention=True)


def _header() -> Path:
    import ggufgen

    return ggufgen.cached_qwen35_hybrid()


def test_cliffs_name_what_the_numbers_show() -> None:
    healthy = _report([SpeedRow(8192, 2300, 77.0, 17 * GiB), SpeedRow(65536, 1900, 60.0, None)],
                      [18 * GiB] * 10)
    assert cliffs(healthy) == []
    collapse = _report([SpeedRow(8192, 2300, 77.0, None), SpeedRow(65536, 900, 20.0, None)],
                       [18 * GiB, 18 * GiB + 512 * 1024**2])
    found = " | ".join(cliffs(collapse))
    assert "decode collapses at long positions" in found
    assert "memory climbs across requests: +512 MiB" in found
    assert "decode slows down" in " ".join(cliffs(_report([], [], kv="q8_0")))


@pytest.mark.parametrize(
    ("offload", "devices", "platform", "gpu"),
    [
        (False, ("NVIDIA GeForce RTX 4090",), "linux", False),  # the CPU build
        (True, ("system RAM",), "linux", False),  # a CUDA build, no driver or card
        (True, ("NVIDIA GeForce RTX 4090",), "linux", True),
        (True, ("system RAM",), "darwin", True),  # Metal: NVML sees no GPU there
    ],
)
def test_short_check_only_without_a_usable_gpu(
    offload: bool, devices: tuple[str, ...], platform: str, gpu: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from repoctx.cli import doctor as cli_doctor

    monkeypatch.setattr(cli_doctor.sys, "platform", platform)
    facts = SystemFacts(devices, None, "0.3.36", offload, "")
    assert cli_doctor._has_gpu(facts) is gpu
