"""Fixtures for the model-backend tests (owned by the llm tests; ggufgen.py is shared).

Real models only: the embedded Gemma 3 270M (a real trained model, for text that depends on
its input) and ggufgen's tiny random-weight GGUFs (a qwen35 hybrid, a plain qwen3, a gemma3
with sliding-window layers) for state and snapshot behaviour.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from repoctx.llm.fallback import fallback_model_path
from repoctx.llm.llamacpp import LlamaCppBackend
from repoctx.llm.runtime import LoadSettings

REPO_TEXT = "".join(
    f"def f{i}(x):\n    '''Return x plus {i}.'''\n    return x + {i}\n\n" for i in range(24)
)


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    return fallback_model_path()


def load(path: Path, n_ctx: int = 1024, n_batch: int = 64) -> LlamaCppBackend:
    """A backend with a small context and batch, so tests see several prefill chunks."""
    return LlamaCppBackend(path, LoadSettings(n_ctx=n_ctx, n_batch=n_batch, n_ubatch=n_batch))
