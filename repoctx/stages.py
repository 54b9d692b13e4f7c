"""stages: where a long run is — walk, parse, graph, pack, load, prefill, decode — as events.

Core code marks each stage with :func:`enter`; nothing happens unless something listens. The
CLI listens only when ``REPOCTX_STAGES`` is set (repoctx/cli/_stages.py): it then names each
stage on stderr, and can hold the process inside one, so tests and bench/ can send a real
Ctrl-C to a real process at a chosen stage (tests/test_interrupts.py). Nothing here prints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

STAGES = ("walk", "parse", "graph", "pack", "load", "prefill", "decode")
Listener = Callable[[str], None]

_listeners: list[Listener] = []
_lock = threading.Lock()


def listen(listener: Listener) -> Callable[[], None]:
    """Call ``listener(stage)`` on every :func:`enter`; returns a function that stops it."""
    with _lock:
        _listeners.append(listener)

    def stop() -> None:
        with _lock:
            if listener in _listeners:
                _listeners.remove(listener)

    return stop


def enter(stage: str) -> None:
    """Mark that the run has entered ``stage`` (one of :data:`STAGES`)."""
    if not _listeners:  # the common case: one list check, no lock
        return
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(stage)
