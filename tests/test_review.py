"""The review job: prompts, findings schema/validation/SARIF, and `repoctx review` end to end
on the embedded fallback model (a real 270M GGUF on the CPU)."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from repoctx.cli import main
from repoctx.errors import ModelError
from repoctx.llm.fallback import BANNER
from repoctx.review.findings import (
    CATEGORIES,
    FINDING_FIELDS,
    findings_schema,
    parse_findings,
    validate_findings,
)
from repoctx.review.job import build_prompt, render_template, to_sarif

FIXTURE = Path(__file__).parent.parent / "fixtures" / "review-small"
GOOD = {
    "findings": [
        {"path": "app/store.py", "line": 17, "severity": "high", "category": "bug",
         "message": "Quantity can go negative.", "suggestion": "Reject removals past zero."}
    ],
    "summary": "An inventory service.",
}  # fmt: skip


def test_prompt_puts_the_repo_first_as_a_reusable_prefix() -> None:
    prompt = build_prompt("<repo text>", "demo", "review", facts_markdown="## Static facts",
                          focus=["a.py"], format="markdown")  # fmt: skip
    system, user = prompt.messages
    assert prompt.prefix_messages == 1 and system.role == "system"
    assert system.content.rstrip().endswith("<repo text>")
    assert "## Static facts" in user.content and "a.py" in user.content
    assert "Riskiest code" in user.content and "Missing tests" in user.content


def test_ask_and_refactor_templates_render() -> None:
    assert "where is X?" in render_template("ask", question="where is X?", plain=False)
    text = render_template("refactor", diff="+x = 1", max_suggestions=5, plain=True,
                           facts_markdown="")  # fmt: skip
    assert "+x = 1" in text and "at most 5 suggestions" in text


def test_schema_and_validation() -> None:
    schema = findings_schema(["b.py", "a.py"], max_findings=2)
    item = schema["properties"]["findings"]["items"]
    assert item["properties"]["path"] == {"enum": ["a.py", "b.py"]}
    assert schema["properties"]["findings"]["maxItems"] == 2
    assert validate_findings(GOOD) == []
    bad = json.loads(json.dumps(GOOD))
    bad["findings"][0]["severity"] = "fatal"
    bad["findings"][0]["line"] = 0
    errors = validate_findings(bad)
    assert any("severity" in e for e in errors) and any("line" in e for e in errors)
    assert validate_findings({"findings": []}) != []


def test_schema_is_the_model_with_this_calls_bounds() -> None:
    text = {"type": "string", "maxLength": 160}
    finding = {
        "type": "object", "additionalProperties": False, "required": list(FINDING_FIELDS),
        "properties": {
            "path": {"enum": ["x.py"]}, "line": {"type": "integer", "minimum": 1},
            "severity": {"type": "string", "enum": ["high", "medium", "low", "info"]},
            "category": {"type": "string", "enum": list(CATEGORIES)},
            "message": text, "suggestion": text,
        },
    }
    assert findings_schema(["x.py"], max_findings=3, max_chars=160) == {
        "type": "object", "additionalProperties": False, "required": ["findings", "summary"],
        "properties": {"findings": {"type": "array", "items": finding, "maxItems": 3},
                       "summary": {"type": "string", "maxLength": 480}},
    }  # fmt: skip
    assert FINDING_FIELDS == ("path", "line", "severity", "category", "message", "suggestion")


@pytest.mark.parametrize(("answer", "problem"), [
    ('{"findings": [], "summary": 3}', "summary: Input should be a valid string"),
    ('{"findings": [{"path": "a"}], "summary": ""}', "findings[0].line: Field required"),
    ('{"findings": [], "summary": "", "x": 1}', "x: Extra inputs are not permitted"),
    ('[]', "top level: Input should be a valid dictionary"),
    ('{"findings": [{"path": "a", "line": true, "severity": "high", "category": "bug", '
     '"message": "m", "suggestion": "s"}], "summary": ""}', "findings[0].line: Input should be"),
])
def test_bad_answer_is_one_line_naming_the_field(answer: str, problem: str) -> None:
    with pytest.raises(ModelError, match=re.escape(problem)):
        parse_findings(answer)


def test_valid_answer_keeps_its_own_key_order() -> None:
    answer = ('{"summary": "s", "findings": [{"line": 2, "path": "a.py", "severity": "low", '
              '"category": "bug", "message": "m", "suggestion": "t"}]}')
    assert json.dumps(parse_findings(answer)) == answer


def test_sarif_2_1_0() -> None:
    sarif = to_sarif(GOOD, tool_version="0.1.0", model="m")
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    (result,) = run["results"]
    assert result["ruleId"] == "repoctx/bug" and result["level"] == "error"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 17}
    assert run["tool"]["driver"]["rules"][0]["id"] == "repoctx/bug"


@pytest.mark.slow
def test_review_end_to_end_with_fallback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "review.md"
    code = main(["review", str(FIXTURE), "--max-tokens", "24", "--output", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.splitlines()[0] == BANNER  # the first line says it is the fallback
    assert "## Static facts (computed by repoctx)" in captured.out
    assert "`app/cli.py`" in captured.out and "## Model review" in captured.out
    written = out.read_text(encoding="utf-8")
    assert written.splitlines()[0] == BANNER
    assert "## Model review" in written and "tokens in " in written


@pytest.mark.slow
def test_review_json_findings_validate(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["review", str(FIXTURE), "--format", "json", "--max-tokens", "400"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    assert doc.pop("model") == {"name": "gemma-3-270m (embedded fallback)", "fallback": True}
    assert validate_findings(doc) == []
    assert doc["summary"].startswith(BANNER)  # fallback notice travels inside the document
    assert all(f["path"].startswith("app/") or f["path"] == "README.md" for f in doc["findings"])


def test_broken_model_is_one_line_and_facts_still_print(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + bytes(60))
    code = main(["review", str(FIXTURE), "--model", str(bad)])
    captured = capsys.readouterr()
    assert code == 3
    assert "## Static facts" in captured.out
    errors = [line for line in captured.err.splitlines() if line.startswith("repoctx:")]
    assert len(errors) == 1 and "bad.gguf" in errors[0]
    assert "Traceback" not in captured.err


def test_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    code = main(["review", str(FIXTURE), "--server", f"http://127.0.0.1:{port}"])
    captured = capsys.readouterr()
    assert code == 3 and "unreachable" in captured.err and "Traceback" not in captured.err
    assert "## Static facts" in captured.out


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_keeps_output(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "partial.md"
    proc = subprocess.Popen(
        [sys.executable, "-m", "repoctx", "review", str(FIXTURE), "--max-tokens", "4000",
         "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
    )  # fmt: skip
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + 300
    while "## Model review" not in seen and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
    assert "## Model review" in seen, proc.stderr.read() if proc.stderr else ""
    # Interrupt while the model is answering (not while a long prefill chunk runs in C,
    # which on a busy 2-core box can take most of a minute before Python sees the signal).
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line or line.strip():
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    kept = out.read_text(encoding="utf-8")
    assert kept.splitlines()[0] == BANNER and "## Static facts" in kept
    assert "## Model review" in kept


@pytest.mark.parametrize("max_chars", [None, 160])
def test_findings_grammar_compiles_in_llama_cpp(qwen35_gguf: Path, max_chars: int | None) -> None:
    from repoctx.llm.base import Options
    from repoctx.llm.runtime import LoadSettings, Runtime
    from repoctx.llm.sampling import Sampler, schema_grammar

    paths = [f"src/module_{i}.py" for i in range(300)]
    grammar = schema_grammar(findings_schema(paths, max_chars=max_chars))
    rt = Runtime(qwen35_gguf, LoadSettings(n_ctx=256, n_batch=64))
    try:
        Sampler(rt.vocab, Options(temperature=0), grammar).close()  # raises if rejected
    finally:
        rt.close()


def test_prompt_modules_leave_pydantic_to_the_answer() -> None:
    """The hook and the TUI build prompts through these modules on every run; the findings
    model (pydantic) loads only where an answer is read (the hook warms it in its loader)."""
    import subprocess
    import sys

    code = ("import sys, repoctx.hook.job, repoctx.hook.prompt, repoctx.review.job, "
            "repoctx.review.ask; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] == 'pydantic'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
