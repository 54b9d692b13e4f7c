"""``repoctx models``: every model repoctx can see, and which one it would use and why."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from repoctx.access import mask_url
from repoctx.units import format_gib


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "models", help="list the models found and the one repoctx would use",
        description="Search --model/REPOCTX_MODEL, [tool.repoctx] in pyproject.toml, the user "
                    "config, the Hugging Face cache, Ollama and LM Studio, and say which "
                    "model `repoctx review` would use and why.")  # fmt: skip
    parser.add_argument("path", nargs="?", default=".", help="repository whose pyproject.toml "
                        "is read (default: .)")  # fmt: skip
    parser.add_argument("--model", metavar="GGUF", help="as for `repoctx review`")
    parser.add_argument("--server", metavar="URL", help="as for `repoctx review`")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from repoctx.config import user_config_path
    from repoctx.llm.discover import choose
    from repoctx.llm.fallback import FALLBACK_NAME, fallback_available

    repo = Path(args.path)
    choice = choose(repo if repo.is_dir() else None, model=args.model, server=args.server)
    chosen = choice.candidate.path if choice.candidate else None
    if args.json:
        doc = {
            "use": {
                "server": mask_url(choice.server) if choice.server else None,
                "model": str(chosen) if chosen else None,
                "fallback": choice.is_fallback,
                "reason": choice.reason,
            },
            "found": [
                {"name": c.name, "source": c.source, "path": str(c.path), "bytes": c.size_bytes,
                 "arch": c.arch or None, "params_b": c.params_b, "splits": c.splits}
                for c in choice.found
            ],
            "config": str(user_config_path()),
        }  # fmt: skip
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return 0
    lines = [f"found {len(choice.found)} model(s):"]
    for c in choice.found:
        mark = "*" if chosen is not None and c.path == chosen else " "
        meta = ", ".join(x for x in (c.arch, f"{c.params_b:g}B" if c.params_b else "") if x)
        splits = f", {c.splits} splits" if c.splits > 1 else ""
        lines.append(f" {mark} {c.name}  [{c.source}] {format_gib(c.size_bytes)}{splits}"
                     f"{f' ({meta})' if meta else ''}\n     {c.path}")  # fmt: skip
    if choice.server:
        use = f"server {mask_url(choice.server)}"
    elif choice.candidate:
        use = f"{choice.candidate.name} ({choice.candidate.path})"
    else:
        use = FALLBACK_NAME if fallback_available() else "nothing (fallback not installed)"
    lines += ["", f"would use: {use}", f"because:   {choice.reason}"]
    if choice.is_fallback:
        lines.append(
            "to use Qwen 3.5: --model PATH.gguf, REPOCTX_MODEL, [tool.repoctx] model = … in "
            f"pyproject.toml or {user_config_path()}, or `ollama pull qwen3.5:27b`"
        )
    print("\n".join(lines))
    return 0
