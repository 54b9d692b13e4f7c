"""``repoctx graph``: the file dependency graph as JSON, Graphviz DOT or Mermaid."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from repoctx.cli._common import add_repo_arguments, localize, scan_repo
from repoctx.types import Graph


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "graph", help="print the file dependency graph (json, dot, mermaid)",
        description="The file dependency graph: an edge source → target means source "
                    "imports target. JSON shape: {files: [{path, language}], edges: "
                    "[{source, target, kind}], cycles: [[path, …], …]}. Cycles are those "
                    "of runtime imports: type-only (kind type), function-level (lazy) and "
                    "dynamic edges are listed but close no cycle.")
    add_repo_arguments(parser)
    parser.add_argument("--format", choices=("json", "dot", "mermaid"), default="json",
                        dest="fmt")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    localize(args)  # a git URL: its cached checkout
    repo = scan_repo(args, count=False)  # the graph prints no token counts: count none
    render = {"json": to_json, "dot": to_dot, "mermaid": to_mermaid}[args.fmt]
    sys.stdout.write(render(repo.graph))
    sys.stdout.flush()
    return 0


def to_json(graph: Graph) -> str:
    document = {
        "files": [{"path": path, "language": language}
                  for path, language in sorted(graph.files.items())],
        "edges": [{"source": e.source, "target": e.target, "kind": e.kind}
                  for e in graph.edges],
        "cycles": graph.cycles,
    }
    # ASCII-escaped so file names that are not UTF-8 survive as \udcXX escapes.
    return json.dumps(document, indent=2) + "\n"


def to_dot(graph: Graph) -> str:
    lines = ["digraph repoctx {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
    in_cycle = {path for cycle in graph.cycles for path in cycle}
    for path in sorted(graph.files):
        style = ", color=red" if path in in_cycle else ""
        lines.append(f"  {_dot_id(path)} [label={_dot_id(path)}{style}];")
    for edge in graph.edges:
        style = "" if edge.kind == "import" else f" [style=dashed, label=\"{edge.kind}\"]"
        lines.append(f"  {_dot_id(edge.source)} -> {_dot_id(edge.target)}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(graph: Graph) -> str:
    ids = {path: f"f{i}" for i, path in enumerate(sorted(graph.files))}
    lines = ["graph LR"]
    for path, node in ids.items():
        lines.append(f"  {node}[\"{_mermaid_label(path)}\"]")
    for edge in graph.edges:
        arrow = "-->" if edge.kind == "import" else f"-.->|{edge.kind}|"
        lines.append(f"  {ids[edge.source]} {arrow} {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def _dot_id(path: str) -> str:
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _mermaid_label(path: str) -> str:
    return path.replace('"', "#quot;").replace("\n", " ")
