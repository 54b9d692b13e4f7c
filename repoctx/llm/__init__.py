"""Model backends behind one streaming interface (see base.py).

Importing this package is cheap: llama.cpp and the OpenAI client load only when a backend
is opened (``repoctx.llm.open.open_backend``).
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
