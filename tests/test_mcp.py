"""``repoctx mcp`` driven by the official MCP SDK's own client over a real stdio subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import git
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[1]
Session = Callable[[ClientSession], Awaitable[Any]]


def _session(body: Session, *extra: str, cwd: Path | None = None) -> Any:
    """Start ``python -m repoctx mcp`` as an MCP client does and run ``body`` against it."""

    async def main() -> Any:
        import os

        params = StdioServerParameters(command=sys.executable,
                                       args=["-m", "repoctx", "mcp", *extra],
                                       env=dict(os.environ), cwd=str(cwd or ROOT))
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)

    return anyio.run(main)


def _text(result: Any) -> str:
    return "".join(getattr(part, "text", "") for part in result.content)


def test_pack_of_this_repository_matches_the_cli_manifest(tmp_path: Path) -> None:
    """The done-when: list the tools, pack this repository at 16K, same manifest as the CLI."""
    manifest_file = tmp_path / "manifest.json"
    cli = subprocess.run([sys.executable, "-m", "repoctx", "pack", str(ROOT), "--budget", "16k",
                          "--manifest", str(manifest_file)],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert cli.returncode == 0, cli.stderr

    async def body(session: ClientSession) -> Any:
        listed = await session.list_tools()
        result = await session.call_tool("pack", {"path": str(ROOT), "budget": "16k",
                                                  "manifest": True})
        return listed, result

    listed, result = _session(body)
    names = {tool.name for tool in listed.tools}
    assert {"pack", "graph", "files", "budget"} <= names
    schema = next(t for t in listed.tools if t.name == "pack").input_schema
    assert schema["properties"]["format"]["enum"] == ["xml", "markdown", "qwen"]
    assert not result.is_error, _text(result)
    doc = result.structured_content
    assert doc["manifest"] == json.loads(manifest_file.read_text())
    assert doc["text"] == cli.stdout  # the same bytes as the command printed
    summary = doc["summary"]
    assert summary["total_tokens"] <= summary["budget"] == 16 * 1024
    assert sum(summary["tiers"].values()) == len(doc["manifest"]["files"])


def _small_repo(tmp_path: Path) -> Path:
    root = tmp_path / "small"
    root.mkdir()
    (root / "app.py").write_text("import util\n\nprint(util.KEY)\n")
    (root / "util.py").write_text('KEY = "AKIAIOSFODNN7EXAMPLE"\nSECRET = '
                                  '"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"\n')
    repo = git.Repo.init(root)
    repo.index.add(["app.py", "util.py"])
    repo.index.commit("one", author=git.Actor("t", "t@example.com"))
    return root


def test_graph_files_budget_url_and_redaction(tmp_path: Path) -> None:
    root = _small_repo(tmp_path)

    async def body(session: ClientSession) -> dict[str, Any]:
        calls = {
            "graph": ("graph", {"path": str(root)}),
            "files": ("files", {"path": str(root), "budget": 4000}),
            "budget": ("budget", {"gpu": "rtx4090"}),
            "url": ("pack", {"path": root.as_uri(), "budget": "2k", "format": "markdown"}),
            "focus": ("pack", {"path": str(root), "focus": ["util.py"]}),
        }
        return {key: await session.call_tool(name, args) for key, (name, args) in calls.items()}

    results = _session(body)
    for key, result in results.items():
        assert not result.is_error, (key, _text(result))
    graph = results["graph"].structured_content
    assert {"source": "app.py", "target": "util.py", "kind": "import"} in graph["edges"]
    files = results["files"].structured_content["files"]
    assert [f["path"] for f in files] == ["app.py", "util.py"]
    assert all(f["tier"] == "full" for f in files)
    plan = results["budget"].structured_content
    assert plan["pack_budget"] > 0
    packed = results["url"].structured_content
    assert "print(util.KEY)" in packed["text"] and packed["summary"]["budget"] == 2048
    focused = results["focus"].structured_content
    assert focused["summary"]["secrets_redacted"] >= 1  # as the CLI: always redacted
    assert "AKIAIOSFODNN7EXAMPLE" not in focused["text"]
    assert "wJalrXUtnFEMI" not in focused["text"]


def test_bad_input_comes_back_as_tool_errors(tmp_path: Path) -> None:
    root = _small_repo(tmp_path)

    async def body(session: ClientSession) -> list[Any]:
        results = [
            await session.call_tool("pack", {"path": str(tmp_path / "missing")}),
            await session.call_tool("pack", {"path": str(root), "budget": "lots"}),
            await session.call_tool("pack", {"path": str(root), "budget": "-5"}),
            await session.call_tool("pack", {"path": str(root), "focus": ["nope.py"]}),
            await session.call_tool("pack", {"path": str(root), "format": "html"}),
            await session.call_tool("graph", {"path": (tmp_path / "gone").as_uri()}),
            await session.call_tool("budget", {"gpu": "no-such-card"}),
        ]
        results.append(await session.list_tools())  # the server is still there
        return results

    *errors, listed = _session(body)
    messages = [_text(result) for result in errors]
    assert all(result.is_error for result in errors), messages
    assert "no such file or directory" in messages[0]
    assert "budget: expected a number of tokens like 65536 or 64k, not 'lots'" in messages[1]
    assert "budget: must be positive" in messages[2]
    assert "nope.py" in messages[3]
    assert "format" in messages[4]
    assert "cannot clone" in messages[5]
    assert "no-such-card" in messages[6]
    assert not any("Traceback" in m for m in messages)
    assert len(listed.tools) >= 4


def test_a_pack_over_budget_is_never_returned(tmp_path: Path) -> None:
    """A budget smaller than the pack's fixed parts: an error, not an oversized answer."""
    root = _small_repo(tmp_path)

    async def body(session: ClientSession) -> Any:
        return await session.call_tool("pack", {"path": str(root), "budget": 8})

    result = _session(body)
    assert result.is_error
    assert "budget of 8 tokens is too small" in _text(result)


def test_no_review_tool_without_a_model(tmp_path: Path) -> None:
    async def body(session: ClientSession) -> set[str]:
        return {tool.name for tool in (await session.list_tools()).tools}

    assert "review" not in _session(body, cwd=tmp_path)


def test_import_repoctx_cli_does_not_import_mcp() -> None:
    code = ("import sys, repoctx.cli; from repoctx.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'pydantic')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_without_the_sdk_one_line_install_hint() -> None:
    code = ("import sys; sys.modules['mcp'] = None; from repoctx.cli import main; "
            "raise SystemExit(main(['mcp']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "repoctx: repoctx mcp needs the MCP SDK: pip install 'repoctx[mcp]'\n"


@pytest.mark.slow
def test_review_tool_on_a_file_url_with_the_fallback_model(tmp_path: Path) -> None:
    root = _small_repo(tmp_path)

    async def body(session: ClientSession) -> Any:
        return await session.call_tool("review", {"path": root.as_uri(), "max_tokens": 24},
                                       read_timeout_seconds=900)

    result = _session(body, "--fallback-review")
    assert not result.is_error, _text(result)
    doc = result.structured_content
    assert doc["facts"].startswith("## Static facts") and isinstance(doc["review"], str)
    assert doc["pack"]["secrets_redacted"] >= 1 and doc["model"]
