"""``repoctx mcp``: a Model Context Protocol server over stdio for coding agents.

Claude Code, Cursor, VS Code, Codex CLI and other MCP clients start it as a subprocess and
call its tools: ``pack``, ``graph``, ``files``, ``budget``, and ``review`` when a model is
there to answer (docs/mcp.md). The tools are the functions of :mod:`repoctx.cli.mcp_tools`; this
module only registers them with the official SDK (``pip install 'repoctx[mcp]'``), which is
imported inside :func:`run` so that ``import repoctx.cli`` never pays for it.
"""

# No ``from __future__ import annotations``: the SDK reads the tools' annotations as objects
# to build their JSON schemas, and those are defined inside tools().
import argparse
import sys
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

T = TypeVar("T")

INSTALL_HINT = "repoctx mcp needs the MCP SDK: pip install 'repoctx[mcp]'"
INSTRUCTIONS = (
    "repoctx packs a repository into one dependency-ordered prompt that fits a token budget "
    "(exact Qwen 3.5 token counts): full text for the most relevant files, signature "
    "skeletons for the next, paths for the rest. Use `pack` with `focus` set to the files "
    "you are working on to read the code they depend on and that depends on them; `graph` "
    "for the import graph; `files` to see which files a budget keeps; `budget` for the "
    "context a model fits on a GPU. `path` is a directory or a git URL[@REF][#SUBDIR]."
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "mcp", help="serve the pack, graph, files and budget tools to MCP clients (stdio)",
        description="A Model Context Protocol server on stdin/stdout for coding agents "
                    "(Claude Code, Cursor, VS Code, Codex CLI, …); see docs/mcp.md for each "
                    "client's configuration. Secrets are always redacted.")
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--model", metavar="GGUF",
                       help="the model the review tool runs (default: as `repoctx review`)")
    model.add_argument("--server", metavar="URL",
                       help="an OpenAI-compatible server the review tool asks (vLLM, "
                            "llama-server, Ollama, repoctx serve)")
    parser.add_argument("--fallback-review", action="store_true",
                        help="offer the review tool even when only the embedded 270M "
                             "fallback model is there (tests, demos)")
    parser.add_argument("--no-review", action="store_true",
                        help="do not offer the review tool even when a model is found")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError:
        print(f"repoctx: {INSTALL_HINT}", file=sys.stderr)
        return 2
    from repoctx import __version__

    server = MCPServer("repoctx", instructions=INSTRUCTIONS, version=__version__)
    for name, tool in tools(_reviewer(args)).items():
        server.add_tool(tool, name=name, description=(tool.__doc__ or "").strip())
    server.run("stdio")
    return 0


def _reviewer(args: argparse.Namespace) -> dict[str, Any] | None:
    """How the review tool picks its model, or None when there is none to offer."""
    from pathlib import Path

    from repoctx.cli.mcp_tools import review_choice

    if args.no_review:
        return None
    choice = review_choice(Path.cwd(), args.model, args.server,
                           allow_fallback=args.fallback_review)
    if choice is None:
        return None
    return {"model": args.model, "server": args.server, "allow_fallback": args.fallback_review}


def _guard(call: Callable[[], T]) -> T:
    """Run a tool body; a repoctx error becomes a tool error the client shows its model."""
    from mcp.server.mcpserver.exceptions import ToolError

    from repoctx.errors import RepoctxError

    try:
        return call()
    except RepoctxError as exc:
        raise ToolError(str(exc)) from None


def tools(reviewer: dict[str, Any] | None) -> dict[str, Callable[..., Any]]:
    """The tool functions, typed for the SDK's schema; ``review`` only with a model to ask
    (``reviewer``: the model/server/fallback settings it runs with)."""
    from pydantic import Field

    from repoctx.cli import mcp_tools as t

    Path_ = Annotated[str, Field(description="a repository directory (absolute is safest) "
                                             "or a git URL[@REF][#SUBDIR]")]
    Budget = Annotated[str | int, Field(description="token budget: a count (16000), with k "
                                              "(16k = 16384), or 'auto' (model and GPU)")]
    Focus = Annotated[list[str] | None, Field(description="repository-relative files to rank "
                                              "first, with their dependencies and dependents")]
    Opt = Annotated[str | None, Field(description="")]  # described in the docstring

    def pack(path: Path_, budget: Budget = t.DEFAULT_MCP_BUDGET, focus: Focus = None,
             format: Literal["xml", "markdown", "qwen"] = "xml",
             manifest: bool = False) -> dict[str, Any]:
        """Pack a repository into one prompt within `budget` tokens, dependencies first:
        full text for the most relevant files, skeletons for the next, paths for the rest.
        Returns `text` (the pack; never more than the budget), `summary` (tiers, tokens,
        first files) and, with manifest=true, each file's tier, tokens and reason."""
        return _guard(lambda: t.pack_repo(path, budget, focus, format, manifest))

    def graph(path: Path_) -> dict[str, Any]:
        """The file dependency graph as JSON: files with their language, edges
        (source imports target, with the kind of import) and runtime import cycles."""
        return _guard(lambda: t.graph_json(path))

    def files(path: Path_, budget: Budget = t.DEFAULT_MCP_BUDGET,
              focus: Focus = None) -> dict[str, Any]:
        """Every file with the tier a pack at `budget` gives it (full, skeleton, listed,
        excluded), its tokens and language."""
        return _guard(lambda: {"files": t.files_list(path, budget, focus)})

    def budget(model: Opt = None, server: Opt = None, gpu: Opt = None, vram: Opt = None,
               kv_type: Literal["f16", "q8_0", "q4_0", "auto"] = "f16",
               ctx: Opt = None) -> dict[str, Any]:
        """How much context a model fits on a GPU and the packing budget that leaves:
        weights, KV cache, recurrent state, compute buffer and overhead per context size.
        model: a GGUF file (default: discovery, else the embedded fallback), or the model id
        with server; server: an OpenAI-compatible server URL; gpu: plan for this card
        (rtx4090, a100-80, h100, …); vram: plan for this much free memory (24GiB);
        ctx: the wanted context (65536 or 64k)."""
        return _guard(lambda: t.budget_plan(model, server, gpu, vram, kv_type, ctx))

    found: dict[str, Callable[..., Any]] = {"pack": pack, "graph": graph, "files": files,
                                            "budget": budget}
    if reviewer is None:
        return found

    def review(path: Path_, focus: Focus = None,
               budget: Annotated[str | int | None, Field(
                   description="pack budget (default: what the model's context holds)")] = None,
               format: Literal["markdown", "json"] = "markdown",
               max_tokens: Annotated[int | None, Field(
                   description="answer length limit (default 4096; 768 for the fallback)",
                   gt=0)] = None) -> dict[str, Any]:
        """Review a whole repository with the configured local model: static facts that
        repoctx computes, then the model's review — what the system does, the riskiest
        code, refactorings, missing tests (markdown), or JSON findings. Slow: the model
        reads the whole pack."""
        return _guard(lambda: t.review_repo(path, focus, None if budget is None else
                                            str(budget), format, max_tokens=max_tokens,
                                            **reviewer))

    found["review"] = review
    return found
