"""``review --budget N`` (and every front end that opens a local GGUF with a budget): the
budget is planned like ``auto`` and checked against the GPU, or RAM without one."""

from __future__ import annotations

import importlib
from pathlib import Path

import ggufgen
import pytest

from repoctx.budget import DeviceInfo, GpuDevice, what_if
from repoctx.errors import InputError
from repoctx.llm.open import PROMPT_OVERHEAD, _planned

GiB = 1 << 30
ANSWER = 4096
RESERVE = ANSWER + PROMPT_OVERHEAD


@pytest.fixture(scope="module")
def model() -> Path:
    return ggufgen.write_27b_header()


def _on(monkeypatch: pytest.MonkeyPatch, device: DeviceInfo) -> None:
    # the module, not the package's ``plan`` function of the same name
    monkeypatch.setattr(importlib.import_module("repoctx.budget.plan"), "detect", lambda: device)


def test_a_budget_that_fits_is_planned(model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _on(monkeypatch, what_if("rtx4090"))
    sizing = _planned(model, 60_000, ANSWER, "f16")
    assert sizing is not None
    assert (sizing.n_ctx, sizing.pack_budget) == (60_000 + RESERVE, 60_000)
    assert sizing.n_ubatch == 2048  # the planner's choice, not a fixed 512: 64K fits at 2048


def test_a_budget_too_large_for_the_gpu_is_refused(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _on(monkeypatch, what_if("rtx4090"))
    with pytest.raises(InputError) as exc:
        _planned(model, 200_000, ANSWER, "f16")
    text = str(exc.value)
    assert "--budget 200,000" in text and "NVIDIA GeForce RTX 4090" in text
    assert f"the most that fits is --budget {109_824 - RESERVE:,}" in text
    assert "\n" not in text
    fitted = _planned(model, 109_824 - RESERVE, ANSWER, "f16")  # the number it names works
    assert fitted is not None and fitted.n_ctx == 109_824


def test_a_budget_beyond_the_trained_context_says_so(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _on(monkeypatch, what_if("h200"))
    with pytest.raises(InputError, match="beyond the model's trained context of 262,144"):
        _planned(model, 262_144, ANSWER, "f16")


def test_on_the_cpu_a_budget_is_checked_against_ram(
    model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ram = DeviceInfo("system-ram", (GpuDevice("system RAM", 32 * GiB, 20 * GiB, "cpu"),))
    _on(monkeypatch, ram)
    with pytest.raises(InputError, match=r"--budget 100,000 .*more than system RAM holds"):
        _planned(model, 100_000, ANSWER, "f16")
    sizing = _planned(model, 8_000, ANSWER, "f16")
    assert sizing is not None and sizing.pack_budget == 8_000


def test_auto_still_takes_the_largest_context(model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _on(monkeypatch, what_if("rtx4090"))
    sizing = _planned(model, None, ANSWER, "f16")
    assert sizing is not None and sizing.n_ctx == 109_824
