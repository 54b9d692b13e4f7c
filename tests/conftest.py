"""Shared pytest setup: keep it minimal; each block says who owns it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# --- ggufgen fixtures (owner: budget, tests/ggufgen.py): tiny real GGUFs, cached per machine ---
from ggufgen import gemma3_gguf, plain_gguf, qwen35_27b_gguf, qwen35_gguf  # noqa: F401

# --- end ggufgen fixtures ---
