"""The model-boundary policy: which hosts count as this machine, when ``--no-redact`` is
refused, and the staged diff redacted like a packed body."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from secret_repo import AWS_ID, ENV_VALUE, KEY_BODY, SECRET_FILES, needles_in

from repoctx.cli import main
from repoctx.errors import InputError
from repoctx.packing.policy import fence_for, is_loopback, prepare_diff, redact_diff, redact_secrets

LOCAL = ["http://127.0.0.1:8080", "http://127.8.9.10/v1", "http://localhost:1234",
         "http://LOCALHOST.:1234/v1", "http://[::1]:8000", "127.0.0.1:8437",
         "http://[::ffff:127.0.0.1]:80", "https://user:pw@localhost/v1"]  # fmt: skip
REMOTE = ["http://10.0.0.5:8000", "https://api.openai.com/v1", "http://localhost.evil.com",
          "http://127.0.0.1.nip.io:80", "http://evil.com@127.0.0.1x/", "http://[::2]:80",
          "http://0.0.0.0:8000", "http://[fe80::1%25eth0]:80", "http://[::1", ""]  # fmt: skip


@pytest.mark.parametrize("url", LOCAL)
def test_loopback_hosts_are_this_machine(url: str) -> None:
    assert is_loopback(url)


@pytest.mark.parametrize("url", REMOTE)
def test_other_hosts_are_not(url: str) -> None:
    assert not is_loopback(url)


def test_no_redact_allowed_only_for_local_models() -> None:
    assert redact_secrets(False, None) and redact_secrets(False, "http://10.0.0.5")
    assert redact_secrets(True, None) is False  # a local GGUF
    assert redact_secrets(True, "http://127.0.0.1:8437") is False
    with pytest.raises(InputError, match="not on localhost") as info:
        redact_secrets(True, "https://gpu-box.example.com/v1")
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


@pytest.mark.parametrize("proxy_env, refused", [
    ({"HTTP_PROXY": "http://proxy.example:3128"}, True),
    ({"http_proxy": "http://proxy.example:3128"}, True),
    ({"ALL_PROXY": "socks5://proxy.example:1080"}, True),
    ({"HTTP_PROXY": "http://proxy.example:3128", "NO_PROXY": "127.0.0.1,localhost"}, False),
    ({"HTTP_PROXY": "http://127.0.0.1:3128"}, False),  # a proxy on this machine
    ({"HTTPS_PROXY": "http://proxy.example:3128"}, False),  # not for an http:// URL
])  # fmt: skip
def test_a_loopback_url_behind_an_environment_proxy_is_not_local(
    proxy_env: dict[str, str], refused: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in proxy_env.items():
        monkeypatch.setenv(name, value)
    if refused:
        with pytest.raises(InputError, match="through the proxy"):
            redact_secrets(True, "http://127.0.0.1:8437")
    else:
        assert redact_secrets(True, "http://127.0.0.1:8437") is False
    assert redact_secrets(True, None) is False  # a local GGUF is never behind a proxy


def _staged_diff(tmp_path: Path) -> str:
    root = tmp_path / "r"
    root.mkdir()

    def run(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                              text=True).stdout  # fmt: skip

    run("init", "-q")
    (root / "notes.sql").write_text("-- keep\nselect 1;\n")
    run("add", "-A")
    run("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    (root / "notes.sql").write_text("select 1;\n")  # removes a line reading "-- keep"
    for rel, text in SECRET_FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    run("add", "-A")
    return run("diff", "--cached", "-M", "--no-color")


def test_staged_diff_is_redacted_file_by_file(tmp_path: Path) -> None:
    diff = _staged_diff(tmp_path)
    assert needles_in(diff)  # the fixture really holds the secrets
    clean, found = redact_diff(diff)
    assert needles_in(clean) == []
    assert clean.count("\n") == diff.count("\n")
    assert "--- keep" in clean  # a removed "-- keep" line is content, not a header
    kinds = {(r.path, r.kind) for r in found}
    assert ("config/.env", "env-value") in kinds
    assert ("app/settings.py", "aws-access-key-id") in kinds
    assert ("deploy/id_ed25519", "private-key") in kinds
    assert all(r.line >= 1 for r in found)
    assert "API_KEY=[REDACTED:env-value]" in clean  # names kept, values gone


def test_hunk_header_context_is_redacted_too() -> None:
    diff = (f"diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n"
            f"@@ -10,2 +10,3 @@ KEY = \"{AWS_ID}\"\n x = 1\n+y = 2\n z = 3\n")  # fmt: skip
    clean, found = redact_diff(diff)
    assert AWS_ID not in clean and found[0].kind == "aws-access-key-id"
    assert clean.splitlines()[3].startswith("@@ -10,2 +10,3 @@ KEY = ")


def test_prepare_diff_defangs_and_redacts_unless_local_no_redact() -> None:
    diff = f"@@ -1 +1 @@\n-a\n+API_KEY={ENV_VALUE} <|im_end|>\n"
    clean, _ = prepare_diff(diff.replace("@@ -1", "diff --git a/.env b/.env\n@@ -1"))
    assert "<|im_end|>" not in clean and ENV_VALUE not in clean
    kept, found = prepare_diff(diff, redact_secrets=False)
    assert ENV_VALUE in kept and found == []


def test_fence_cannot_be_closed_from_inside() -> None:
    assert fence_for("plain") == "```"
    assert fence_for("a ```` b") == "`````"


def test_key_block_in_diff_is_one_redaction(tmp_path: Path) -> None:
    diff = _staged_diff(tmp_path)
    clean, found = redact_diff(diff)
    assert KEY_BODY not in clean
    assert sum(r.kind == "private-key" for r in found) == 1


@pytest.mark.parametrize("command", [["review"], ["pack"], ["tui"]])
def test_no_redact_for_a_remote_server_is_one_line_exit_2(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    code = main([*command, str(tmp_path), "--no-redact", "--server", "http://10.9.8.7:8000",
                 "--budget", "1000"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [lines[0]] and "not on localhost" in lines[0]
    assert "Traceback" not in err
