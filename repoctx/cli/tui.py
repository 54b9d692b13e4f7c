"""``repoctx tui``: the Textual app, in the terminal or (``--web``) in a browser.

Textual, llama.cpp and textual-serve are imported inside :func:`run`, so ``repoctx --help``
and the other commands do not pay for them.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from repoctx.cli._common import parse_budget
from repoctx.errors import InputError
from repoctx.packing.policy import NO_REDACT_HELP, NO_REDACT_WARNING, redact_secrets
from repoctx.types import KV_CACHE_TYPES

KV_TYPES = KV_CACHE_TYPES
WEB_HINT = "--web needs textual-serve: pip install 'repoctx[web]' (or pip install textual-serve)"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "tui", help="ask questions about the whole repository in a terminal app",
        description="A terminal app: the repository tree with what the model sees, the "
                    "memory/budget gauge, and a chat whose questions reuse the once-read "
                    "repository. F1 in the app lists the keys.")  # fmt: skip
    parser.add_argument("path", nargs="?", default=".", help="repository (default: .)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", metavar="GGUF",
                        help="a .gguf file or a model name known to the HF cache / Ollama / "
                             "LM Studio (see `repoctx models`)")  # fmt: skip
    source.add_argument(
        "--server",
        metavar="URL",
        help="an OpenAI-compatible server (vLLM, llama-server, Ollama, LM Studio)",
    )
    parser.add_argument(
        "--budget",
        default="auto",
        metavar="N|auto",
        help="packing budget in tokens; 'auto' sizes it to the model and GPU",
    )
    parser.add_argument(
        "--max-tokens",
        type=int,
        default=None,
        metavar="N",
        help="answer length limit (default 4096; 384 for the fallback model)",
    )
    parser.add_argument(
        "--think",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="let Qwen 3.5 think first (shown folded); default: the model's own",
    )
    parser.add_argument(
        "--kv-type",
        choices=KV_TYPES,
        default="f16",
        help="KV cache type: q8_0 halves its memory but decodes slower",
    )
    parser.add_argument(
        "--web", action="store_true", help="serve the app in a browser through textual-serve"
    )
    parser.add_argument("--port", type=int, default=8000, help="port for --web (default 8000)")
    parser.add_argument("--no-redact", action="store_true", help=NO_REDACT_HELP)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    root = Path(args.path)
    if not root.is_dir():
        raise InputError(f"{args.path}: not a directory")
    budget = parse_budget(args.budget)
    redact = _redaction(root, args)
    if args.web:
        return _serve(args)
    import llama_cpp  # noqa: F401  (before numpy: see repoctx/llm/runtime.py)

    from repoctx.tui.app import RepoctxApp
    from repoctx.tui.model import Opened, Warn, open_model

    def opener(warn: Warn) -> Opened:
        return open_model(
            root, model=args.model, server=args.server, budget=budget,
            max_tokens=args.max_tokens, kv_type=args.kv_type, think=args.think, on_warning=warn,
        )  # fmt: skip

    RepoctxApp(root, opener, budget=budget, redact_secrets=redact).run()
    return 0


def _redaction(root: Path, args: argparse.Namespace) -> bool:
    """Redact, unless ``--no-redact`` for a model on this machine (refused for others, exit 2).

    Discovery runs here only for ``--no-redact``: the app's opener makes the same choice.
    """
    if not args.no_redact:
        return True
    from repoctx.llm.discover import choose

    redact = redact_secrets(True, choose(root, model=args.model, server=args.server).server)
    print(f"repoctx: {NO_REDACT_WARNING}", file=sys.stderr)
    return redact


def web_command(args: argparse.Namespace) -> str:
    """The command textual-serve runs for each browser session: this one, in a terminal."""
    argv = ["tui", str(Path(args.path).resolve()), "--budget", args.budget,
            "--kv-type", args.kv_type]  # fmt: skip
    for flag, value in (("--model", args.model), ("--server", args.server),
                        ("--max-tokens", args.max_tokens)):  # fmt: skip
        if value is not None:
            argv += [flag, str(value)]
    if args.think is not None:
        argv.append("--think" if args.think else "--no-think")
    if args.no_redact:
        argv.append("--no-redact")
    return shlex.join([sys.executable, "-m", "repoctx", *argv])


def _serve(args: argparse.Namespace) -> int:
    try:
        from textual_serve.server import Server
    except ImportError:
        raise InputError(WEB_HINT) from None
    Server(web_command(args), port=args.port, title="repoctx").serve()
    return 0
