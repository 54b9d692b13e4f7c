from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from repoctx.cli import main

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "pack-small"


def test_pack_prints_only_the_prompt_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pack", str(FIXTURE), "--budget", "800", "--format", "markdown"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("# Repository `pack-small`")
    assert "full" in err and "of 800 tokens (qwen35)" in err


def test_pack_output_and_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file, manifest_file = tmp_path / "prompt.xml", tmp_path / "manifest.json"
    code = main(["pack", str(FIXTURE), "--budget", "600", "--output", str(out_file),
                 "--manifest", str(manifest_file)])
    assert code == 0
    assert capsys.readouterr().out == ""
    manifest = json.loads(manifest_file.read_text())
    assert manifest["budget"] == 600
    assert manifest["total_tokens"] <= 600
    assert set(manifest["files"][0]) >= {"path", "language", "tier", "tokens", "position",
                                         "reason"}
    assert [f["position"] for f in manifest["files"]] == list(range(len(manifest["files"])))
    assert out_file.read_text().startswith("<repository")
    assert not list(tmp_path.glob(".prompt.xml.*"))  # no temp file left behind


def test_pack_focus_by_cwd_relative_path(capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    monkeypatch.chdir(FIXTURE / "shop")
    manifest = tmp_path / "m.json"
    assert main(["pack", "..", "--budget", "500", "--focus", "cli.py",
                 "--manifest", str(manifest)]) == 0
    rows = {f["path"]: f for f in json.loads(manifest.read_text())["files"]}
    assert rows["shop/cli.py"]["tier"] == "full" and rows["shop/cli.py"]["reason"] == "focus"


def test_files_lists_every_file_tab_separated(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["files", str(FIXTURE), "--budget", "100000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 6
    tier, tokens, language, path = lines[0].split("\t")
    assert (tier, language, path) == ("full", "markdown", "README.md") and int(tokens) > 0


def test_graph_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(FIXTURE)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"files", "edges", "cycles"}
    assert {"source": "shop/pricing.py", "target": "shop/models.py",
            "kind": "import"} in document["edges"]
    assert {"path": "shop/cli.py", "language": "python"} in document["files"]


def test_graph_counts_no_tokens(capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The graph prints no token counts, so a cold `repoctx graph` must count none (it
    counted every file: 1.5x a cold pack's CPU, issue 18)."""
    from repoctx.scanning import tokens

    def refuse(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("repoctx graph counted tokens")

    for name in ("count", "count_many"):
        monkeypatch.setattr(tokens.QwenCounter, name, refuse)
    assert main(["graph", str(FIXTURE), "--no-cache"]) == 0
    assert json.loads(capsys.readouterr().out)["edges"]


@pytest.mark.parametrize("fmt, marker", [("dot", "digraph"), ("mermaid", "graph LR")])
def test_graph_other_formats(capsys: pytest.CaptureFixture[str], fmt: str, marker: str) -> None:
    assert main(["graph", str(FIXTURE), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert out.startswith(marker) and "shop/pricing.py" in out


@pytest.mark.parametrize("argv, message", [
    (["pack", "/definitely/not/here"], "no such file or directory"),
    (["pack", str(FIXTURE / "README.md")], "not a directory"),
    (["pack", str(FIXTURE), "--budget", "lots"], "--budget"),
    (["pack", str(FIXTURE), "--budget", "10"], "too small"),
    (["pack", str(FIXTURE), "--focus", "nope.py"], "--focus nope.py"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str],
                                          message: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_console_script_runs(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "repoctx", "pack", str(FIXTURE),
                             "--budget", "700", "--format", "qwen"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<|repo_name|>pack-small\n")


def test_budget_auto_comes_from_the_model_plan(qwen35_gguf: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from repoctx.budget import plan

    manifest = tmp_path / "m.json"
    assert main(["pack", str(FIXTURE), "--model", str(qwen35_gguf),
                 "--manifest", str(manifest)]) == 0
    err = capsys.readouterr().err
    expected = plan(qwen35_gguf).pack_budget
    assert f"budget {expected:,} tokens: {qwen35_gguf.name}" in err
    data = json.loads(manifest.read_text())
    assert data["budget"] == expected and data["tokenizer"] == "qwen35"


def test_pack_for_another_vocabulary_counts_in_its_tokens(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    from repoctx.llm.fallback import fallback_model_path
    from repoctx.scanning.tokens import LlamaVocabCounter

    gemma = fallback_model_path()
    manifest, prompt = tmp_path / "m.json", tmp_path / "p.txt"
    assert main(["pack", str(FIXTURE), "--budget", "3000", "--model", str(gemma),
                 "--manifest", str(manifest), "--output", str(prompt)]) == 0
    data = json.loads(manifest.read_text())
    assert data["tokenizer"].startswith("gguf:")
    assert data["total_tokens"] == LlamaVocabCounter(gemma).count(prompt.read_text())


def test_the_batch_commands_fast_exit_keeps_a_profilers_output(tmp_path: Path) -> None:
    """`pack` ends with os._exit after flushing; under cProfile (or coverage) it must not,
    or the profile written at exit is lost."""
    out, prof = tmp_path / "prompt.txt", tmp_path / "run.prof"
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "repoctx",
                           "pack", str(FIXTURE), "--budget", "700", "-o", str(out)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert prof.stat().st_size > 0 and out.read_text().startswith("<repository")
    plain = subprocess.run([sys.executable, "-m", "repoctx", "pack", str(FIXTURE), "--budget",
                            "700"], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert plain.returncode == 0 and plain.stdout.startswith("<repository")  # flushed in full
    assert "of 700 tokens" in plain.stderr
