"""Graph accuracy: repoctx's file graph against grimp (Python) and madge (JS/TS) on real code.

Usage (see bench/README.md for getting the repositories and the reference tools)::

    python bench/graph_accuracy.py [NAME ...] [--work bench/.work] [--json OUT]

Each repository lives in ``<work>/repos/<name>`` (never committed). For each one this
walks every file, parses with repoctx.parsing.parse, builds the graph with
repoctx.graph.build, runs the reference tool, normalises both to file-level (importer,
imported) pairs over the files the reference covers, and prints precision and recall (ours
vs the reference) as Markdown.
The disagreements are written to ``<work>/diff-<name>.json`` for inspection.

Normalisation: grimp works on module names inside the named packages: a module maps to
``a/b.py`` or ``a/b/__init__.py`` under the package root, and repoctx edges are kept when
both ends are such modules. madge reports files relative to the directory it scanned:
both sides keep only edges between JS/TS source files madge listed (its dependencies on
JSON/CSS and unresolved specifiers are dropped). Edge kinds are ignored (both count
type-only, lazy and dynamic imports as edges).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from repoctx.graph.build import build_graph
from repoctx.graph.resolve import resolve_imports
from repoctx.parsing.languages import has_grammar, language_for_path
from repoctx.parsing.parse import parse_source
from repoctx.types import Graph, ParsedFile

BENCH = Path(__file__).resolve().parent
JS_EXTENSIONS = (".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".mts", ".cts")
SKIP_DIRS = {".git", "node_modules", ".hg", "__pycache__"}


@dataclass(frozen=True)
class Repo:
    name: str
    tool: str  # "grimp" | "madge"
    packages: tuple[str, ...] = ()  # grimp: top-level packages
    package_root: str = ""  # grimp: directory holding the packages
    scan_dir: str = ""  # madge: directory to scan (repo-relative)
    madge_args: tuple[str, ...] = field(default_factory=tuple)


REPOS: dict[str, Repo] = {
    r.name: r
    for r in (
        Repo("requests", "grimp", ("requests",), "src"),
        Repo("flask", "grimp", ("flask",), "src"),
        Repo("django", "grimp", ("django",), ""),
        Repo("express", "madge", scan_dir=""),
        Repo("axios", "madge", scan_dir=""),
        Repo("vite", "madge", scan_dir="packages/vite",
             madge_args=("--ts-config", "packages/vite/src/node/tsconfig.json")),
        Repo("cobra", "go list"),
        Repo("fzf", "go list"),
        Repo("hugo", "go list"),
    )
}


def walk_files(root: Path) -> dict[str, str | None]:
    """Every file under ``root`` (VCS and dependency folders skipped) → its language."""
    files: dict[str, str | None] = {}
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for filename in filenames:
            rel = (Path(directory) / filename).relative_to(root).as_posix()
            files[rel] = language_for_path(rel)
    return files


def our_graph(root: Path) -> tuple[Graph, dict[str, ParsedFile], dict[str, float]]:
    files = walk_files(root)
    started = time.perf_counter()
    parsed: dict[str, ParsedFile] = {}
    for path, language in files.items():
        if has_grammar(language) and language is not None:
            parsed[path] = parse_source(language, (root / path).read_bytes(), path)
    parse_s = time.perf_counter() - started
    started = time.perf_counter()
    graph = build_graph(root, files, parsed)
    graph_s = time.perf_counter() - started
    timing = {"files": len(files), "parsed": len(parsed), "parse_s": parse_s, "graph_s": graph_s}
    return graph, parsed, timing


_GRIMP_SCRIPT = """
import json, sys, grimp
graph = grimp.build_graph(*sys.argv[1:], cache_dir=None)
edges = [[m, d] for m in graph.modules for d in graph.find_modules_directly_imported_by(m)]
print(json.dumps({"modules": sorted(graph.modules), "edges": edges}))
"""


def grimp_pairs(root: Path, repo: Repo) -> tuple[set[tuple[str, str]], set[str]]:
    """grimp's module edges as file pairs, and the set of files it knows."""
    package_root = root / repo.package_root
    env = dict(os.environ, PYTHONPATH=str(package_root))
    out = subprocess.run([sys.executable, "-c", _GRIMP_SCRIPT, *repo.packages], env=env,
                         cwd=package_root, capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    prefix = f"{repo.package_root}/" if repo.package_root else ""

    def to_file(module: str) -> str | None:
        base = prefix + module.replace(".", "/")
        for candidate in (base + ".py", base + "/__init__.py"):
            if (root / candidate).is_file():
                return candidate
        return None

    files = {m: to_file(m) for m in data["modules"]}
    pairs = {(files[a], files[b]) for a, b in data["edges"] if files[a] and files[b]}
    return {(a, b) for a, b in pairs if a and b}, {f for f in files.values() if f}


def madge_pairs(root: Path, repo: Repo, madge: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """madge's dependency tree as repo-relative file pairs, and the files it scanned."""
    scan = root / repo.scan_dir
    command = [str(madge), "--json", "--extensions", "js,jsx,mjs,cjs,ts,tsx,mts,cts",
               *repo.madge_args, str(scan)]
    out = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
    tree: dict[str, list[str]] = json.loads(out.stdout)
    base = _madge_base(scan, tree)

    def rel(path: str) -> str:
        return (base / path).resolve().relative_to(root.resolve()).as_posix()

    files = {rel(k) for k in tree if k.endswith(JS_EXTENSIONS)}
    pairs = {(rel(k), rel(d)) for k, deps in tree.items() for d in deps}
    return {(a, b) for a, b in pairs if a in files and b in files}, files


def golist_pairs(root: Path, work: Path) -> tuple[set[tuple[str, str]], set[str], set[str]]:
    """``go list`` package imports (with test imports) as (importer dir, imported dir) pairs,
    the package dirs, and the files go list builds on this platform with default tags.

    GOPATH mode (GO111MODULE=off, the repo linked at its module path) lets ``go list -e``
    read every package without downloading the module's dependencies.
    """
    module = re.search(r"^module\s+(\S+)", (root / "go.mod").read_text(), re.M)
    assert module is not None
    path = module.group(1)
    gopath = work / "gopath"
    link = gopath / "src" / path
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(root.resolve())
    env = dict(os.environ, GO111MODULE="off", GOPATH=str(gopath.resolve()), GOFLAGS="",
               PWD=str(link.absolute()))  # go trusts $PWD, which keeps the GOPATH path
    out = subprocess.run(["go", "list", "-e", "-json", "./..."], cwd=link, env=env,
                         capture_output=True, text=True, check=False).stdout
    decoder = json.JSONDecoder()
    pairs: set[tuple[str, str]] = set()
    dirs: set[str] = set()
    built: set[str] = set()
    pos = 0
    while pos < len(out.rstrip()):
        package, pos = decoder.raw_decode(out, out.index("{", pos))
        importer = _module_rel(package["ImportPath"], path)
        if importer is None:
            continue
        dirs.add(importer)
        for key in ("GoFiles", "CgoFiles", "TestGoFiles", "XTestGoFiles"):
            built.update(f"{importer}/{f}".lstrip("/") for f in package.get(key) or [])
        for key in ("Imports", "TestImports", "XTestImports"):
            for imported in package.get(key) or []:
                target = _module_rel(imported, path)
                if target is not None and target != importer:
                    pairs.add((importer, target))
    return pairs, dirs, built


def _module_rel(import_path: str, module: str) -> str | None:
    if import_path == module:
        return ""
    return import_path[len(module) + 1:] if import_path.startswith(module + "/") else None


def _madge_base(scan: Path, tree: dict[str, list[str]]) -> Path:
    """madge prints paths relative to the deepest directory common to the files it found."""
    for candidate in [scan, *[p for p in scan.iterdir() if p.is_dir()]]:
        if tree and all((candidate / k).is_file() for k in list(tree)[:50]):
            return candidate
    return scan


def classify(root: Path, graph: Graph, parsed: dict[str, ParsedFile],
             pairs: list[tuple[str, str]]) -> dict[str, list[tuple[str, str, str]]]:
    """Group disagreeing edges by the form of the specifier(s) that produced them.

    Each edge's source file is re-resolved one reference at a time to find which written
    specifiers lead to the target: "relative" (./x), "query" (bundler ``?worker`` suffixes),
    "bare" (a package name, the package's own name or a tsconfig alias), "python".
    """
    classes: dict[str, list[tuple[str, str, str]]] = {}
    for source, target in pairs:
        if source not in parsed:  # a package directory (go list compares packages)
            classes.setdefault("package", []).append((source, target, ""))
            continue
        specs = [
            ref.module
            for ref in parsed[source].imports
            if any(e.target == target for e in resolve_imports(
                root, graph.files, {source: replace(parsed[source], imports=(ref,))}).edges)
        ]
        spec = specs[0] if specs else "?"
        if parsed[source].language == "python":
            label = "python"
        elif "?" in spec:
            label = "query"
        elif spec.startswith((".", "/")):
            label = "relative"
        else:
            label = "bare"
        classes.setdefault(label, []).append((source, target, spec))
    return classes


def compare(repo: Repo, root: Path, madge: Path) -> dict[str, object]:
    graph, parsed, timing = our_graph(root)
    ours_all = {(e.source, e.target) for e in graph.edges}
    from_built: set[tuple[str, str]] = set()
    if repo.tool == "grimp":
        ref, covered = grimp_pairs(root, repo)
    elif repo.tool == "go list":
        ref, covered, built = golist_pairs(root, root.parent.parent)
        go_edges = [(a, b) for a, b in ours_all
                    if a.endswith(".go") and a.rpartition("/")[0] != b.rpartition("/")[0]]
        ours_all = {(a.rpartition("/")[0], b.rpartition("/")[0]) for a, b in go_edges}
        from_built = {(a.rpartition("/")[0], b.rpartition("/")[0]) for a, b in go_edges
                      if a in built}
    else:
        ref, covered = madge_pairs(root, repo, madge)
    ours = {(a, b) for a, b in ours_all if a in covered and b in covered}
    both = ours & ref
    only_ours = classify(root, graph, parsed, sorted(ours - ref))
    if repo.tool == "go list":  # imports only in files go list skips for their build tags
        relabelled: dict[str, list[tuple[str, str, str]]] = {}
        for label, items in only_ours.items():
            for a, b, spec in items:
                key = label if (a, b) in from_built else "build-constrained"
                relabelled.setdefault(key, []).append((a, b, spec))
        only_ours = relabelled
    only_ref = sorted(ref - ours)
    blind = sum(len(only_ours.get(k, [])) for k in ("bare", "query", "build-constrained"))
    return {
        "repo": repo.name, "tool": repo.tool, "files": timing["files"],
        "covered_files": len(covered), "ours": len(ours), "reference": len(ref),
        "agree": len(both),
        "precision": len(both) / len(ours) if ours else 1.0,
        "recall": len(both) / len(ref) if ref else 1.0,
        "parse_s": round(timing["parse_s"], 3), "graph_s": round(timing["graph_s"], 3),
        "precision_resolvable": len(both) / (len(ours) - blind) if len(ours) > blind else 1.0,
        "only_ours": only_ours, "only_reference": only_ref,
        "only_ours_by_class": {k: len(v) for k, v in sorted(only_ours.items())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", default=list(REPOS))
    parser.add_argument("--work", type=Path, default=BENCH / ".work")
    parser.add_argument("--madge", type=Path, default=None,
                        help="madge executable (default: <work>/node/node_modules/.bin/madge)")
    parser.add_argument("--json", type=Path, default=None, help="write all results here")
    args = parser.parse_args(argv)
    madge = args.madge or args.work / "node" / "node_modules" / ".bin" / "madge"
    results = []
    for name in args.names:
        root = args.work / "repos" / name
        if not root.is_dir():
            print(f"skip {name}: {root} is missing (see bench/README.md)", file=sys.stderr)
            continue
        result = compare(REPOS[name], root, madge)
        diff = args.work / f"diff-{name}.json"
        diff.write_text(json.dumps({k: result[k] for k in ("only_ours", "only_reference")},
                                   indent=1))
        del result["only_ours"], result["only_reference"]
        results.append(result)
        print(f"{name}: done ({result['agree']} agree)", file=sys.stderr)
    print(markdown(results, tool_versions(madge)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def tool_versions(madge: Path) -> str:
    """One line naming every tool version the numbers depend on."""
    from importlib.metadata import version

    def run(*command: str) -> str:
        try:
            out = subprocess.run(command, capture_output=True, text=True, check=False)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "missing"

    return (f"repoctx {version('repoctx')}, grimp {version('grimp')}, madge "
            f"{run(str(madge), '--version')}, {run('go', 'version')}, node "
            f"{run('node', '--version')}, Python {platform.python_version()}; "
            f"{platform.machine()}, {os.cpu_count()} CPUs")


def markdown(results: list[dict[str, object]], versions: str) -> str:
    lines = [
        versions,
        "",
        "| repo | reference | files (covered) | repoctx edges | reference edges | agree "
        "| precision | precision¹ | recall | only repoctx, by specifier | graph stage (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        by_class = r["only_ours_by_class"]
        assert isinstance(by_class, dict)
        classes = ", ".join(f"{k} {v}" for k, v in by_class.items()) or "–"
        lines.append(
            f"| {r['repo']} | {r['tool']} | {r['files']} ({r['covered_files']}) | {r['ours']} "
            f"| {r['reference']} | {r['agree']} | {r['precision']:.3f} "
            f"| {r['precision_resolvable']:.3f} | {r['recall']:.3f} | {classes} "
            f"| {r['graph_s']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
