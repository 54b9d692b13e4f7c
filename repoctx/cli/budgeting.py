"""How a command turns ``--budget N|auto`` (+ ``--model``/``--server``) into tokens.

``auto`` asks the budget planner for the context that fits the model that would run
(discovery: ``--model``, ``REPOCTX_MODEL``, config, model stores) on this machine's GPU,
minus the prompt template and the reserved answer. The counter follows the model: a pack
for a Gemma or Llama GGUF is counted in that model's tokens.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from repoctx.cli._common import DEFAULT_BUDGET, parse_budget
from repoctx.scanning.tokens import TokenCounter, counter_for_model, qwen35


@dataclass(frozen=True, slots=True)
class BudgetChoice:
    tokens: int
    counter: TokenCounter
    note: str | None = None  # shown on stderr: where the number came from


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="GGUF", help="size the budget for this model "
                        "(default: discovery, see `repoctx models`)")
    parser.add_argument("--server", metavar="URL", help="size the budget to this "
                        "OpenAI-compatible server's context")


def resolve_budget(args: argparse.Namespace) -> BudgetChoice:
    """The packing budget for ``args`` and the token counter it is measured in."""
    from repoctx.scanning.walk import check_root

    check_root(Path(args.path))  # a bad path is the first thing to report
    explicit = parse_budget(args.budget)
    model = getattr(args, "model", None)
    server = getattr(args, "server", None)
    if explicit is not None and model is None:
        return BudgetChoice(explicit, qwen35())
    from repoctx.llm.discover import choose

    choice = choose(Path(args.path), model=model, server=server)
    if choice.server:
        return _for_server(choice.server, explicit)
    if choice.candidate is None:
        if explicit is not None:
            return BudgetChoice(explicit, qwen35())
        return BudgetChoice(DEFAULT_BUDGET, qwen35(),
                            f"no model configured or found: using a {DEFAULT_BUDGET:,}-token "
                            "budget (set --budget N, --model GGUF or --server URL)")
    return _for_model(choice.candidate.path, explicit)


def _for_model(path: Path, explicit: int | None) -> BudgetChoice:
    from repoctx.budget import plan, read_gguf

    header = read_gguf(path)
    counter = counter_for_model(path, str(header.kv.get("tokenizer.ggml.pre", "")))
    if explicit is not None:
        return BudgetChoice(explicit, counter)
    planned = plan(path)
    note = (f"budget {planned.pack_budget:,} tokens: {path.name} at n_ctx {planned.n_ctx:,} "
            f"on {planned.device.name} (see `repoctx budget --model {path}`)")
    return BudgetChoice(planned.pack_budget, counter, note)


def _for_server(url: str, explicit: int | None) -> BudgetChoice:
    if explicit is not None:
        return BudgetChoice(explicit, qwen35())
    from repoctx.access import mask_url
    from repoctx.budget import plan_server, server_context

    planned = plan_server(server_context(url))
    return BudgetChoice(planned.pack_budget, qwen35(),
                        f"budget {planned.pack_budget:,} tokens from the server's context "
                        f"({planned.n_ctx:,}) at {mask_url(url)}")
