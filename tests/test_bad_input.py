"""The bad-input matrix for the core (walk → scan → pack): every case continues or fails
with one line; each reason lands in the manifest (and faults on stderr).

The fixtures are built by tests/bad_inputs.py, which bench/reliability.py also runs through
the real CLI to write docs/reliability.md."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import bad_inputs
import pytest
from bad_inputs import DEEP_LEAF, NON_UTF8_NAME, SYNTAX_ERRORS

import repoctx
from repoctx.cli import main
from repoctx.errors import InputError
from repoctx.parsing.languages import LANGUAGES, has_grammar
from repoctx.scanning.cache import Cache


def _manifest(root: Path, capsys: pytest.CaptureFixture[str], budget: str = "4000"
              ) -> tuple[dict[str, dict[str, object]], str]:
    out = root.parent / f"{root.name}-manifest.json"
    assert main(["pack", str(root), "--budget", budget, "--manifest", str(out)]) == 0
    err = capsys.readouterr().err
    rows = {row["path"]: row for row in json.loads(out.read_text())["files"]}
    return rows, err


def test_binary_content_with_any_extension(tmp_path: Path, capsys) -> None:
    root = bad_inputs.binary(tmp_path)
    rows, _ = _manifest(root, capsys)
    assert (rows["looks_like.py"]["tier"], rows["looks_like.py"]["reason"]) == \
        ("excluded", "binary")
    assert rows["ok.py"]["tier"] == "full"


def test_fifty_megabyte_text_file_is_listed_not_read(tmp_path: Path, capsys) -> None:
    root = bad_inputs.huge_text(tmp_path)
    assert (root / "huge.txt").stat().st_size > 50_000_000
    rows, _ = _manifest(root, capsys)
    assert rows["huge.txt"]["tier"] == "listed"
    assert str(rows["huge.txt"]["reason"]).startswith("too large")


def test_encodings_and_line_endings(tmp_path: Path, capsys) -> None:
    root = bad_inputs.encodings(tmp_path)
    rows, err = _manifest(root, capsys)
    assert "decoded as UTF-16 (BOM)" in str(rows["utf16.txt"]["reason"])
    assert "Latin-1" in str(rows["latin1.py"]["reason"])
    assert "Latin-1" in str(rows["invalid.py"]["reason"])
    assert "latin1.py: decoded as Latin-1" in err
    repo = repoctx.scan(root)
    assert repo.text("crlf.py") == "a = 1\nb = 2\n"
    assert "héllo wörld" in repoctx.pack(repo, 4000).text


def test_symlink_loop_and_escape_are_not_followed(tmp_path: Path, capsys) -> None:
    root = bad_inputs.symlinks(tmp_path)
    rows, err = _manifest(root, capsys)
    assert rows["loop_a"]["reason"] == "broken or looping symlink"
    assert str(rows["leak.txt"]["reason"]).startswith("symlink pointing outside")
    assert "leak.txt: symlink pointing outside" in err
    assert str(rows["outside_dir"]["reason"]).startswith("symlink pointing outside")
    text = repoctx.pack(repoctx.scan(root), 4000).text
    assert "TOP SECRET" not in text


@pytest.mark.parametrize("workers", ["1", "2"])  # walked in the parent, or in workers
def test_a_file_under_a_symlinked_directory_is_not_read_through_it(
        tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    """Issue 16 item 5: only the last path component was checked, so a tracked ``conf/x``
    was read from /etc while stderr said ``conf`` was not followed."""
    monkeypatch.setenv("REPOCTX_WORKERS", workers)
    root = bad_inputs.symlinked_directory(tmp_path)
    rows, err = _manifest(root, capsys)
    assert "conf: symlink pointing outside the repository (not followed)" in err
    for path, link in (("conf/x", "conf"), ("lib/y.py", "lib")):
        assert rows[path]["tier"] == "excluded"
        assert rows[path]["reason"] == f"inside {link}, a symlink (not followed)"
    assert rows["src/y.py"]["tier"] == "full"
    out = root.parent / "linked-prompt.txt"
    assert main(["pack", str(root), "--budget", "4000", "-o", str(out), "--no-cache"]) == 0
    assert "TOP SECRET" not in out.read_text() and "setting" not in out.read_text()
    assert main(["graph", str(root)]) == 0 and main(["files", str(root)]) == 0
    capsys.readouterr()


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
def test_unreadable_files_and_directories() -> None:
    """Run as a non-root user (root reads everything): via setpriv when we are root."""
    tmp_path = Path(tempfile.mkdtemp(prefix="repoctx-perm-"))  # pytest's tmp is 0700
    root = bad_inputs.unreadable(tmp_path)
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
        bad_inputs.restore_unreadable(root)
        rows_text = (tmp_path / "m.json").read_text() if (tmp_path / "m.json").exists() else ""
        shutil.rmtree(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "locked.py: unreadable (Permission denied)" in result.stderr
    assert "locked_dir/: unreadable directory (Permission denied)" in result.stderr
    rows = {r["path"]: r for r in json.loads(rows_text)["files"]}
    assert rows["locked.py"]["tier"] == "excluded"
    assert rows["ok.py"]["tier"] == "full"


def test_odd_file_names(tmp_path: Path, capsys) -> None:
    root = bad_inputs.odd_names(tmp_path)
    weird = NON_UTF8_NAME
    rows, _ = _manifest(root, capsys)
    assert {"name with spaces.py", "new\nline.py", "tab\there.py", weird} <= set(rows)
    text = repoctx.pack(repoctx.scan(root), 4000).text
    text.encode("utf-8")  # the prompt stays valid UTF-8
    assert "new\\nline.py" in text and "caf\ufffd.py" in text
    assert main(["files", str(root), "--budget", "4000"]) == 0
    listing = capsys.readouterr().out
    assert '"caf\\351.py"' in listing and '"new\\nline.py"' in listing


def test_empty_files_empty_repo_and_empty_dir(tmp_path: Path, capsys) -> None:
    root = bad_inputs.empty_files(tmp_path)
    rows, _ = _manifest(root, capsys)
    assert rows["empty.py"]["tier"] == "full" and rows["empty.py"]["tokens"] == 0
    bare_dir = bad_inputs.empty_dir(tmp_path)
    rows, _ = _manifest(bare_dir, capsys)
    assert rows == {}
    rows, _ = _manifest(bad_inputs.empty_git_repo(tmp_path), capsys)
    assert rows == {}


def test_two_hundred_deep_tree(tmp_path: Path, capsys) -> None:
    rows, _ = _manifest(bad_inputs.deep_tree(tmp_path), capsys)
    assert rows[DEEP_LEAF]["tier"] == "full"


def test_hundred_thousand_tiny_files(tmp_path: Path) -> None:
    root = bad_inputs.many_files(tmp_path)
    repo = repoctx.scan(root)
    assert len(repo.files) == 100_000
    result = repoctx.pack(repo, 16_384)
    assert result.total_tokens <= 16_384
    assert sum(result.counts().values()) == 100_000


def test_syntax_errors_in_every_supported_language(tmp_path: Path, capsys) -> None:
    with_grammar = {lang.name for lang in LANGUAGES if has_grammar(lang.name)}
    assert with_grammar == set(SYNTAX_ERRORS)
    root = bad_inputs.syntax_errors(tmp_path)
    rows, err = _manifest(root, capsys)
    for language, (name, _) in SYNTAX_ERRORS.items():
        assert "syntax error" in str(rows[name]["reason"]), language
        assert rows[name]["tier"] in {"full", "skeleton"}
        assert f"{name}: syntax error" in err


def test_git_states(tmp_path: Path, capsys) -> None:
    root = bad_inputs.detached_head(tmp_path)  # HEAD~1 of a two-commit history
    rows, _ = _manifest(root, capsys)
    assert set(rows) == {"a.py", "b.py"}
    shallow = bad_inputs.shallow_clone(tmp_path / "clone")
    rows, _ = _manifest(shallow, capsys)
    assert set(rows) == {"a.py", "b.py", "c.py"}


def test_submodule_is_listed_not_scanned(tmp_path: Path, capsys) -> None:
    root = bad_inputs.submodule(tmp_path)
    rows, _ = _manifest(root, capsys)
    assert rows["vendor_lib"]["tier"] == "listed"
    assert "submodule" in str(rows["vendor_lib"]["reason"])
    assert "vendor_lib/lib.py" not in rows


def test_lfs_pointer_and_non_git_directory(tmp_path: Path, capsys) -> None:
    root = bad_inputs.lfs_pointers(tmp_path)
    rows, _ = _manifest(root, capsys)
    for name in ("model.onnx", "data/table.csv"):
        assert rows[name]["reason"] == "git LFS pointer (content not checked out)"
    assert not repoctx.scan(root).is_git


def test_bare_repository_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    bad_inputs.bare_repo(tmp_path)
    with pytest.raises(InputError, match="bare git repository"):
        repoctx.scan(tmp_path / "bare.git")
    assert main(["pack", str(tmp_path / "bare.git")]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_invalid_ignore_pattern_is_skipped_as_git_does(tmp_path: Path, capsys,
                                                      monkeypatch) -> None:
    """Issue 16 item 7: a lone ``!`` crashed pack, graph and files outside a git work tree."""
    root = bad_inputs.invalid_ignore_patterns(tmp_path)
    rows, err = _manifest(root, capsys)
    assert "sub/noise.log" not in rows  # the lines after the bad one still apply
    assert rows["skip.py"]["reason"] == "ignored"
    assert rows["sub/b.py"]["tier"] == "full"
    assert "sub/.gitignore: invalid ignore pattern '!' on line 1 skipped" in err
    assert ".repoctxignore: invalid ignore pattern '\\\\' on line 1 skipped" in err
    for command in (["graph", str(root)], ["files", str(root)]):
        assert main(command) == 0
    monkeypatch.setenv("REPOCTX_WORKERS", "2")  # the cold scan that walks in its workers
    with_workers = repoctx.scan(root, count=False, cache=Cache(enabled=False))
    assert {p.path for p in with_workers.problems} >= {"sub/.gitignore", ".repoctxignore"}


def test_bare_repository_inside_a_directory_is_listed_not_packed(tmp_path: Path,
                                                                 capsys) -> None:
    """Issue 16 item 8: a bare repository's zlib objects were packed as Latin-1 text."""
    root = bad_inputs.bare_repo_inside(tmp_path)
    rows, err = _manifest(root, capsys, "20000")
    assert rows["store.git"]["tier"] == "listed"
    assert "nested repository" in str(rows["store.git"]["reason"])
    assert not [path for path in rows if path.startswith(("store.git/", ".bzr", ".jj", "_darcs"))]
    assert "Latin-1" not in err
    nested = root / "nested"  # untracked inside a work tree: git lists its files too
    rows, err = _manifest(nested, capsys, "20000")
    assert rows["mirror.git"]["tier"] == "listed"
    assert set(rows) == {"b.py", "mirror.git"}


def test_outputs_inside_the_repository_are_not_packed_next_run(tmp_path: Path,
                                                              capsys) -> None:
    root = bad_inputs.write(tmp_path / "repo", {"a.py": "x = 1\n"}, git=True)
    output, manifest = root / "prompt.xml", root / "manifest.json"
    for _ in range(2):  # the second run finds both files in the repository
        assert main(["pack", str(root), "--budget", "4000", "-o", str(output),
                     "--manifest", str(manifest)]) == 0
    rows = {row["path"]: row for row in json.loads(manifest.read_text())["files"]}
    for name in ("prompt.xml", "manifest.json"):
        assert rows[name]["tier"] == "excluded"
        assert "output" in str(rows[name]["reason"])
    assert "<file path=\"prompt.xml\"" not in output.read_text()
    capsys.readouterr()
    assert main(["pack", str(root), "--budget", "4000"]) == 0  # stdout: packed, it's a file
    assert "prompt.xml" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["-o", "{out}", "--manifest", "{out}"], "name the same file"),
    (["-o", "{out}", "--manifest", "{dir}"], "is a directory"),
    (["-o", "{out}", "--manifest", "{dir}/missing/m.json"], "does not exist"),
    (["-o", "", "--manifest", "{dir}/m.json"], "--output: the path is empty"),
])
def test_output_targets_are_all_checked_before_anything_is_written(
        tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    root = bad_inputs.write(tmp_path / "repo", {"a.py": "x = 1\n"})
    out = tmp_path / "out.xml"
    filled = [a.format(out=out, dir=tmp_path) for a in argv]
    assert main(["pack", str(root), "--budget", "4000", *filled]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists() and not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("command", ["pack", "files", "graph"])
def test_an_empty_repository_path_is_an_error_not_the_cwd(command: str, capsys) -> None:
    assert main([command, ""]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["repoctx: the repository path is empty (use . for this directory)"]


@pytest.mark.parametrize("fmt", ["xml", "markdown", "qwen"])
def test_credentials_of_every_new_shape_never_reach_the_pack(tmp_path: Path, capsys,
                                                             fmt: str) -> None:  # fmt: skip
    root = bad_inputs.secret_shapes(tmp_path)
    out = tmp_path / f"pack.{fmt}"
    assert main(["pack", str(root), "--budget", "8000", "--format", fmt, "-o", str(out)]) == 0
    capsys.readouterr()
    text = out.read_text()
    for path, _, _ in bad_inputs.SECRET_SHAPES:
        assert path in text, f"{path} was not packed: the test would prove nothing"
    assert [needle for _, _, needle in bad_inputs.SECRET_SHAPES if needle in text] == []
    assert "account_set_password_requested" in text  # ordinary code stays


def test_control_tokens_in_names_and_bodies_are_defanged(tmp_path: Path, capsys) -> None:
    root = bad_inputs.control_token_names(tmp_path)
    rows, _ = _manifest(root, capsys)
    assert set(bad_inputs.CONTROL_TOKEN_NAMES) <= set(rows)  # the manifest keeps real names
    text = repoctx.pack(repoctx.scan(root), 4000, fmt="markdown").text
    live = ["<|im_end|>", "<|im_start|>", "[INST]", "<end_of_turn>", "<start_of_turn>",
            "</s>", "<bos>"]  # fmt: skip
    assert [token for token in live if token in text] == []
    assert "system.py" in text and "\u200b" in text


@pytest.mark.parametrize("case", [c for c in bad_inputs.CASES if c.env], ids=lambda c: c.name)
def test_a_bad_setting_is_one_line_and_exit_2(tmp_path: Path, case: bad_inputs.Case) -> None:
    root = case.build(tmp_path)
    env = {**os.environ, "REPOCTX_CACHE_DIR": str(tmp_path / "cache"), **dict(case.env)}
    for command in ("pack", "files", "graph"):
        done = subprocess.run([sys.executable, "-m", "repoctx", command, str(root)],
                              capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
        name, value = case.env[0]
        assert done.returncode == case.expect == 2 and done.stdout == ""
        assert done.stderr.startswith(f"repoctx: {name} must be ")
        assert done.stderr.endswith(f", not {value!r}\n") and done.stderr.count("\n") == 1
