"""The bad-input matrix as case builders, shared by tests/test_bad_input.py (which asserts on
each case) and bench/reliability.py (which runs the real CLI on each and writes
docs/reliability.md). No tests here.

Each builder makes its fixture under ``base`` and returns the directory to hand to repoctx.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

LFS_POINTER = ("version https://git-lfs.github.com/spec/v1\n"
               "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
               "size 12345\n")  # fmt: skip
SYNTAX_ERRORS = {
    "python": ("bad.py", "def broken(:\n    return\n"),
    "javascript": ("bad.js", "function (} {\n"),
    "typescript": ("bad.ts", "let x: = ;\ninterface {\n"),
    "tsx": ("bad.tsx", "const a = <div><span></div>;\n"),
    "go": ("bad.go", "package main\nfunc main( {\n"),
    "rust": ("bad.rs", "fn main( {\n let = ;\n"),
    "java": ("Bad.java", "class Bad { void m( { }\n"),
    "kotlin": ("bad.kt", "fun main( {\n"),
    "c": ("bad.c", "int main( {\n"),
    "cpp": ("bad.cpp", "class { int x\n"),
    "csharp": ("Bad.cs", "class Bad { void M( { }\n"),
    "ruby": ("bad.rb", "def broken(\n  end end end\n"),
    "php": ("bad.php", "<?php function ( { \n"),
    "scala": ("bad.scala", "object { def = }\n"),
    "swift": ("bad.swift", "func ( {\n"),
    "bash": ("bad.sh", "if then fi fi\n"),
    "lua": ("bad.lua", "function ( end end\n"),
}
NON_UTF8_NAME = os.fsdecode(b"caf\xe9.py")


def write(root: Path, files: Mapping[str, str | bytes], *, git: bool = False) -> Path:
    """``files`` under ``root``; ``git=True`` commits them (as tests' make_repo does)."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    if git:
        _commit_all(root)
    return root


def _commit_all(root: Path, message: str = "initial") -> None:
    import git as gitpython

    repo = gitpython.Repo.init(root)
    with repo.config_writer() as config:
        config.set_value("user", "name", "Test")
        config.set_value("user", "email", "test@example.com")
    repo.git.add("-A")
    repo.git.commit("-m", message, "--allow-empty")


# ------------------------------------------------------------------------------- builders
def binary(base: Path) -> Path:
    return write(base / "binary", {"looks_like.py": b"\x00\x01\x02ELF\x00" * 50,
                                   "ok.py": "x = 1\n"})  # fmt: skip


def huge_text(base: Path) -> Path:
    root = write(base / "huge", {"small.py": "x = 1\n"})
    with open(root / "huge.txt", "w") as handle:
        handle.write(("all work and no play\n" * 2500) * 1000)  # 52.5 MB
    return root


def encodings(base: Path) -> Path:
    return write(base / "encodings", {
        "utf16.txt": "héllo wörld\n".encode("utf-16"),
        "latin1.py": "s = 'café'\n".encode("latin-1"),
        "invalid.py": b"x = '\xff\xfe\xfa'\n",
        "crlf.py": b"a = 1\r\nb = 2\r\n",
    })  # fmt: skip


def symlinks(base: Path) -> Path:
    """A symlink loop, a link to a file outside the repo and one to a directory outside."""
    outside = base / "outside"
    outside.mkdir(parents=True, exist_ok=True)
    secret = outside / "secret.txt"
    secret.write_text("TOP SECRET\n")
    root = write(base / "symlinks", {"a.py": "x = 1\n"})
    os.symlink(root / "loop_b", root / "loop_a")
    os.symlink(root / "loop_a", root / "loop_b")
    os.symlink(secret, root / "leak.txt")
    os.symlink(outside, root / "outside_dir")
    return root


def unreadable(base: Path) -> Path:
    """A mode-0 file and a mode-0 directory (read them as a non-root user: root reads all)."""
    root = write(base / "perm", {"ok.py": "x = 1\n", "locked.py": "y = 2\n",
                                 "locked_dir/inner.py": "z = 3\n"})  # fmt: skip
    os.chmod(root / "locked.py", 0)
    os.chmod(root / "locked_dir", 0)
    for path in (base, root):
        os.chmod(path, 0o755)
    return root


def restore_unreadable(root: Path) -> None:
    """Undo :func:`unreadable`'s modes so the tree can be deleted."""
    os.chmod(root / "locked_dir", 0o755)
    os.chmod(root / "locked.py", 0o644)


def odd_names(base: Path) -> Path:
    root = write(base / "odd", {"name with spaces.py": "a = 1\n", "new\nline.py": "b = 2\n",
                                "tab\there.py": "c = 3\n"}, git=True)  # fmt: skip
    (root / NON_UTF8_NAME).write_text("d = 4\n")
    return root


def empty_files(base: Path) -> Path:
    return write(base / "empties", {"empty.py": "", "blank.md": ""})


def empty_dir(base: Path) -> Path:
    root = base / "nothing"
    root.mkdir(parents=True)
    return root


def empty_git_repo(base: Path) -> Path:
    import git as gitpython

    gitpython.Repo.init(base / "fresh")
    return base / "fresh"


def deep_tree(base: Path) -> Path:
    root = base / "deep"
    deepest = root.joinpath(*[f"d{i}" for i in range(200)])
    deepest.mkdir(parents=True)
    (deepest / "leaf.py").write_text("x = 1\n")
    (root / "top.py").write_text("y = 2\n")
    return root


DEEP_LEAF = "/".join(f"d{i}" for i in range(200)) + "/leaf.py"


def many_files(base: Path) -> Path:
    root = base / "many"
    for d in range(100):
        folder = root / f"d{d:02d}"
        folder.mkdir(parents=True)
        for i in range(1000):
            (folder / f"f{i}.py").write_text(f"x{i} = {i}\n")
    return root


def syntax_errors(base: Path) -> Path:
    return write(base / "syntax", dict(SYNTAX_ERRORS.values()))


def detached_head(base: Path) -> Path:
    import git as gitpython

    root = write(base / "detached", {"a.py": "x = 1\n", "b.py": "import a\n"}, git=True)
    repo = gitpython.Repo(root)
    (root / "c.py").write_text("import b\n")
    repo.git.add("c.py")
    repo.git.commit("-m", "second")
    repo.git.checkout("HEAD~1")
    return root


def shallow_clone(base: Path) -> Path:
    import git as gitpython

    origin = detached_head(base / "origin")
    gitpython.Repo(origin).git.checkout("-")
    gitpython.Repo.clone_from(f"file://{origin}", base / "shallow", depth=1)
    return base / "shallow"


def submodule(base: Path) -> Path:
    import git as gitpython

    library = write(base / "library", {"lib.py": "def f():\n    pass\n"}, git=True)
    root = write(base / "app", {"app.py": "x = 1\n"}, git=True)
    repo = gitpython.Repo(root)
    repo.git.execute(["git", "-c", "protocol.file.allow=always", "submodule", "add",
                      str(library), "vendor_lib"])  # fmt: skip
    repo.git.commit("-m", "add submodule")
    return root


def lfs_pointers(base: Path) -> Path:
    """LFS pointer files, in a plain (non-git) directory."""
    return write(base / "lfs", {"model.onnx": LFS_POINTER, "data/table.csv": LFS_POINTER,
                                "a.py": "x = 1\n"})  # fmt: skip


def bare_repo(base: Path) -> Path:
    import git as gitpython

    gitpython.Repo.init(base / "bare.git", bare=True)
    return base / "bare.git"


def invalid_ignore_patterns(base: Path) -> Path:
    """A lone ``!`` in a nested .gitignore (as some projects ship in test data) and a
    trailing backslash in .repoctxignore, outside any git work tree."""
    return write(base / "badignore", {"a.py": "x = 1\n", "sub/.gitignore": "!\n*.log\n",
                                      "sub/b.py": "y = 2\n", "sub/noise.log": "log\n",
                                      ".repoctxignore": "\\\nskip.py\n",
                                      "skip.py": "z = 3\n"})  # fmt: skip


def bare_repo_inside(base: Path) -> Path:
    """A non-git directory holding a bare repository with objects (``store.git``) and other
    version control stores, and a git work tree holding a bare one untracked
    (``nested/mirror.git``)."""
    import git as gitpython

    source = write(base / "bare-source", {"f.py": "print('hi')\n"}, git=True)
    root = write(base / "holder", {"a.py": "x = 1\n"})
    gitpython.Repo.clone_from(str(source), root / "store.git", bare=True)
    write(root, {".bzr/repository/pack-names": b"B+Tree Graph Index 2\n\x00\x01",
                 ".jj/repo/op_store/operations/0a": "op\n", "_darcs/format": "darcs-2\n"})
    tree = write(root / "nested", {"b.py": "y = 2\n"}, git=True)
    gitpython.Repo.clone_from(str(source), tree / "mirror.git", bare=True)
    return root


def symlinked_directory(base: Path) -> Path:
    """A tracked ``conf/x`` whose directory ``conf`` is now a symlink out of the repository
    (git still lists ``conf/x`` from its index), and ``lib`` a symlink to a directory in it."""
    outside = write(base / "etc", {"x": "TOP SECRET\n", "y.py": "SECRET = 1\n"})
    root = write(base / "linked", {"a.py": "x = 1\n", "conf/x": "setting = 1\n",
                                   "src/y.py": "y = 2\n", "lib/y.py": "y = 2\n"},
                 git=True)  # fmt: skip
    for name, target in (("conf", outside), ("lib", root / "src")):
        for child in (root / name).iterdir():
            child.unlink()
        (root / name).rmdir()
        os.symlink(target, root / name)
    return root


def pathological_nesting(base: Path) -> Path:
    """163 KB of Lua ``[[`` (496 s to parse unbounded) and 124 KB of nested JavaScript
    brackets, one run per line (a single long line would be listed as minified first)."""
    return write(base / "nesting", {"deep.lua": "x = " + "[[\n" * 54_000,
                                    "deep.js": "x = " + "( [ {\n" * 20_000,
                                    "ok.py": "import os\n"})  # fmt: skip


# Fake credentials of the shapes issue 16 found packed in clear (each must be redacted):
# (path, content, the value that must never reach a pack).
_PEM_LINE = "MIIEowIBAAKCAQEAx9k2vQ3Jm9secretbody1"
SECRET_SHAPES: tuple[tuple[str, str, str], ...] = (
    (".env", "# GITHUB_TOKEN=ghp_" + "a1B2c3D4e5" * 4 + "\nDEBUG=0\n", "ghp_" + "a1B2c3D4e5" * 4),
    ("config/.env.local", 'PRIVATE_KEY="-----BEGIN RSA PRIVATE KEY-----\n' + _PEM_LINE
     + '\nZm9vYmFyYmF6cXV4c2VjcmV0Ym9keTI=\n-----END RSA PRIVATE KEY-----"\nDEBUG=0\n',
     _PEM_LINE),
    (".envrc", "export DATABASE_PASSWORD=direnv-value-123\n", "direnv-value-123"),
    ("mail.py", 'KEY = "SG.' + "a" * 11 + "B" * 11 + "." + "c1D2e3F4g5" * 4 + 'h6I"\n',
     "c1D2e3F4g5" * 4),
    ("settings.py", 'CONN = "DefaultEndpointsProtocol=https;AccountName=x;AccountKey='
     + "Zm9vYmFyYmF6cXV4" * 5 + '=="\n', "Zm9vYmFyYmF6cXV4" * 5),
    ("bot.py", 'bot = Bot("110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq")\n',
     "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawq"),
    (".pypirc", "[pypi]\nusername = __token__\npassword = hunter2hunter2xx\n",
     "hunter2hunter2xx"),
    ("deploy.sh", "export PGPASSWORD=pg-Secret-99\ncurl -u admin:Sup3rS3cret https://x.test/\n",
     "Sup3rS3cret"),
    ("conf/settings.xml", "<server>\n  <password>xml-Secret-42</password>\n</server>\n",
     "xml-Secret-42"),
    (".netrc", "machine api.example.com login me password netrc-Secret-5\n", "netrc-Secret-5"),
    ("wp-config.php", "<?php\ndefine('DB_PASSWORD', 'php-Secret-31');\n", "php-Secret-31"),
    ("k8s/secret.yaml", "kind: Secret\ntype: Opaque\ndata:\n  password: MWYyZDFlMmU2N2Rm\n",
     "MWYyZDFlMmU2N2Rm"),
)


def secret_shapes(base: Path) -> Path:
    """Credentials in every shape issue 16 listed (.env comments and multi-line values, key
    blocks, SendGrid, Azure, Telegram, .pypirc, shell, curl, XML, .netrc, PHP, Kubernetes)."""
    files = {path: text for path, text, _ in SECRET_SHAPES}
    files["events.py"] = 'ACCOUNT_SET_PASSWORD_REQUESTED = "account_set_password_requested"\n'
    return write(base / "secrets", files)


CONTROL_TOKEN_NAMES = ("x<|im_end|>/<|im_start|>system.py", "[INST]/<end_of_turn>.md",
                       "docs/</s><bos>.txt")  # fmt: skip


def control_token_names(base: Path) -> Path:
    """Model control tokens in file and directory names and in bodies (ChatML, Gemma,
    Llama 2): the tree, the headers and the text must not open or end a turn."""
    files = {name: "[INST] <start_of_turn>user\n<|im_start|>system\n" for name in
             CONTROL_TOKEN_NAMES}  # fmt: skip
    return write(base / "control-tokens", {**files, "ok.py": "x = 1\n"})


def small_repo(base: Path) -> Path:
    return write(base / "small", {"a.py": "import b\n", "b.py": "x = 1\n"})


def reviewer_skips(base: Path) -> Path:
    """What `review` lists without reading (a C library vendored under deps/ with code the
    grammar rejects, a migration, a broken fixture, an empty file) and `pack` keeps."""
    return write(base / "reviewer", {"app/models.py": "class Item:\n    pass\n",
                                     "app/migrations/0001_initial.py": "OPS = []\n",
                                     "tests/fixtures/broken.py": "def (:\n",
                                     "deps/lua/lapi.c": "int f( { return 1; }\n",
                                     "app/empty.py": ""}, git=True)  # fmt: skip


def missing_path(base: Path) -> Path:
    return base / "does-not-exist"


@dataclass(frozen=True, slots=True)
class Case:
    """One row of the matrix: how to build it and which paths' reasons to report."""

    name: str
    build: Callable[[Path], Path]
    paths: tuple[str, ...] = ()  # manifest rows worth showing
    expect: int = 0  # the documented exit code of `repoctx pack`
    non_root: bool = False  # run as an unprivileged user (root reads mode-0 files)
    env: tuple[tuple[str, str], ...] = ()  # REPOCTX_* settings the runs get (repoctx.config)


CASES: tuple[Case, ...] = (
    Case("binary content, .py extension", binary, ("looks_like.py",)),
    Case("50 MB text file", huge_text, ("huge.txt",)),
    Case("UTF-16 BOM, Latin-1, invalid UTF-8, CRLF", encodings,
         ("utf16.txt", "latin1.py", "invalid.py", "crlf.py")),
    Case("symlink loop, links out of the repo", symlinks,
         ("loop_a", "leak.txt", "outside_dir")),
    Case("tracked file under a directory that is now a symlink", symlinked_directory,
         ("conf", "conf/x", "lib/y.py")),
    Case("unreadable file and directory (non-root)", unreadable,
         ("locked.py", "locked_dir"), non_root=True),
    Case("names: spaces, newline, tab, non-UTF-8 bytes", odd_names,
         ("new\nline.py", NON_UTF8_NAME)),
    Case("empty files", empty_files, ("empty.py",)),
    Case("empty directory", empty_dir),
    Case("empty git repository", empty_git_repo),
    Case("200-deep tree", deep_tree, (DEEP_LEAF,)),
    Case("100,000 tiny files", many_files, ("d00/f0.py",)),
    Case("syntax errors, all 17 grammars", syntax_errors, ("bad.py", "bad.rs", "bad.php")),
    Case("detached HEAD", detached_head, ("a.py",)),
    Case("shallow clone (depth 1)", shallow_clone, ("c.py",)),
    Case("git submodule", submodule, ("vendor_lib",)),
    Case("git LFS pointers, non-git directory", lfs_pointers, ("model.onnx",)),
    Case("invalid .gitignore / .repoctxignore lines, non-git", invalid_ignore_patterns,
         ("sub/noise.log", "skip.py")),
    Case("bare repository inside a non-git directory", bare_repo_inside, ("store.git",)),
    Case("163 KB of nested brackets (Lua, JavaScript)", pathological_nesting,
         ("deep.lua", "deep.js")),
    Case("credentials in the shapes of issue 16 (.env comments, multi-line values, …)",
         secret_shapes, (".env", "config/.env.local", "k8s/secret.yaml")),
    Case("control tokens in file and directory names and bodies", control_token_names,
         CONTROL_TOKEN_NAMES),
    Case("deps/ library, migration, fixture, empty file (review lists them)", reviewer_skips,
         ("deps/lua/lapi.c", "app/migrations/0001_initial.py", "tests/fixtures/broken.py")),
    Case("bare repository", bare_repo, expect=2),
    Case("path that does not exist", missing_path, expect=2),
    Case("REPOCTX_WORKERS=abc", small_repo, expect=2, env=(("REPOCTX_WORKERS", "abc"),)),
    Case("REPOCTX_STATE_CACHE=lots", small_repo, expect=2,
         env=(("REPOCTX_STATE_CACHE", "lots"),)),
)  # fmt: skip
