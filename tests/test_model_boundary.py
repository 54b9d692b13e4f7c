"""No secret reaches a model: every front end, against a real ``repoctx serve`` (tiny real GGUF),
with a real HTTP proxy of ours on 127.0.0.1 recording what the server was sent.

The repository holds a fake AWS key pair, a GitHub token, a private key file and a ``.env``
(tests/secret_repo.py). Each test asserts on the recorded request bodies — the packed prompt,
token-count probes, everything — and, as a control, that ``--no-redact`` to this (loopback)
server does let the values through, so the test would see a leak if there were one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from capture_proxy import CaptureProxy, capture_proxy
from secret_repo import ENV_VALUE, KEY_BLOCK, NEEDLES, SECRET_FILES, needles_in
from test_hook_common import (
    FAST_HOOK,
    SOURCES,
    Served,
    git,
    hook_env,
    init_repo,
    run_cli,
    served,
    write,
)
from test_tui_support import ask, ready, run

from repoctx.packing.policy import NO_REDACT_WARNING

__all__ = ["served"]
pytestmark = pytest.mark.slow
REVIEW = ("--budget", "1500", "--max-tokens", "4")


@pytest.fixture
def proxy(served: Served) -> Iterator[CaptureProxy]:
    with capture_proxy(served.url) as recording:
        yield recording


@pytest.fixture
def secret_repo(tmp_path: Path) -> Path:
    return init_repo(tmp_path / "repo", {**SOURCES, **SECRET_FILES})


def _sent_the_repo(proxy: CaptureProxy) -> str:
    """What the model was sent; checks the secret files were in it at all (redacted or not)."""
    sent = proxy.bodies()
    assert proxy.posted("chat/completions"), "no completion request reached the server"
    for path in SECRET_FILES:
        assert path in sent, f"{path} was not packed: the test would prove nothing"
    return sent


def test_review_sends_no_secret(secret_repo: Path, proxy: CaptureProxy) -> None:
    done = run_cli(secret_repo, "review", ".", "--server", proxy.url, *REVIEW)
    assert done.returncode == 0, done.stderr
    sent = _sent_the_repo(proxy)
    assert needles_in(sent) == []
    assert "[REDACTED:aws-access-key-id]" in sent and "[REDACTED:private-key]" in sent
    assert "[REDACTED:env-value]" in sent
    assert "redacted" in done.stderr and "Traceback" not in done.stderr


def test_review_no_redact_to_this_machine_keeps_them(secret_repo: Path,
                                                     proxy: CaptureProxy) -> None:  # fmt: skip
    done = run_cli(secret_repo, "review", ".", "--server", proxy.url, "--no-redact", *REVIEW)
    assert done.returncode == 0, done.stderr
    assert NO_REDACT_WARNING in done.stderr
    assert needles_in(_sent_the_repo(proxy)) == list(NEEDLES)  # the control: a leak is seen


def test_tui_question_sends_no_secret(secret_repo: Path, proxy: CaptureProxy) -> None:
    _tui_question(secret_repo, proxy, redact=True)
    sent = _sent_the_repo(proxy)
    assert needles_in(sent) == [] and "[REDACTED:private-key]" in sent
    assert "What reads the settings?" in sent  # the question itself went through


def test_tui_no_redact_to_this_machine_keeps_them(secret_repo: Path,
                                                  proxy: CaptureProxy) -> None:  # fmt: skip
    _tui_question(secret_repo, proxy, redact=False)
    assert needles_in(_sent_the_repo(proxy)) == list(NEEDLES)


def _tui_question(root: Path, proxy: CaptureProxy, *, redact: bool) -> None:
    """The app as ``repoctx tui --server URL`` builds it (the same opener), one question."""
    from repoctx.tui.app import RepoctxApp
    from repoctx.tui.model import Opened, Warn, open_model

    def opener(warn: Warn) -> Opened:
        return open_model(root, model=None, server=proxy.url, budget=1500, max_tokens=4,
                          kv_type="f16", think=False, on_warning=warn)  # fmt: skip

    async def scenario() -> None:
        app = RepoctxApp(root, opener, budget=1500, redact_secrets=redact)
        async with app.run_test(size=(100, 30)) as pilot:
            await ready(app)
            await ask(app, pilot, "What reads the settings?")
            assert app.session is not None and app.session.turns[-1].status == "done"

    run(scenario)


def _staged_secrets(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "hooked")
    write(root, {**SECRET_FILES, "pkg/core.py": SOURCES["pkg/core.py"]
                 + "\n\ndef sub(a, b):\n    return a - b\n"})  # fmt: skip
    git(root, "add", "-A")
    return root


def test_hook_sends_no_secret_in_pack_or_diff(tmp_path: Path, proxy: CaptureProxy) -> None:
    root = _staged_secrets(tmp_path)
    done = run_cli(root, "hook", "run", "--server", proxy.url, *FAST_HOOK, "--timeout", "240")
    assert done.returncode == 0, done.stderr
    sent = proxy.bodies()
    (request,) = proxy.posted("chat/completions")
    user = request["messages"][-1]["content"]
    assert "+API_KEY=[REDACTED:env-value]" in user  # the diff went, its values did not
    assert "[REDACTED:aws-access-key-id]" in user and "[REDACTED:private-key]" in user
    assert needles_in(sent) == []


def test_hook_diff_inside_a_key_or_a_quoted_value_sends_no_secret(
    tmp_path: Path, proxy: CaptureProxy
) -> None:
    """Issue 16 item 3 through the real hook: hunks whose context lacks the key's BEGIN line
    or the value's opening quote, and a `.env` edit; the diff is cut from redacted files."""
    body = [f"MIIEv{i:03d}QIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC{i:03d}x"
            for i in range(30)]  # fmt: skip
    key = "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n"
    value = 'CERT="first-s3cr3t-aaaa\nsecond-s3cr3t-bbbb\n{}\nfourth-s3cr3t-dddd"\n'
    root = init_repo(tmp_path / "hooked", {
        **SOURCES, "deploy/key.pem": key.format("\n".join(body)),
        ".env": "DEBUG=0\nA=1\nB=2\nC=3\nD=4\n" + value.format("third-s3cr3t-cccc")})
    write(root, {"deploy/key.pem": key.format("\n".join([*body[:15], "MIIEvNEWLINEx",
                                                          *body[16:]])),
                 ".env": "DEBUG=0\nA=1\nB=2\nC=3\nD=5\n" + value.format("THIRD-s3cr3t-new")
                 + "API_KEY=n3w-v4lue-0f-th3-k3y\n"})  # fmt: skip
    git(root, "add", "-A")
    done = run_cli(root, "hook", "run", "--server", proxy.url, *FAST_HOOK, "--timeout", "240")
    assert done.returncode == 0, done.stderr
    (request,) = proxy.posted("chat/completions")
    user = request["messages"][-1]["content"]
    assert "+API_KEY=[REDACTED:env-value]" in user and "deploy/key.pem" in user
    sent = proxy.bodies()
    secrets = [*body, "MIIEvNEWLINEx", "first-s3cr3t", "second-s3cr3t", "third-s3cr3t",
               "THIRD-s3cr3t", "fourth-s3cr3t", "n3w-v4lue-0f-th3-k3y"]  # fmt: skip
    assert [s for s in secrets if s in sent] == []


def test_hook_no_redact_to_this_machine_keeps_them(tmp_path: Path,
                                                   proxy: CaptureProxy) -> None:  # fmt: skip
    root = _staged_secrets(tmp_path)
    done = run_cli(root, "hook", "run", "--server", proxy.url, "--no-redact", *FAST_HOOK,
                   "--timeout", "240")  # fmt: skip
    assert done.returncode == 0, done.stderr
    (request,) = proxy.posted("chat/completions")
    assert ENV_VALUE in request["messages"][-1]["content"]


def test_hook_no_redact_to_a_remote_server_is_refused(tmp_path: Path) -> None:
    root = _staged_secrets(tmp_path)
    done = run_cli(root, "hook", "run", "--server", "http://10.255.255.1:9", "--no-redact",
                   env=hook_env())  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "not on localhost" in done.stderr


def test_a_repo_config_cannot_turn_redaction_off(tmp_path: Path, proxy: CaptureProxy) -> None:
    """The setting is reported and ignored (the hook is advisory): redaction stays on."""
    root = _staged_secrets(tmp_path)
    (root / "pyproject.toml").write_text("[tool.repoctx.hook]\nno_redact = true\n")
    done = run_cli(root, "hook", "run", "--server", proxy.url, *FAST_HOOK, "--timeout", "240")
    assert done.returncode == 0, done.stderr
    assert "--no-redact on the command line" in done.stderr
    (request,) = proxy.posted("chat/completions")
    assert needles_in(request["messages"][-1]["content"]) == []


def test_whole_review_sends_no_secret_in_any_pack(tmp_path: Path, proxy: CaptureProxy) -> None:
    # --whole packs source files only (data files stay paths): the key goes into code too
    keys = {"app/keys.py": f'DEPLOY_KEY = """{KEY_BLOCK}"""\n'}
    more = {f"app/part{i}.py": "".join(f"def f{i}_{j}(x):\n    return x * {j}\n\n\n"
                                       for j in range(12)) for i in range(4)}  # fmt: skip
    root = init_repo(tmp_path / "whole", {**SOURCES, **SECRET_FILES, **keys, **more})
    done = run_cli(root, "review", ".", "--server", proxy.url, "--whole", "--budget", "700",
                   "--max-tokens", "4", "--fresh")  # fmt: skip
    assert done.returncode == 0, done.stderr
    sent = proxy.bodies()
    asked = proxy.posted("chat/completions")
    assert len(asked) >= 3  # several packs and a merge
    assert "app/settings.py" in sent and "app/keys.py" in sent
    assert "[REDACTED:aws-access-key-id]" in sent and "[REDACTED:private-key]" in sent
    assert needles_in(sent) == []
