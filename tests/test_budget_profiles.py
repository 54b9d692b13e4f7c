"""Built-in profiles: ``budget --model qwen3.5-27b-q4_k_m`` plans before any download,
exactly as the file itself would."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import ggufgen
import pytest

from repoctx.budget import plan, profiles, what_if
from repoctx.cli import main
from repoctx.types import KV_CACHE_TYPES

ROOT = Path(__file__).resolve().parent.parent
QUANTS = ("Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "F16")


def _comparable(data: dict[str, Any]) -> dict[str, Any]:
    """A plan's JSON without where the facts came from (file path vs profile name)."""
    model = {k: v for k, v in data["model"].items() if k not in ("path", "profile")}
    return {**data, "model": model}


@pytest.mark.parametrize("quant", QUANTS)
@pytest.mark.parametrize("card", ["rtx4080", "rtx4090", "rtx5090", "a100-80"])
def test_profile_plans_like_its_gguf(quant: str, card: str) -> None:
    path = ggufgen.write_27b_header(quant=quant)
    name = f"qwen3.5-27b-{quant.lower()}"
    device = what_if(card)
    from_file = plan(path, device, kv_type="auto")
    from_profile = plan(profiles.meta(name), device, kv_type="auto")
    assert _comparable(from_profile.to_json()) == _comparable(from_file.to_json())
    assert from_profile.alternatives == from_file.alternatives
    assert from_profile.weights == from_file.weights
    assert from_profile.to_json()["model"]["profile"] == name
    assert from_file.to_json()["model"]["profile"] is None


def test_profiles_json_is_current() -> None:
    """profiles.json is what bench/budget_profiles.py writes from today's generator."""
    sys.path.insert(0, str(ROOT / "bench"))
    import budget_profiles

    shipped = (ROOT / "repoctx" / "budget" / "profiles.json").read_text(encoding="utf-8")
    assert json.loads(shipped) == json.loads(budget_profiles.render(budget_profiles.build()))


def test_quantisations_grow_in_size() -> None:
    sizes = [profiles.meta(f"qwen3.5-27b-{q.lower()}").file_bytes for q in QUANTS]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    # the released Q4_K_M is 15.41 GiB; the derived layout lands within 0.1 GiB of it
    assert abs(sizes[0] / 2**30 - 15.41) < 0.1


@pytest.mark.parametrize(
    ("name", "wanted"),
    [
        ("qwen3.5-27b-q4_k_m", "qwen3.5-27b-q4_k_m"),
        ("Qwen3.5-27B-Q8_0.gguf", "qwen3.5-27b-q8_0"),
        ("qwen3.5:27b", "qwen3.5-27b-q4_k_m"),
        ("qwen3.5:27b-q6_K", "qwen3.5-27b-q6_k"),
        ("qwen3.5-9b", None),
        ("q4_k_m", None),
    ],
)
def test_names_find_profiles(name: str, wanted: str | None) -> None:
    assert profiles.find(name) == wanted


def test_cli_plans_a_profile_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["budget", "--model", "qwen3.5-27b-q4_k_m", "--gpu", "rtx4090"]) == 0
    out = capsys.readouterr().out
    assert "built-in profile qwen3.5-27b-q4_k_m" in out
    assert "Largest context that fits: 109,824 tokens" in out  # as the 27B GGUF plans


def test_cli_json_reports_ubatch_flash_attention_and_kv(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["budget", "--model", "qwen3.5:27b", "--gpu", "rtx4090", "--json"]
    assert main([*args, "--ubatch", "1024", "--kv-type", "q5_0"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["model"]["profile"] == "qwen3.5-27b-q4_k_m" and data["model"]["path"] is None
    assert (data["n_ubatch"], data["flash_attn"], data["kv_type"]) == (1024, True, "q5_0")
    assert main(args) == 0
    default = json.loads(capsys.readouterr().out)
    # q5_0 KV is 22/64 of f16 per token: a larger context at n_ubatch 1024 than f16 at 512
    assert data["max_ctx"] > default["max_ctx"]


@pytest.mark.parametrize("bad", ["0", "banana", "-5"])
def test_cli_refuses_a_bad_ubatch(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["budget", "--model", "qwen3.5:27b", "--gpu", "rtx4090", f"--ubatch={bad}"])
    assert exc.value.code == 2
    assert "--ubatch" in capsys.readouterr().err


def test_cli_refuses_an_unknown_name_listing_the_profiles(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["budget", "--model", "no-such-model", "--gpu", "rtx4090"]) == 2
    err = capsys.readouterr().err
    assert "no-such-model" in err and "qwen3.5-27b-q8_0" in err and len(err.splitlines()) == 1


def test_one_kv_type_list_for_every_command() -> None:
    """The planner sizes, the loader maps and every command accepts the same KV types."""
    from repoctx.budget.memory import KV_TYPES as sized
    from repoctx.budget.plan import GGML_TYPE_IDS
    from repoctx.cli import budget, doctor, review, serve, tui
    from repoctx.llm.runtime import KV_TYPES as loadable

    assert set(sized) == set(loadable) == set(GGML_TYPE_IDS) == set(KV_CACHE_TYPES)
    assert review.KV_TYPES == serve.KV_TYPES == tui.KV_TYPES == KV_CACHE_TYPES
    assert (*KV_CACHE_TYPES, "auto") == budget.KV_CHOICES and doctor.KV_CHOICES == budget.KV_CHOICES


def test_docs_gpu_fit_table_is_current() -> None:
    """docs/gpu.md's "what fits" table is the planner's output for the shipped profiles."""
    sys.path.insert(0, str(ROOT / "bench"))
    import budget_profiles

    doc = (ROOT / "docs" / "gpu.md").read_text(encoding="utf-8")
    assert budget_profiles.with_table(doc, budget_profiles.fit_table()) == doc
