"""Write docs/cli.md: the ``--help`` of every repoctx command and subcommand.

    python bench/cli_doc.py          # rewrite docs/cli.md
    python bench/cli_doc.py --check  # exit 1 when docs/cli.md is not current

tests/test_static.py runs the check, so the reference cannot drift from the code. The help
is rendered at a fixed width (100 columns) so the page does not depend on the terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
WIDTH = "100"
HEADER = """# Command-line reference

Generated from `--help` by `bench/cli_doc.py` (`tests/test_static.py` checks that it is
current). Every setting these commands read, and which source wins, is in
[config.md](config.md).
"""


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    out: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            out.extend(action.choices.items())
    return out


def _sections(prefix: str, parser: argparse.ArgumentParser) -> list[str]:
    text = parser.format_help().rstrip()
    out = [f"## `{prefix}`\n\n```text\n{text}\n```\n"]
    for name, sub in _subcommands(parser):
        out += _sections(f"{prefix} {name}", sub)
    return out


def render() -> str:
    """docs/cli.md as the code would write it now."""
    os.environ["COLUMNS"] = WIDTH  # argparse wraps to the terminal: fix it
    from repoctx.cli import build_parser

    return "\n".join([HEADER, *_sections("repoctx", build_parser())])


def main() -> int:
    wanted = render()
    if "--check" in sys.argv[1:]:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != wanted:
            print(f"{DOC} is not current: run python bench/cli_doc.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
