"""Model discovery on real store layouts (HF cache, Ollama, LM Studio) built in tmp dirs.

Every model file is a real tiny GGUF from ggufgen (copied, or hard-linked into blobs the way
the stores keep them), and HOME / XDG / HF_HOME / OLLAMA_MODELS point into tmp_path.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from ggufgen import write_plain

from repoctx.cli import main
from repoctx.errors import InputError
from repoctx.llm.discover import choose, discover


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    for var in ("HF_HUB_CACHE", "HF_HOME", "OLLAMA_MODELS", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(h / ".config"))
    return h


def _copy(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def add_hf(root: Path, repo: str, filename: str, model: Path, rev: str = "abc123") -> Path:
    """models--org--name/{blobs,snapshots/<rev>,refs/main}: snapshot entries are symlinks."""
    repo_dir = root / f"models--{repo.replace('/', '--')}"
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    blob = _copy(model, repo_dir / "blobs" / digest)
    link = repo_dir / "snapshots" / rev / filename
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(rev)
    return link


def add_ollama(root: Path, name: str, tag: str, model: Path) -> Path:
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    blob = _copy(model, root / "blobs" / f"sha256-{digest}")
    manifest = root / "manifests" / "registry.ollama.ai" / "library" / name / tag
    manifest.parent.mkdir(parents=True, exist_ok=True)
    layers = [
        {"mediaType": "application/vnd.ollama.image.model", "digest": f"sha256:{digest}",
         "size": blob.stat().st_size},
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:00",
         "size": 10},
    ]  # fmt: skip
    manifest.write_text(json.dumps({"schemaVersion": 2, "layers": layers}))
    return blob


def test_nothing_found_means_fallback(home: Path) -> None:
    choice = choose(None)
    assert choice.is_fallback and not choice.found and "fallback" in choice.reason


def test_hf_ollama_lmstudio_layouts(home: Path, qwen35_gguf: Path, plain_gguf: Path) -> None:
    hf = add_hf(home / ".cache/huggingface/hub", "Qwen/Qwen3.5-0.8B-GGUF",
                "Qwen3.5-0.8B-Q4_K_M.gguf", qwen35_gguf)  # fmt: skip
    blob = add_ollama(home / ".ollama/models", "qwen3.5", "27b", qwen35_gguf)
    lms = _copy(plain_gguf, home / ".lmstudio/models/lmstudio-community/Other-7B/o.gguf")
    _copy(plain_gguf, home / ".lmstudio/models/lmstudio-community/Other-7B/mmproj-o.gguf")
    found = {c.name: c for c in discover()}
    assert set(found) == {
        "Qwen/Qwen3.5-0.8B-GGUF/Qwen3.5-0.8B-Q4_K_M.gguf", "qwen3.5:27b",
        "lmstudio-community/Other-7B/o.gguf",
    }  # fmt: skip
    assert found["qwen3.5:27b"].path == blob and found["qwen3.5:27b"].is_qwen35_27b
    assert found["Qwen/Qwen3.5-0.8B-GGUF/Qwen3.5-0.8B-Q4_K_M.gguf"].path == hf
    assert found["lmstudio-community/Other-7B/o.gguf"].path == lms
    assert found["qwen3.5:27b"].arch == "qwen35"  # read from the GGUF header
    choice = choose(None)
    assert choice.candidate is not None and choice.candidate.name == "qwen3.5:27b"
    assert "27B" in choice.reason


def test_env_overrides_store_locations(home: Path, tmp_path: Path, plain_gguf: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    add_hf(tmp_path / "hfhome/hub", "org/model-3B-GGUF", "m.gguf", plain_gguf)
    add_ollama(tmp_path / "ollama", "llama3.2", "3b", plain_gguf)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hfhome"))
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "ollama"))
    assert {c.source for c in discover()} == {"huggingface", "ollama"}
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "nowhere"))
    assert {c.source for c in discover()} == {"ollama"}


def test_largest_qwen35_that_fits(home: Path, qwen35_gguf: Path, plain_gguf: Path) -> None:
    small = add_hf(home / ".cache/huggingface/hub", "Qwen/Qwen3.5-2B-GGUF", "q2.gguf",
                   qwen35_gguf)  # fmt: skip
    add_hf(home / ".cache/huggingface/hub", "Qwen/Qwen3.5-9B-GGUF", "q9.gguf", qwen35_gguf)
    add_ollama(home / ".ollama/models", "llama3", "70b", plain_gguf)
    size = small.stat().st_size
    choice = choose(None, memory_bytes=size)
    assert choice.candidate is not None and choice.candidate.name.endswith("q9.gguf")
    assert "largest Qwen 3.5" in choice.reason
    nothing_fits = choose(None, memory_bytes=size // 2)
    assert nothing_fits.is_fallback


def test_split_gguf_counts_as_one_model(home: Path, tmp_path: Path) -> None:
    (tmp_path / "split").mkdir()
    first = write_plain(tmp_path / "split" / "Big-7B.gguf", split_max_tensors=6)
    target = home / ".lmstudio/models/pub/Big-7B"
    target.mkdir(parents=True)
    parts = sorted(first.parent.glob("Big-7B-*-of-*.gguf"))
    assert len(parts) > 1
    for part in parts:
        shutil.copyfile(part, target / part.name)
    (found,) = discover()
    assert found.splits == len(parts)
    assert found.path.name == parts[0].name
    assert found.size_bytes == sum(p.stat().st_size for p in parts)


def test_precedence_cli_env_pyproject_user_config(
    home: Path, tmp_path: Path, plain_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    user_cfg = home / ".config/repoctx/config.toml"
    user_cfg.parent.mkdir(parents=True)
    user_cfg.write_text(f'model = "{plain_gguf}"\n')
    assert choose(repo).reason == f"model from {user_cfg}"
    (repo / "pyproject.toml").write_text('[tool.repoctx]\nserver = "http://127.0.0.1:1"\n')
    assert choose(repo).server == "http://127.0.0.1:1"
    monkeypatch.setenv("REPOCTX_MODEL", str(plain_gguf))
    env_choice = choose(repo)
    assert env_choice.candidate is not None and "REPOCTX_MODEL" in env_choice.reason
    cli_choice = choose(repo, server="http://h:2")
    assert cli_choice.server == "http://h:2"


def test_configured_name_resolves_in_stores(home: Path, qwen35_gguf: Path) -> None:
    blob = add_ollama(home / ".ollama/models", "qwen3.5", "27b", qwen35_gguf)
    choice = choose(None, model="qwen3.5:27b")
    assert choice.candidate is not None and choice.candidate.path == blob
    with pytest.raises(InputError, match="neither a file nor a model"):
        choose(None, model="no-such-model")


def test_broken_manifest_is_skipped(home: Path, qwen35_gguf: Path) -> None:
    add_ollama(home / ".ollama/models", "good", "latest", qwen35_gguf)
    bad = home / ".ollama/models/manifests/registry.ollama.ai/library/bad/latest"
    bad.parent.mkdir(parents=True)
    bad.write_text("{not json")
    assert [c.name for c in discover()] == ["good:latest"]


def test_models_command_lists_and_explains(
    home: Path, qwen35_gguf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_ollama(home / ".ollama/models", "qwen3.5", "27b", qwen35_gguf)
    assert main(["models", str(home)]) == 0
    out = capsys.readouterr().out
    assert "* qwen3.5:27b  [ollama]" in out and "because:   Qwen 3.5 27B" in out
    assert main(["models", str(home), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["use"]["reason"].startswith("Qwen 3.5 27B") and len(doc["found"]) == 1
