"""docs/ci.md's steps run as written (bench/ci_recipes.py): its workflow files and pre-commit
config in a generated repository, every ``run:`` step by bash, against a real
OpenAI-compatible server on 127.0.0.1 (scripted findings: the recipes' plumbing is what is
checked, not a model's words), with a real offline ``pre-commit run --all-files``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ci_doc_blocks_are_files_and_workflows() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    import yaml
    from ci_recipes import DOC, doc_files

    files = doc_files(DOC.read_text())
    assert set(files) == {".pre-commit-config.yaml", ".github/workflows/repoctx-review.yml",
                          ".github/workflows/pre-commit.yml"}
    for body in files.values():
        assert isinstance(yaml.safe_load(body), dict)


@pytest.mark.slow
def test_ci_recipes_run_as_written() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "ci_recipes.py")],
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "docs/ci.md: every step passed" in result.stdout
    assert "is SARIF 2.1.0 from repoctx" in result.stdout
    assert "the hook reviewed the staged pull request with the server" in result.stdout
