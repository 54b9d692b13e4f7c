from __future__ import annotations

import json
from pathlib import Path

import pytest

import repoctx
from repoctx.cli import main
from repoctx.packing.redact import redact

AWS_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_" + "a1B2c3D4e5" * 4
KEY_BLOCK = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
             "QyNTUxOQAAACDxyz\n-----END OPENSSH PRIVATE KEY-----")

CONFIG = f'''import os

AWS_ACCESS_KEY_ID = "{AWS_ID}"
aws_secret_access_key = "{AWS_SECRET}"
GITHUB_TOKEN = "{GITHUB}"
DATABASE_URL = "postgres://app:hunter2hunter2@db.internal:5432/app"
SIGNING_KEY = """{KEY_BLOCK}"""
password_field_name = "password1"
'''


def test_rules_and_detect_secrets_redact_values_keep_lines() -> None:
    out, found = redact("settings.py", CONFIG)
    for value in (AWS_ID, AWS_SECRET, GITHUB, "hunter2hunter2", "b3BlbnNzaC1rZXktdjEAAAAABG5"):
        assert value not in out
    assert out.count("\n") == CONFIG.count("\n")  # line numbers the model cites stay right
    kinds = {(r.line, r.kind) for r in found}
    assert (3, "aws-access-key-id") in kinds
    assert (4, "aws-secret-access-key") in kinds
    assert (5, "github-token") in kinds
    assert (6, "url-password") in kinds
    assert (7, "private-key") in kinds
    assert "password_field_name" in out  # identifiers are never rewritten


def test_env_files_keep_names_drop_values() -> None:
    out, found = redact("deploy/.env.production", "API_KEY=abc123\n# note\nexport DEBUG=1\n")
    assert out == "API_KEY=[REDACTED:env-value]\n# note\nexport DEBUG=[REDACTED:env-value]\n"
    assert [r.line for r in found] == [1, 3]
    same, none = redact(".env.example", "API_KEY=changeme\n")
    assert same == "API_KEY=changeme\n" and none == []


def test_plain_code_is_untouched() -> None:
    code = Path(repoctx.__file__).read_text()
    assert redact("repoctx/__init__.py", code) == (code, [])


def test_pack_redacts_by_default_and_lists_redactions(make_repo, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = make_repo({"settings.py": CONFIG, ".env": "SECRET=s3cr3t-value\n",
                      "app.py": "import settings\n"})
    manifest = tmp_path / "m.json"
    assert main(["pack", str(root), "--budget", "4000", "--manifest", str(manifest)]) == 0
    captured = capsys.readouterr()
    for value in (AWS_ID, AWS_SECRET, GITHUB, "s3cr3t-value", "hunter2hunter2"):
        assert value not in captured.out
    data = json.loads(manifest.read_text())
    assert data["secrets_redacted"] is True
    listed = {(r["path"], r["line"], r["kind"]) for r in data["redactions"]}
    assert ("settings.py", 3, "aws-access-key-id") in listed
    assert (".env", 1, "env-value") in listed
    assert all(set(r) == {"path", "line", "kind"} for r in data["redactions"])  # no values
    assert AWS_ID not in manifest.read_text()
    rows = {f["path"]: f for f in data["files"]}
    assert "secrets redacted" in rows["settings.py"]["reason"]
    assert "redacted" in captured.err


def test_no_redact_keeps_secrets_and_says_so(make_repo, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    root = make_repo({"settings.py": CONFIG})
    assert main(["pack", str(root), "--budget", "4000", "--no-redact"]) == 0
    captured = capsys.readouterr()
    assert AWS_ID in captured.out
    assert "only to a model on this machine" in captured.err


def test_total_stays_exact_after_redaction(make_repo) -> None:
    root = make_repo({"settings.py": CONFIG})
    repo = repoctx.scan(root)
    result = repoctx.pack(repo, 4000)
    assert result.total_tokens == repo.counter.count(result.text) <= 4000
    entry = next(e for e in result.files if e.path == "settings.py")
    assert entry.tokens < repo.files["settings.py"].tokens + 200
