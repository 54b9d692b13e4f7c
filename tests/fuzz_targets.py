"""Fuzz targets shared by tests/test_fuzz.py (bounded, derandomized, in CI) and bench/fuzz.py
(long runs, hypothesis or atheris): strategies for generated repositories and the invariant
checks each target must hold. No tests here.

Targets:

* **resolve** — generated path sets, import specifiers (arbitrary text, pieces of real paths,
  every separator the languages use) and project configs (tsconfig, package.json, go.mod,
  Cargo.toml, composer.json, compile_commands.json, …, valid or damaged) through
  :func:`repoctx.graph.resolve.resolve_imports` and :func:`repoctx.graph.build.build_graph`;
* **parse** — per-language token soup (keywords, punctuation, strings, comments, odd
  whitespace) through :func:`repoctx.parsing.parse.parse_source`;
* **pack** — generated repositories whose files import each other and hold secrets, control
  tokens, fence closers and odd names, packed at generated budgets in every format.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, get_args

from hypothesis import strategies as st
from secret_repo import AWS_ID, AWS_SECRET, ENV_VALUE, GITHUB, KEY_BLOCK

from repoctx.errors import InputError
from repoctx.graph.build import KIND_STRENGTH, build_graph
from repoctx.graph.resolve import FAMILIES, resolve_imports
from repoctx.parsing.languages import language_for_path
from repoctx.types import EdgeKind, ImportRef, ImportScope, ParsedFile

# ---------------------------------------------------------------------------------- paths
SEGMENT_CHARS = "abcxyz019_-. @#$+~éü中"
EXTENSIONS = (".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".d.ts", ".go",
              ".rs", ".java", ".kt", ".c", ".h", ".cpp", ".hpp", ".cs", ".rb", ".gemspec",
              ".php", ".json")  # fmt: skip
SPECIAL_NAMES = ("__init__.py", "index.ts", "index.js", "mod.rs", "lib.rs", "main.rs",
                 "tsconfig.json", "jsconfig.json", "package.json", "go.mod", "Cargo.toml",
                 "composer.json", "compile_commands.json", "pnpm-workspace.yaml", "Gemfile",
                 "build.gradle")  # fmt: skip
SPEC_PIECES = ("", ".", "..", "./", "../", "/", "::", "\\", "*", "@", "#", "~", "{", "}", ",",
               " ", "self", "super", "crate", "std", "@scope/", "lib", "src", "index", "mod",
               ":", "..\\", "//", "?", "%2e", "\x00")  # fmt: skip

segments = st.text(SEGMENT_CHARS, min_size=1, max_size=8).filter(lambda s: s not in (".", ".."))
file_names = st.one_of(
    st.tuples(segments, st.sampled_from(EXTENSIONS)).map("".join), st.sampled_from(SPECIAL_NAMES)
)


@st.composite
def repo_paths(draw: st.DrawFn, max_files: int = 24) -> list[str]:
    dirs = draw(st.lists(st.lists(segments, max_size=3).map("/".join), min_size=1, max_size=6))
    chosen = draw(st.lists(st.tuples(st.sampled_from(dirs), file_names), min_size=1,
                           max_size=max_files))  # fmt: skip
    return sorted({f"{d}/{name}" if d else name for d, name in chosen})


@st.composite
def specifiers(draw: st.DrawFn, paths: list[str]) -> str:
    """What an import may say: arbitrary text, separator soup, or a (bent) real path."""
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.text(max_size=40))
    if kind == 1:
        pieces = st.one_of(st.sampled_from(SPEC_PIECES), segments)
        return "".join(draw(st.lists(pieces, max_size=8)))
    path = draw(st.sampled_from(paths)).rsplit(".", 1)[0]
    sep = draw(st.sampled_from(["/", ".", "::", "\\"]))
    prefix = draw(st.sampled_from(["", "./", "../", "../../", "@/", "~/", "crate::", "\\App\\"]))
    return prefix + path.replace("/", sep)


def import_refs(paths: list[str]) -> st.SearchStrategy[ImportRef]:
    return st.builds(
        ImportRef, module=specifiers(paths), kind=st.sampled_from(get_args(EdgeKind)),
        line=st.integers(1, 200), names=st.lists(st.text(max_size=6), max_size=3).map(tuple),
        scope=st.sampled_from(get_args(ImportScope)), system=st.booleans(),
    )  # fmt: skip


# ---------------------------------------------------------------------------------- configs
CONFIG_KEYS = ("compilerOptions", "baseUrl", "paths", "extends", "references", "path", "name",
               "exports", "imports", "main", "module", "types", "typings", "workspaces",
               "packages", "autoload", "psr-4", "psr-0", "classmap", "files", "directory",
               "file", "command", "arguments", "import", "require", "default", "node", ".",
               "./*", "#internal/*", "@/*", "*", "rootDir", "outDir")  # fmt: skip


def json_values(paths: list[str]) -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), specifiers(paths),
                       st.sampled_from(paths))  # fmt: skip
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(CONFIG_KEYS), specifiers(paths)), inner,
                        max_size=5),
    ), max_leaves=16)  # fmt: skip


@st.composite
def config_text(draw: st.DrawFn, name: str, paths: list[str]) -> str:
    """A config file's text: structured (maybe damaged) or arbitrary."""
    if name.endswith(".json"):
        text = json.dumps(draw(json_values(paths)))
        if draw(st.booleans()):  # tsconfig-style comments and trailing commas, or a cut
            text = draw(st.sampled_from(["// c\n", "/* c */", ""])) + text
            text = text[: draw(st.integers(0, len(text)))] if draw(st.booleans()) else text
        return text
    lines = {
        "go.mod": ["module {s}", "go 1.22", "require {s} v1.0.0", "replace {s} => {p}"],
        "Cargo.toml": ["[package]", 'name = "{s}"', "[workspace]", 'members = ["{p}"]',
                       "[lib]", 'path = "{p}"', "[[bin]]", "[[test]]"],
        "pnpm-workspace.yaml": ["packages:", "  - '{p}'", "  - {s}"],
    }.get(name, ["{s}", "gem '{s}'", "require '{s}'", "spec.files = ['{p}']"])
    chosen = draw(st.lists(st.sampled_from(lines), max_size=8))
    return "\n".join(
        line.format(s=draw(specifiers(paths)), p=draw(st.sampled_from(paths)))
        for line in chosen
    )


@st.composite
def resolve_cases(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, list[ImportRef]]]:
    """(path → file text, path → the imports its parse would have found)."""
    paths = draw(repo_paths())
    texts = {p: draw(config_text(p.rsplit("/", 1)[-1], paths)) for p in paths}
    refs = {p: draw(st.lists(import_refs(paths), max_size=6)) for p in paths}
    return texts, refs


@contextmanager
def written(files: Mapping[str, str | bytes]) -> Iterator[Path]:
    """``files`` under a fresh temporary root (hypothesis examples cannot share tmp_path)."""
    with tempfile.TemporaryDirectory(prefix="repoctx-fuzz-") as name:
        root = Path(name)
        for rel, content in files.items():
            target = root / rel
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                if isinstance(content, bytes):
                    target.write_bytes(content)
                else:
                    target.write_text(content, encoding="utf-8", errors="surrogateescape")
            except (NotADirectoryError, IsADirectoryError, FileExistsError):
                continue  # "a" as a file and "a/b" as a path: keep the first
        yield root


def check_resolve(texts: Mapping[str, str], refs: Mapping[str, list[ImportRef]]) -> None:
    """Resolution never raises, stays inside the file set, and is deterministic."""
    languages = {p: language_for_path(p) for p in texts}
    parsed = {p: ParsedFile(lang, tuple(refs[p])) for p, lang in languages.items()
              if lang is not None and lang in FAMILIES}  # fmt: skip
    with written(texts) as root:
        first = resolve_imports(root, languages, parsed)
        for edge in first.edges:
            assert edge.target in languages and edge.source in parsed, edge
            assert edge.source != edge.target and edge.kind in KIND_STRENGTH, edge
        again = resolve_imports(root, languages, parsed)
        assert again.edges == first.edges and again.unresolved == first.unresolved
        graph = build_graph(root, languages, parsed)
    keys = [(e.source, e.target) for e in graph.edges]
    assert keys == sorted(set(keys))
    for cycle in graph.cycles:
        assert len(cycle) > 1 and cycle == sorted(cycle)


# ---------------------------------------------------------------------------------- parse
COMMON_TOKENS = ("\n", " ", "    ", "\t", "\r\n", "(", ")", "{", "}", "[", "]", ";", ",", ".",
                 ":", "=", "'", '"', "`", "\\", "/*", "*/", "//", "#", "x", "y1", "é", "\x00",
                 "\ufeff", "中")  # fmt: skip
LANG_TOKENS: dict[str, tuple[str, ...]] = {
    "python": ("import", "from", "as", "def", "class", "async", "return", "if TYPE_CHECKING:",
               '"""', "@dec", "lambda", "os.path", "__init__", "*", "..", "try:", "except"),
    "javascript": ("import", "export", "from", "require(", "import(", "function", "class",
                   "const", "=>", "default", "module.exports", "exports.f =", ".prototype.",
                   "async", "memo(", "'./a'", "* as"),
    "typescript": ("import type", "export", "from", "interface", "type", "declare module",
                   "namespace", "enum", "<T>", "'./a'", "require(", "=>", "abstract class"),
    "tsx": ("import", "from", "<div>", "</div>", "=>", "export default", "'./a'", "{x}"),
    "go": ("package", "import", "func", "type", "struct", "interface", "var", "const", '"fmt"',
           "_", "go", "chan", "map["),
    "rust": ("use", "mod", "crate", "super", "self", "::", "pub", "fn", "struct", "impl",
             "trait", '#[path = "x.rs"]', "#[cfg(test)]", "extern crate", "r#\"", "'a", "*"),
    "java": ("import", "import static", "package", "class", "interface", "public", "void",
             "@Override", "enum", "record", "*", "<T>"),
    "kotlin": ("import", "package", "as", "fun", "class", "object", '@file:JvmName("X")',
               "val", "companion", "expect", "actual"),
    "c": ("#include", "<stdio.h>", '"a.h"', "int", "main", "#define", "#if", "#endif",
          "struct", "typedef", "static", "*"),
    "cpp": ("#include", "<vector>", '"a.hpp"', "namespace", "class", "template<", "::",
            "using", "import", "module", "public:", "~A()", "operator"),
    "csharp": ("using", "using static", "namespace", "class", "global using", "partial",
               "public", "record", "interface", "=>"),
    "ruby": ("require", "require_relative", "load", "autoload", "def", "class", "module", "end",
             "::", "do", "|x|", "=begin", "=end", "<<~EOS", "EOS"),
    "php": ("<?php", "use", "use function", "namespace", "require_once", "include", "class",
            "function", "as", "?>", "\\App\\", "{", "trait"),
}
GENERIC_TOKENS = ("import", "function", "class", "def", "fn", "end", "let", "local", "var")


@st.composite
def token_soup(draw: st.DrawFn, language: str) -> bytes:
    vocab = LANG_TOKENS.get(language, GENERIC_TOKENS) + COMMON_TOKENS
    text = " ".join(draw(st.lists(st.sampled_from(vocab), max_size=120)))
    return text.encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------------------------- pack
CONTROL = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "<think>", "</think>")
CLOSERS = ("```", "`````", "</file>", "</repository>", "<file-deadbeef>", "]]>", "-->")
SECRET_LINES = (
    f'AWS_ACCESS_KEY_ID = "{AWS_ID}"', f"# {AWS_ID}", f"x = '{AWS_ID}'",
    f'aws_secret_access_key = "{AWS_SECRET}"', f'token = "{GITHUB}"', f"# {GITHUB}",
    f'KEY = """{KEY_BLOCK}"""',
)  # fmt: skip
NEEDLES = (AWS_ID, AWS_SECRET, GITHUB, ENV_VALUE, KEY_BLOCK.splitlines()[1])
ODD_STEMS = ("m", "a b", "ü-mod", "x#1", "-dash", "$v", "tab\tname", "中文")


@st.composite
def pack_repos(draw: st.DrawFn) -> dict[str, str]:
    """Python modules importing each other, plus oddly named files, hostile lines mixed in."""
    count = draw(st.integers(1, 7))
    files: dict[str, str] = {"pkg/__init__.py": ""}
    hostile = st.sampled_from(CONTROL + CLOSERS + SECRET_LINES)

    def body(imports: list[str]) -> str:
        lines = list(imports)
        for k in range(draw(st.integers(0, 25))):
            lines.append(f"def f{k}(x):\n    return x + {k}")
            if draw(st.integers(0, 3)) == 0:
                lines.append(draw(hostile))
        return "\n".join(lines) + "\n"

    for i in range(count):
        imports = draw(st.lists(st.integers(0, count - 1), max_size=3, unique=True))
        files[f"pkg/m{i}.py"] = body([f"from pkg import m{j}" for j in imports if j != i])
    for stem in draw(st.lists(st.sampled_from(ODD_STEMS), max_size=3, unique=True)):
        suffix = draw(st.sampled_from([".py", ".txt", ".md", ""]))
        files[f"odd/{stem}{suffix}"] = body([])
    if draw(st.booleans()):
        files[".env"] = f"API_KEY={ENV_VALUE}\nDEBUG={draw(st.sampled_from(CONTROL))}\n"
    return files


def check_pack(files: Mapping[str, str], budget: int, fmt: str) -> None:
    """Budget, exact total, dependency order, determinism, no secret, no live control token,
    and no file able to close its own block."""
    import repoctx
    from repoctx.graph.order import strongly_connected

    with written(files) as root:
        repo = repoctx.scan(root)
        try:
            result = repoctx.pack(repo, budget, fmt=fmt)  # type: ignore[arg-type]
        except InputError:
            assert budget < 600  # only a tiny budget may not fit the summary
            return
        assert result.total_tokens <= budget
        assert result.total_tokens == repo.counter.count(result.text)
        assert repoctx.pack(repo, budget, fmt=fmt).text == result.text  # type: ignore[arg-type]
        emitted = [e.path for e in result.files if e.tier in ("full", "skeleton")]
        position = {path: i for i, path in enumerate(emitted)}
        components = strongly_connected(list(repo.graph.files), repo.graph.edges)
        owner = {m: i for i, comp in enumerate(components) for m in comp}
        for edge in repo.graph.edges:
            if edge.source in position and edge.target in position \
                    and owner[edge.source] != owner[edge.target]:
                assert position[edge.target] < position[edge.source], edge
        json.dumps(result.manifest())
    text = result.text
    assert [n for n in NEEDLES if n in text] == []
    assert [c for c in CONTROL if c in text] == []
    if fmt == "xml":
        boundary = text.split('boundary="', 1)[1].split('"', 1)[0]
        assert text.count(f"</file-{boundary}>") == len(emitted)
        assert all(boundary not in body for body in files.values())
