"""Where GGUFs already live on a machine: the Hugging Face cache, Ollama, LM Studio.

Each scanner returns :class:`Found` entries (a file, the store it came from, a display name)
and never raises for a store that is absent, unreadable or half-written: discovery must not
stop `repoctx review` because some other tool left a broken manifest behind.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

OLLAMA_MODEL_LAYER = "application/vnd.ollama.image.model"
_SPLIT_RE = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Found:
    path: Path  # the file llama.cpp opens (first split for split models)
    source: str  # "huggingface", "ollama", "lmstudio", or a config origin
    name: str
    files: tuple[Path, ...]  # every file of the model (all splits)


def gguf_files(path: Path) -> tuple[Path, ...] | None:
    """All files of the model at ``path``; None if ``path`` is a later split or a projector."""
    name = path.name.lower()
    if "mmproj" in name:  # vision projectors are not language models
        return None
    m = _SPLIT_RE.search(path.name)
    if not m:
        return (path,)
    if int(m.group(1)) != 1:
        return None
    count = int(m.group(2))
    stem = path.name[: m.start()]
    return tuple(path.with_name(f"{stem}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1))


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home())


def hf_cache_dir(env: Mapping[str, str]) -> Path:
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"])
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]) / "hub"
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else _home(env) / ".cache"
    return base / "huggingface" / "hub"


def scan_huggingface(env: Mapping[str, str]) -> Iterator[Found]:
    """models--org--name/snapshots/<rev>/**.gguf (symlinks into blobs/)."""
    root = hf_cache_dir(env)
    for repo_dir in sorted(_dirs(root, "models--*")):
        repo = repo_dir.name.removeprefix("models--").replace("--", "/")
        seen: set[Path] = set()
        for snapshot in _snapshots(repo_dir):
            for path in sorted(snapshot.rglob("*.gguf")):
                files = gguf_files(path)
                real = path.resolve()
                if files is None or real in seen or not real.is_file():
                    continue
                seen.add(real)
                rel = path.relative_to(snapshot).as_posix()
                yield Found(path, "huggingface", f"{repo}/{rel}", files)


def _snapshots(repo_dir: Path) -> list[Path]:
    """The revision refs/main points at first, then the others (newest first)."""
    snaps = _dirs(repo_dir / "snapshots", "*")
    try:
        main = (repo_dir / "refs" / "main").read_text(encoding="utf-8").strip()
    except OSError:
        main = ""
    snaps.sort(key=lambda p: (p.name != main, -_mtime(p)))
    return snaps


def ollama_dir(env: Mapping[str, str]) -> Path:
    if env.get("OLLAMA_MODELS"):
        return Path(env["OLLAMA_MODELS"])
    return _home(env) / ".ollama" / "models"


def scan_ollama(env: Mapping[str, str]) -> Iterator[Found]:
    """manifests/<host>/<namespace>/<model>/<tag> → the model layer's blobs/sha256-<hex>."""
    root = ollama_dir(env)
    manifests = root / "manifests"
    if not manifests.is_dir():
        return
    for manifest in sorted(p for p in manifests.rglob("*") if p.is_file()):
        parts = manifest.relative_to(manifests).parts
        if len(parts) != 4:
            continue
        host, namespace, model, tag = parts
        blob = _ollama_model_blob(manifest, root)
        if blob is None:
            continue
        prefix = (
            "" if (host, namespace) == ("registry.ollama.ai", "library") else f"{host}/{namespace}/"
        )
        yield Found(blob, "ollama", f"{prefix}{model}:{tag}", (blob,))


def _ollama_model_blob(manifest: Path, root: Path) -> Path | None:
    try:
        doc = json.loads(manifest.read_text(encoding="utf-8"))
        layers = doc.get("layers", [])
    except (OSError, ValueError, AttributeError):
        return None
    for layer in layers if isinstance(layers, list) else []:
        if isinstance(layer, dict) and layer.get("mediaType") == OLLAMA_MODEL_LAYER:
            digest = str(layer.get("digest", ""))
            blob = root / "blobs" / digest.replace(":", "-", 1)
            return blob if digest.startswith("sha256:") and blob.is_file() else None
    return None


def lmstudio_dirs(env: Mapping[str, str]) -> list[Path]:
    home = _home(env)
    return [home / ".lmstudio" / "models", home / ".cache" / "lm-studio" / "models"]


def scan_lmstudio(env: Mapping[str, str]) -> Iterator[Found]:
    """<models>/<publisher>/<repo>/*.gguf."""
    for root in lmstudio_dirs(env):
        for path in sorted(root.glob("*/*/*.gguf")) if root.is_dir() else []:
            files = gguf_files(path)
            if files is not None and path.is_file():
                rel = path.relative_to(root).as_posix()
                yield Found(path, "lmstudio", rel, files)


def scan_all(env: Mapping[str, str] | None = None) -> list[Found]:
    e = os.environ if env is None else env
    return [*scan_huggingface(e), *scan_ollama(e), *scan_lmstudio(e)]


def _dirs(root: Path, pattern: str) -> list[Path]:
    try:
        return [p for p in root.glob(pattern) if p.is_dir()]
    except OSError:
        return []


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
