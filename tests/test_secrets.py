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


# --- hardening round 2: every rule on every file, shapes the pre-filter missed --------------

PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx9k2vQ3Jm9secretbody1\n"
       "Zm9vYmFyYmF6cXV4c2VjcmV0Ym9keTI=\n-----END RSA PRIVATE KEY-----")
SENDGRID = "SG." + "a" * 11 + "B" * 11 + "." + "c1D2e3F4g5" * 4 + "h6I"
AZURE = "Zm9vYmFyYmF6cXV4" * 5 + "=="
DISCORD = "M" + "TAxMjM0NTY3ODkwMTIzNDU2" + ".GhIjKl." + "abcdefghijklmnopqrstuvwxyz1"
TELEGRAM = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq"
SQUARE = "sq0atp-" + "A1b2C3d4E5f6G7h8I9j0K1"


@pytest.mark.parametrize(("path", "text", "needle"), [
    (".env", f"# GITHUB_TOKEN={GITHUB}\nDEBUG=0\n", GITHUB),
    (".env", f"#GITHUB_TOKEN={GITHUB}\n", GITHUB),
    (".env", f'PRIVATE_KEY="{PEM}"\nDEBUG=0\n', "MIIEowIBAAKCAQEAx9k2vQ3Jm9secretbody1"),
    (".env", 'SERVICE_JSON="{\n  \\"secret\\": \\"zz9Top-Secret-Value-77\\"\n}"\n',
     "zz9Top-Secret-Value-77"),
    (".envrc", "export DATABASE_PASSWORD=direnv-value-123\n", "direnv-value-123"),
    ("config/prod.env", "SMTP_PASSWORD=prod-env-value-4\n", "prod-env-value-4"),
    ("mail.py", f'SENDGRID_API_KEY = "{SENDGRID}"\n', SENDGRID),
    ("settings.py", f'CONN = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey={AZURE}"\n',
     AZURE),
    ("bot.py", f'client.run("{DISCORD}")\n', DISCORD),
    ("bot.py", f'bot = Bot("{TELEGRAM}")\n', TELEGRAM),
    (".pypirc", "[pypi]\nusername = __token__\npassword = hunter2hunter2xx\n", "hunter2hunter2xx"),
    ("pay.js", f'const token = "{SQUARE}";\n', SQUARE),
    ("deploy.sh", "export PGPASSWORD=pg-Secret-99\npsql -h db\n", "pg-Secret-99"),
    ("deploy.sh", "curl -u admin:Sup3rS3cret https://example.com/api\n", "Sup3rS3cret"),
    ("deploy.sh", "curl --user=admin:Sup3rS3cret2 https://example.com/api\n", "Sup3rS3cret2"),
    ("conf/settings.xml", "<server>\n  <password>xml-Secret-42</password>\n</server>\n",
     "xml-Secret-42"),
    ("conf/app.config", '<add key="x"/><db_password attr="1">cfg-Secret-7</db_password>\n',
     "cfg-Secret-7"),
    (".netrc", "machine api.example.com login me password netrc-Secret-5\n", "netrc-Secret-5"),
    ("wp-config.php", "<?php\ndefine('DB_PASSWORD', 'php-Secret-31');\n", "php-Secret-31"),
    ("wp-config.php", "<?php\ndefine( 'AUTH_KEY', 'k3y#with spaces|and!marks' );\n",
     "k3y#with spaces|and!marks"),
    ("k8s/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\n"
     "data:\n  username: YWRtaW4=\n  password: MWYyZDFlMmU2N2Rm\n", "MWYyZDFlMmU2N2Rm"),
    ("k8s/secret.yaml", "kind: Secret\nstringData:\n  token: plain-k8s-token-1\n",
     "plain-k8s-token-1"),
    (".npmrc", "//registry.npmjs.org/:_authToken=npmrc-Secret-88\n", "npmrc-Secret-88"),
])
def test_every_rule_runs_on_every_file(path: str, text: str, needle: str) -> None:
    out, found = redact(path, text)
    assert needle not in out, out
    assert found and all(r.line >= 1 for r in found)
    assert out.count("\n") == text.count("\n")  # line numbers the model cites stay right


@pytest.mark.parametrize(("path", "text"), [
    ("events.py", 'ACCOUNT_SET_PASSWORD_REQUESTED = "account_set_password_requested"\n'),
    ("events.py", 'TOKEN_REFRESH_FAILED = "auth.token_refresh_failed"\n'),
    (".env.example", "API_KEY=changeme\nDB_PASSWORD=your_password_here\n"),
    ("deploy.sh", 'export PGPASSWORD="$DB_PASSWORD"\ncurl -u "$USER:$PASS" x\n'),
    ("pom.xml", "<password>${env.DB_PASSWORD}</password>\n"),
    ("k8s/config.yaml", "kind: ConfigMap\ndata:\n  mode: production\n"),
])
def test_ordinary_code_and_placeholders_stay(path: str, text: str) -> None:
    assert redact(path, text) == (text, [])


def test_a_k8s_secret_after_another_document_ends_at_the_separator() -> None:
    text = ("kind: Secret\ndata:\n  a: c2VjcmV0LXZhbHVl\n---\nkind: ConfigMap\ndata:\n"
            "  mode: production\n")
    out, found = redact("all.yaml", text)
    assert "c2VjcmV0LXZhbHVl" not in out and "mode: production" in out
    assert [r.line for r in found] == [3]


@pytest.mark.parametrize("unit", [
    "a", "eyJ", "sk-", "ghp_", "xox", "://", "SG.", "AKIA", "password", "1234567890:",
    "-u a:", "<password>", "define(", "PASSWORD=", "aws secret=", "M" * 25 + ".",
])
def test_every_rule_is_linear_on_long_runs(unit: str) -> None:
    """A long run of one rule's own prefix (the shape that made url-password quadratic:
    48 s for one hook commit) costs about ten times a run a tenth as long, not a hundred."""
    import time

    def cost(n: int) -> float:
        text = unit * (n // len(unit))
        best = float("inf")
        for _ in range(3):
            began = time.perf_counter()
            redact("long.txt", text)
            best = min(best, time.perf_counter() - began)
        return best

    small, large = cost(40_000), cost(400_000)
    assert large < 30 * max(small, 2e-3), (unit, small, large)  # quadratic would be ~100x
