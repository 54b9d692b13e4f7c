"""``repoctx tui`` on the command line: arguments, the --web fallback message, the key map
in docs/tui.md matching the app's own."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from repoctx.cli import build_parser, main
from repoctx.cli.tui import WEB_HINT, web_command
from repoctx.tui.keys import keymap_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_web_without_textual_serve_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "textual_serve", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    assert main(["tui", str(ROOT / "fixtures" / "pack-small"), "--web"]) == 2
    err = capsys.readouterr().err
    assert err == f"repoctx: {WEB_HINT}\n"
    assert "pip install" in err


def test_missing_directory_and_bad_budget(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tui", "no/such/dir"]) == 2
    assert capsys.readouterr().err == "repoctx: no/such/dir: not a directory\n"
    assert main(["tui", str(ROOT), "--budget", "lots"]) == 2
    assert "--budget" in capsys.readouterr().err


def test_web_command_reruns_the_same_app_in_a_terminal() -> None:
    args = build_parser().parse_args(
        ["tui", "fixtures/pack-small", "--server", "http://x:8080", "--budget", "8k",
         "--no-think", "--web", "--port", "9000"]
    )  # fmt: skip
    argv = shlex.split(web_command(args))
    assert argv[:4] == [sys.executable, "-m", "repoctx", "tui"]
    assert argv[4] == str((Path("fixtures/pack-small")).resolve())
    assert "--web" not in argv and "--port" not in argv
    assert argv[argv.index("--server") + 1] == "http://x:8080"
    assert argv[argv.index("--budget") + 1] == "8k" and "--no-think" in argv


def test_docs_key_map_is_the_apps() -> None:
    doc = (ROOT / "docs" / "tui.md").read_text(encoding="utf-8")
    start = doc.index("<!-- keymap")
    block = doc[doc.index("\n", start) + 1 : doc.index("<!-- /keymap -->")]
    assert block == keymap_markdown()
    assert (ROOT / "docs" / "tui-main.svg").read_text(encoding="utf-8").startswith("<svg")
