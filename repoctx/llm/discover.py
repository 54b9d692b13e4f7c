"""Which model repoctx uses, and why (`repoctx models` prints exactly this).

Order: ``--server``/``--model`` on the command line, then ``REPOCTX_SERVER``/``REPOCTX_MODEL``,
then ``[tool.repoctx]`` in the repo's pyproject.toml, then the user config
(``$XDG_CONFIG_HOME/repoctx/config.toml``, top-level or ``[repoctx]`` keys), then what the
Hugging Face cache, Ollama and LM Studio hold: Qwen 3.5 27B first, then the largest Qwen 3.5
that fits the memory budget, then the largest other GGUF that fits; finally the embedded
fallback. A configured ``model`` may be a path or a name found in a store ("qwen3.5:27b").
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repoctx.config import config_settings
from repoctx.errors import InputError
from repoctx.llm.gguf_locations import Found, gguf_files, scan_all

QWEN35_ARCHES = {"qwen35", "qwen35moe"}
_PARAMS_RE = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*[bB](?![a-zA-Z])")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A model file with what is known about it without loading it."""

    path: Path
    source: str
    name: str
    size_bytes: int
    arch: str = ""
    params_b: float | None = None
    splits: int = 1

    @property
    def is_qwen35(self) -> bool:
        return self.arch in QWEN35_ARCHES or bool(re.search(r"qwen3[._-]?5", self.name, re.I))

    @property
    def is_qwen35_27b(self) -> bool:
        return self.is_qwen35 and self.params_b is not None and round(self.params_b) == 27


@dataclass(frozen=True, slots=True)
class Choice:
    """What will run: a server URL, a GGUF, or the fallback (both None)."""

    candidate: Candidate | None
    server: str | None
    reason: str
    found: tuple[Candidate, ...] = field(default=())

    @property
    def is_fallback(self) -> bool:
        return self.candidate is None and self.server is None


def describe(found: Found) -> Candidate:
    """Size (all splits), architecture and parameter count from the header, soft-failing."""
    size = sum(_size(p) for p in found.files)
    arch, label = "", ""
    try:
        # imports repoctx.budget: kept off the hook's path until a header is read
        from repoctx.budget.gguf_meta import read_header

        kv = read_header(found.path).kv
        arch = str(kv.get("general.architecture", ""))
        label = f"{kv.get('general.size_label', '')} {kv.get('general.name', '')}"
    except Exception:  # unreadable header or budget module absent: name-based guesses only
        pass
    return Candidate(
        found.path, found.source, found.name, size, arch,
        _params(label) or _params(found.name), len(found.files),
    )  # fmt: skip


def _params(text: str) -> float | None:
    m = _PARAMS_RE.search(text)
    return float(m.group(1)) if m else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


# ---------------------------------------------------------------------------- configuration
def configured(
    repo: Path | None,
    cli_model: str | None,
    cli_server: str | None,
    env: Mapping[str, str] | None = None,
) -> tuple[str, str, str] | None:
    """(kind "model"/"server", value, origin) of the highest-precedence explicit setting."""
    e = os.environ if env is None else env
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("--server/--model", {"server": cli_server, "model": cli_model}),
        ("REPOCTX_SERVER/REPOCTX_MODEL",
         {"server": e.get("REPOCTX_SERVER"), "model": e.get("REPOCTX_MODEL")}),
        *config_settings(repo, e),
    ]  # fmt: skip
    for origin, values in layers:
        for kind in ("server", "model"):
            value = values.get(kind)
            if isinstance(value, str) and value.strip():
                return kind, value.strip(), origin
    return None


# ---------------------------------------------------------------------------- choosing
def discover(env: Mapping[str, str] | None = None) -> list[Candidate]:
    return [describe(f) for f in scan_all(env)]


def resolve_model(value: str, origin: str, found: Sequence[Candidate]) -> Candidate:
    """A configured model: an existing path, else a store entry whose name matches."""
    path = Path(value).expanduser()
    if path.exists():
        if path.is_dir():
            raise InputError(f"model {value} ({origin}) is a directory, not a .gguf file")
        files = gguf_files(path) or (path,)
        return describe(Found(path, origin, path.name, files))
    key = value.lower()
    matches = [c for c in found if c.name.lower() == key] or [
        c for c in found if key in c.name.lower()
    ]
    if not matches:
        raise InputError(
            f"model {value!r} ({origin}) is neither a file nor a model in the HF cache, "
            "Ollama or LM Studio (see `repoctx models`)"
        )
    return max(matches, key=lambda c: c.size_bytes)


def rank(found: Sequence[Candidate], memory_bytes: int | None) -> tuple[Candidate, str] | None:
    """The preferred discovered model and the reason, or None."""

    def fits(c: Candidate) -> bool:
        return memory_bytes is None or c.size_bytes <= memory_bytes

    exact = [c for c in found if c.is_qwen35_27b]
    if exact:
        best = max(exact, key=lambda c: c.size_bytes if fits(c) else -c.size_bytes)
        return best, "Qwen 3.5 27B, the model repoctx is tuned for"
    qwen = [c for c in found if c.is_qwen35 and fits(c)]
    if qwen:
        return max(qwen, key=lambda c: (c.params_b or 0, c.size_bytes)), (
            "the largest Qwen 3.5 that fits the memory budget"
        )
    other = [c for c in found if fits(c)]
    if other:
        return max(other, key=lambda c: c.size_bytes), (
            "no Qwen 3.5 found; the largest GGUF that fits the memory budget"
        )
    return None


def choose(
    repo: Path | None = None,
    *,
    model: str | None = None,
    server: str | None = None,
    memory_bytes: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Choice:
    """Decide what runs. Never raises for "nothing found": that is the fallback."""
    setting = configured(repo, model, server, env)
    if setting is not None and setting[0] == "server":
        return Choice(None, setting[1], f"server from {setting[2]}")
    found = tuple(discover(env))
    if setting is not None:
        picked = resolve_model(setting[1], setting[2], found)
        return Choice(picked, None, f"model from {setting[2]}", found)
    ranked = rank(found, memory_bytes)
    if ranked is not None:
        return Choice(ranked[0], None, ranked[1], found)
    return Choice(None, None, "no model configured or found: the embedded fallback", found)
