"""The bad-input matrix for the core (walk → scan → pack): every case continues or fails
with one line; each reason lands in the manifest (and faults on stderr)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import repoctx
from repoctx.cli import main
from repoctx.errors import InputError
from repoctx.languages import LANGUAGES, has_grammar


def _manifest(root: Path, capsys: pytest.CaptureFixture[str], budget: str = "4000"
              ) -> tuple[dict[str, dict[str, object]], str]:
    out = root.parent / f"{root.name}-manifest.json"
    assert main(["pack", str(root), "--budget", budget, "--manifest", str(out)]) == 0
    err = capsys.readouterr().err
    rows = {row["path"]: row for row in json.loads(out.read_text())["files"]}
    return rows, err


def test_binary_content_with_any_extension(make_repo, capsys) -> None:
    root = make_repo({"looks_like.py": b"\x00\x01\x02ELF\x00" * 50, "ok.py": "x = 1\n"})
    rows, _ = _manifest(root, capsys)
    assert (rows["looks_like.py"]["tier"], rows["looks_like.py"]["reason"]) == \
        ("excluded", "binary")
    assert rows["ok.py"]["tier"] == "full"


def test_fifty_megabyte_text_file_is_listed_not_read(make_repo, capsys) -> None:
    root = make_repo({"small.py": "x = 1\n"})
    with open(root / "huge.txt", "w") as handle:
        handle.write(("all work and no play\n" * 2500) * 1000)
    assert (root / "huge.txt").stat().st_size > 50_000_000
    rows, _ = _manifest(root, capsys)
    assert rows["huge.txt"]["tier"] == "listed"
    assert str(rows["huge.txt"]["reason"]).startswith("too large")


def test_encodings_and_line_endings(make_repo, capsys) -> None:
    root = make_repo({
        "utf16.txt": "héllo wörld\n".encode("utf-16"),
        "latin1.py": "s = 'café'\n".encode("latin-1"),
        "invalid.py": b"x = '\xff\xfe\xfa'\n",
        "crlf.py": b"a = 1\r\nb = 2\r\n",
    })
    rows, err = _manifest(root, capsys)
    assert "decoded as UTF-16 (BOM)" in str(rows["utf16.txt"]["reason"])
    assert "Latin-1" in str(rows["latin1.py"]["reason"])
    assert "Latin-1" in str(rows["invalid.py"]["reason"])
    assert "latin1.py: decoded as Latin-1" in err
    repo = repoctx.scan(root)
    assert repo.text("crlf.py") == "a = 1\nb = 2\n"
    assert "héllo wörld" in repoctx.pack(repo, 4000).text


def test_symlink_loop_and_escape_are_not_followed(make_repo, tmp_path: Path, capsys) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n")
    root = make_repo({"a.py": "x = 1\n"})
    os.symlink(root / "loop_b", root / "loop_a")
    os.symlink(root / "loop_a", root / "loop_b")
    os.symlink(secret, root / "leak.txt")
    os.symlink(tmp_path, root / "outside_dir")
    rows, err = _manifest(root, capsys)
    assert rows["loop_a"]["reason"] == "broken or looping symlink"
    assert str(rows["leak.txt"]["reason"]).startswith("symlink pointing outside")
    assert "leak.txt: symlink pointing outside" in err
    text = repoctx.pack(repoctx.scan(root), 4000).text
    assert "TOP SECRET" not in text


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_unreadable_files_and_directories() -> None:
    """Run as a non-root user (root reads everything): via setpriv when we are root."""
    tmp_path = Path(tempfile.mkdtemp(prefix="repoctx-perm-"))  # pytest's tmp is 0700
    root = tmp_path / "perm"
    (root / "locked_dir").mkdir(parents=True)
    (root / "ok.py").write_text("x = 1\n")
    (root / "locked.py").write_text("y = 2\n")
    (root / "locked_dir" / "inner.py").write_text("z = 3\n")
    os.chmod(root / "locked.py", 0)
    os.chmod(root / "locked_dir", 0)
    for path in (tmp_path, root):
        os.chmod(path, 0o755)
    command = [sys.executable, "-m", "repoctx", "pack", str(root), "--budget", "2000",
               "--manifest", str(tmp_path / "m.json")]
    env = {**os.environ, "REPOCTX_CACHE_DIR": str(tmp_path / "cache")}
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if not setpriv:
            pytest.skip("running as root without setpriv: cannot test as a non-root user")
        command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    os.chmod(tmp_path, 0o777)
    try:
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    finally:
        os.chmod(root / "locked_dir", 0o755)
        os.chmod(root / "locked.py", 0o644)
        rows_text = (tmp_path / "m.json").read_text() if (tmp_path / "m.json").exists() else ""
        shutil.rmtree(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "locked.py: unreadable (Permission denied)" in result.stderr
    assert "locked_dir/: unreadable directory (Permission denied)" in result.stderr
    rows = {r["path"]: r for r in json.loads(rows_text)["files"]}
    assert rows["locked.py"]["tier"] == "excluded"
    assert rows["ok.py"]["tier"] == "full"


def test_odd_file_names(make_repo, capsys) -> None:
    root = make_repo({"name with spaces.py": "a = 1\n", "new\nline.py": "b = 2\n",
                      "tab\there.py": "c = 3\n"}, git=True)
    weird = os.fsdecode(b"caf\xe9.py")
    (root / weird).write_text("d = 4\n")
    rows, _ = _manifest(root, capsys)
    assert {"name with spaces.py", "new\nline.py", "tab\there.py", weird} <= set(rows)
    text = repoctx.pack(repoctx.scan(root), 4000).text
    text.encode("utf-8")  # the prompt stays valid UTF-8
    assert "new\\nline.py" in text and "caf\ufffd.py" in text
    assert main(["files", str(root), "--budget", "4000"]) == 0
    listing = capsys.readouterr().out
    assert '"caf\\351.py"' in listing and '"new\\nline.py"' in listing


def test_empty_files_empty_repo_and_empty_dir(make_repo, tmp_path: Path, capsys) -> None:
    root = make_repo({"empty.py": "", "blank.md": ""})
    rows, _ = _manifest(root, capsys)
    assert rows["empty.py"]["tier"] == "full" and rows["empty.py"]["tokens"] == 0
    bare_dir = tmp_path / "nothing"
    bare_dir.mkdir()
    rows, _ = _manifest(bare_dir, capsys)
    assert rows == {}
    import git

    git.Repo.init(tmp_path / "fresh")
    rows, _ = _manifest(tmp_path / "fresh", capsys)
    assert rows == {}


def test_two_hundred_deep_tree(tmp_path: Path, capsys) -> None:
    root = tmp_path / "deep"
    deepest = root.joinpath(*[f"d{i}" for i in range(200)])
    deepest.mkdir(parents=True)
    (deepest / "leaf.py").write_text("x = 1\n")
    (root / "top.py").write_text("y = 2\n")
    rows, _ = _manifest(root, capsys)
    leaf = "/".join(f"d{i}" for i in range(200)) + "/leaf.py"
    assert rows[leaf]["tier"] == "full"


def test_hundred_thousand_tiny_files(tmp_path: Path) -> None:
    root = tmp_path / "many"
    for d in range(100):
        folder = root / f"d{d:02d}"
        folder.mkdir(parents=True)
        for i in range(1000):
            (folder / f"f{i}.py").write_text(f"x{i} = {i}\n")
    repo = repoctx.scan(root)
    assert len(repo.files) == 100_000
    result = repoctx.pack(repo, 16_384)
    assert result.total_tokens <= 16_384
    assert sum(result.counts().values()) == 100_000


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


def test_syntax_errors_in_every_supported_language(make_repo, capsys) -> None:
    with_grammar = {lang.name for lang in LANGUAGES if has_grammar(lang.name)}
    assert with_grammar == set(SYNTAX_ERRORS)
    root = make_repo(dict(SYNTAX_ERRORS.values()))
    rows, err = _manifest(root, capsys)
    for language, (name, _) in SYNTAX_ERRORS.items():
        assert "syntax error" in str(rows[name]["reason"]), language
        assert rows[name]["tier"] in {"full", "skeleton"}
        assert f"{name}: syntax error" in err


def test_git_states(make_repo, tmp_path: Path, capsys) -> None:
    import git

    root = make_repo({"a.py": "x = 1\n", "b.py": "import a\n"}, git=True)
    repo = git.Repo(root)
    (root / "c.py").write_text("import b\n")
    repo.git.add("c.py")
    repo.git.commit("-m", "second")
    repo.git.checkout("HEAD~1")  # detached HEAD
    rows, _ = _manifest(root, capsys)
    assert set(rows) == {"a.py", "b.py"}
    shallow = tmp_path / "shallow"
    repo.git.checkout("-")
    git.Repo.clone_from(f"file://{root}", shallow, depth=1)
    rows, _ = _manifest(shallow, capsys)
    assert set(rows) == {"a.py", "b.py", "c.py"}


def test_submodule_is_listed_not_scanned(make_repo, tmp_path: Path, capsys) -> None:
    import git

    library = make_repo({"lib.py": "def f():\n    pass\n"}, git=True, name="library")
    root = make_repo({"app.py": "x = 1\n"}, git=True, name="app")
    repo = git.Repo(root)
    repo.git.execute(["git", "-c", "protocol.file.allow=always", "submodule", "add",
                      str(library), "vendor_lib"])
    repo.git.commit("-m", "add submodule")
    rows, _ = _manifest(root, capsys)
    assert rows["vendor_lib"]["tier"] == "listed"
    assert "submodule" in str(rows["vendor_lib"]["reason"])
    assert "vendor_lib/lib.py" not in rows


def test_lfs_pointer_and_non_git_directory(make_repo, capsys) -> None:
    pointer = ("version https://git-lfs.github.com/spec/v1\n"
               "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
               "size 12345\n")
    root = make_repo({"model.onnx": pointer, "data/table.csv": pointer, "a.py": "x = 1\n"})
    rows, _ = _manifest(root, capsys)
    for name in ("model.onnx", "data/table.csv"):
        assert rows[name]["reason"] == "git LFS pointer (content not checked out)"
    assert not repoctx.scan(root).is_git


def test_bare_repository_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    import git

    git.Repo.init(tmp_path / "bare.git", bare=True)
    with pytest.raises(InputError, match="bare git repository"):
        repoctx.scan(tmp_path / "bare.git")
    assert main(["pack", str(tmp_path / "bare.git")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
