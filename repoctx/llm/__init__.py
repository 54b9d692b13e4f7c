"""Stage 6, the model: one streaming interface (``base.py``) over every backend.

:mod:`discover` decides which model to use and why (flags, ``REPOCTX_*``, config files, the
Hugging Face cache, Ollama and LM Studio through :mod:`gguf_locations`, else the embedded
:mod:`fallback`); :mod:`open` turns that choice into a running backend sized by the budget:
:mod:`llamacpp` for a local GGUF (over :mod:`runtime`, llama.cpp's C API, with :mod:`chat`
templates and :mod:`sampling`), or :mod:`openai_compat` for a server. A repository prefix is
evaluated once and reused: :mod:`snapshot` keeps its state in memory, :mod:`prefix_states` on
disk (keyed by :mod:`stateid`), and :mod:`ingest` re-reads only what changed. :mod:`doctor`
measures this machine against the plan. Importing this package is cheap: llama.cpp and the
OpenAI client load only when a backend is opened (``repoctx.llm.open.open_backend``).
"""

from repoctx.llm.base import (
    Backend,
    Done,
    Event,
    Message,
    Options,
    PrefillProgress,
    Prompt,
    Result,
    Stats,
    Text,
    Thinking,
    collect,
)

__all__ = [
    "Backend",
    "Done",
    "Event",
    "Message",
    "Options",
    "PrefillProgress",
    "Prompt",
    "Result",
    "Stats",
    "Text",
    "Thinking",
    "collect",
]
