"""The language registry: which files are which language and where their grammar lives.

Languages are data: adding one means a row here, a query file in ``queries/<name>.scm``
and (for import resolution) a resolver in ``repoctx.graph.resolve``; no parser logic changes.
Grammar modules are the official per-language wheels (``tree-sitter-python`` …), imported
only when a file of that language is parsed. docs/languages.md describes the query files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class Language:
    name: str
    extensions: tuple[str, ...] = ()
    filenames: tuple[str, ...] = ()
    grammar_module: str | None = None  # e.g. "tree_sitter_python"; None → packed as plain text
    grammar_function: str = "language"  # typescript/tsx/php expose differently named functions
    shebangs: tuple[str, ...] = ()  # interpreter names recognised on a "#!" first line
    elision: str = "…"  # what replaces an elided body in a skeleton (Python: "...", valid code)
    # A grammar to retry a file with when it parses with errors and contains one of the
    # markers: C++ written in ``.h`` headers, which the extension alone calls C.
    fallback: str | None = None
    fallback_markers: tuple[bytes, ...] = ()
    # A word every import form of the query contains, inside the captured statement: when
    # each of its occurrences in a file lies in an import statement at the top level, a
    # lean parse (imports only) need not match deeper (see repoctx.parsing.parse._shallow).
    import_word: bytes | None = None


LANGUAGES: tuple[Language, ...] = (
    Language("python", (".py", ".pyi", ".pyw"), (), "tree_sitter_python", shebangs=("python",),
             elision="...", import_word=b"import"),
    Language("javascript", (".js", ".mjs", ".cjs", ".jsx"), (), "tree_sitter_javascript",
             shebangs=("node",)),
    Language("typescript", (".ts", ".mts", ".cts"), (), "tree_sitter_typescript",
             "language_typescript"),
    Language("tsx", (".tsx",), (), "tree_sitter_typescript", "language_tsx"),
    Language("go", (".go",), (), "tree_sitter_go"),
    Language("rust", (".rs",), (), "tree_sitter_rust"),
    Language("java", (".java",), (), "tree_sitter_java"),
    Language("kotlin", (".kt", ".kts"), (), "tree_sitter_kotlin"),
    Language("c", (".c", ".h"), (), "tree_sitter_c", fallback="cpp",
             fallback_markers=(b"::", b"class ", b"namespace ", b"template", b"public:")),
    Language("cpp", (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp",
                     ".inl", ".tpp"), (), "tree_sitter_cpp"),
    Language("csharp", (".cs",), (), "tree_sitter_c_sharp"),
    Language("ruby", (".rb", ".rake", ".gemspec"), ("Rakefile", "Gemfile"), "tree_sitter_ruby",
             shebangs=("ruby",)),
    Language("php", (".php", ".phtml"), (), "tree_sitter_php", "language_php",
             shebangs=("php",)),
    Language("scala", (".scala", ".sc"), (), "tree_sitter_scala"),
    Language("swift", (".swift",), (), "tree_sitter_swift"),
    Language("bash", (".sh", ".bash", ".zsh"), (), "tree_sitter_bash",
             shebangs=("sh", "bash", "zsh")),
    Language("lua", (".lua",), (), "tree_sitter_lua", shebangs=("lua",)),
    # Text-only languages: packed in full, no skeleton, no imports.
    Language("markdown", (".md", ".markdown", ".rst", ".adoc")),
    Language("json", (".json", ".jsonc")),
    Language("yaml", (".yaml", ".yml")),
    Language("toml", (".toml",)),
    Language("html", (".html", ".htm", ".vue", ".svelte")),
    Language("css", (".css", ".scss", ".sass", ".less")),
    Language("sql", (".sql",)),
    Language("xml", (".xml", ".xsd", ".xsl")),
    Language("ini", (".ini", ".cfg", ".conf")),
    Language("make", (".mk",), ("Makefile", "GNUmakefile")),
    Language("dockerfile", (".dockerfile",), ("Dockerfile", "Containerfile")),
    Language("cmake", (".cmake",), ("CMakeLists.txt",)),
    Language("text", (".txt",)),
)

_BY_NAME = {lang.name: lang for lang in LANGUAGES}
_BY_EXTENSION = {ext: lang.name for lang in LANGUAGES for ext in lang.extensions}
_BY_FILENAME = {fname: lang.name for lang in LANGUAGES for fname in lang.filenames}
_BY_SHEBANG = {interp: lang.name for lang in LANGUAGES for interp in lang.shebangs}


def get_language(name: str) -> Language:
    return _BY_NAME[name]


def language_for_path(path: str, first_line: bytes | None = None) -> str | None:
    """Language of a repo path by file name, then extension, then a ``#!`` line."""
    name = path.rsplit("/", 1)[-1]  # string ops: PurePosixPath costs ~20 µs a file
    by_name = _BY_FILENAME.get(name)
    if by_name:
        return by_name
    dot = name.rfind(".")
    by_ext = _BY_EXTENSION.get(name[dot:].lower()) if dot > 0 else None
    if by_ext:
        return by_ext
    if first_line and first_line.startswith(b"#!"):
        return _language_for_shebang(first_line)
    return None


def _language_for_shebang(first_line: bytes) -> str | None:
    words = first_line[2:].decode("utf-8", "replace").split()
    if not words:
        return None
    interpreter = words[0].rsplit("/", 1)[-1]
    if interpreter == "env" and len(words) > 1:
        interpreter = words[1]
    interpreter = interpreter.rstrip("0123456789.")  # python3.11 → python
    return _BY_SHEBANG.get(interpreter)


def has_grammar(name: str | None) -> bool:
    return name is not None and name in _BY_NAME and _BY_NAME[name].grammar_module is not None


_INHERITS = re.compile(r"^;+\s*inherits:\s*([\w,\s]+?)\s*$", re.MULTILINE)


@cache
def query_source(name: str) -> str | None:
    """The tree-sitter query text for a language, or None when it has no query file.

    A ``; inherits: other`` line pulls in ``other.scm`` first (TSX reuses TypeScript), so
    the inherited patterns come before the file's own and lose kind ties to them.
    """
    resource = resources.files(__name__).joinpath("queries", f"{name}.scm")
    if not resource.is_file():
        return None
    text = resource.read_text(encoding="utf-8")
    parts: list[str] = []
    for match in _INHERITS.finditer(text):
        for parent in match.group(1).replace(",", " ").split():
            parent_text = query_source(parent) if parent != name else None
            if parent_text:
                parts.append(parent_text)
    parts.append(text)
    return "\n".join(parts)
