"""How a command turns ``--budget N|auto`` into a number of tokens."""

from __future__ import annotations

import argparse

from repoctx.cli._common import DEFAULT_BUDGET, parse_budget
from repoctx.scanner import Repo


def resolve_budget(args: argparse.Namespace, repo: Repo) -> tuple[int, str | None]:
    """The packing budget and, when it had to be assumed, a note saying so."""
    del repo
    explicit = parse_budget(args.budget)
    if explicit is not None:
        return explicit, None
    return DEFAULT_BUDGET, (f"no model plan available: using a {DEFAULT_BUDGET:,}-token "
                            "budget (set --budget N or --model)")
