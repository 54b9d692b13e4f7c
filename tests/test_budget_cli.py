"""``repoctx budget``: the table, the stable JSON shape, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import ggufgen
import pytest

from repoctx.cli import main

MODEL_KEYS = {"path", "profile", "arch", "n_layer", "n_attn_layers", "n_recurrent_layers",
              "weights_bytes", "weights_gpu_bytes", "n_ctx_train"}  # fmt: skip
ROW_KEYS = {"n_ctx", "weights_bytes", "kv_bytes", "state_bytes", "compute_bytes",
            "overhead_bytes", "total_bytes", "all_attention_total_bytes", "fits"}  # fmt: skip


@pytest.fixture(scope="module")
def header() -> str:
    return str(ggufgen.write_27b_header())


def test_table_for_a_4090(header: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", "--model", header, "--gpu", "rtx4090"]) == 0
    out, err = capsys.readouterr()
    assert "DeltaNet state" in out and "All attention" in out
    assert "16 attention + 48 recurrent" in out
    for ctx in ("4K", "8K", "16K", "32K", "64K", "128K", "256K"):
        assert ctx in out
    assert "Largest context that fits: 109,824 tokens (f16 KV" in out
    assert "Packing budget: 105,216 tokens" in out
    assert "q8_0" in err and "slower" in err  # the proposal, on stderr


def test_json_shape(header: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", "--model", header, "--gpu", "rtx4090", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"model", "device", "kv_type", "n_ubatch", "flash_attn", "n_ctx", "rows",
                         "max_ctx", "pack_budget"}  # fmt: skip
    assert data["n_ubatch"] == 512 and data["flash_attn"] is True and data["n_ctx"] == 109_824
    assert set(data["model"]) == MODEL_KEYS
    assert set(data["device"]) == {"name", "total_bytes", "free_bytes", "source"}
    assert all(set(row) == ROW_KEYS for row in data["rows"])
    assert [r["n_ctx"] for r in data["rows"]] == [4096 << i for i in range(7)]
    assert data["model"]["n_recurrent_layers"] == 48 and data["device"]["source"] == "what-if"
    assert data["max_ctx"] == 109_824 and data["kv_type"] == "f16"
    assert all(isinstance(v, int) for r in data["rows"] for k, v in r.items() if k != "fits")
    row = data["rows"][4]  # 64K
    assert row["kv_bytes"] == 4 << 30 and row["all_attention_total_bytes"] > row["total_bytes"]


def test_vram_ctx_and_kv_type(header: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "budget",
                "--model",
                header,
                "--vram",
                "40GiB",
                "--kv-type",
                "q8_0",
                "--ctx",
                "64k",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["kv_type"] == "q8_0" and data["device"]["source"] == "vram"
    assert data["pack_budget"] == 65_536 - 512 - 4096
    assert data["max_ctx"] == 262_144


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gpu", "voodoo2"], "unknown GPU 'voodoo2'"),
        (["--vram", "lots"], "cannot read size 'lots'"),
        (["--ctx", "many"], "--ctx: expected a number"),
    ],
)
def test_bad_flags_exit_2(
    header: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["budget", "--model", header, *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    "content", [b"not a gguf at all, just text", b"GGUF\x03\0\0\0" + b"\xff" * 40]
)
def test_bad_model_file_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(content)
    assert main(["budget", "--model", str(path), "--gpu", "h100"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("repoctx: ") and "broken.gguf" in err and err.count("\n") == 1


def test_missing_key_exit_2_in_a_subprocess(tmp_path: Path) -> None:
    path = ggufgen.write_metadata_only(tmp_path / "nokeys.gguf", "llama", {"{arch}.block_count": 2})
    proc = subprocess.run(
        [sys.executable, "-m", "repoctx", "budget", "--model", str(path), "--gpu", "h100"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"repoctx: {path}: GGUF is missing required key 'llama.embedding_length'"
    ]


def test_real_gemma3_fallback_model(capsys: pytest.CaptureFixture[str]) -> None:
    """No --model on this machine's device: discovery finds nothing in the isolated test env
    → the embedded Gemma 3, which is what would run."""
    assert main(["budget", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"]["arch"] == "gemma3" and data["model"]["n_ctx_train"] == 32_768
    assert data["model"]["profile"] is None


def test_what_if_card_without_a_model_plans_the_27b_profile(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``budget --gpu rtx4090`` with nothing downloaded answers for Qwen 3.5 27B, and says so."""
    assert main(["budget", "--gpu", "rtx4090", "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["model"]["profile"] == "qwen3.5-27b-q4_k_m" and data["max_ctx"] == 109_824
    assert "no model configured or found" in captured.err
    assert "built-in profile qwen3.5-27b-q4_k_m" in captured.err
